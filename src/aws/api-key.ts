import { randomBytes } from 'node:crypto';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { toAwsError } from './aws-error';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { parameterNames, resourceTags } from './naming';
import { call, errorName } from './retry';

/** 32 random bytes, base64url: the deployment's API key. Never printed, logged or passed in parameters. */
export const generateApiKey = (): string => randomBytes(32).toString('base64url');

export function apiKeyExists(ssm: SSMClient, deployment: string): Promise<boolean> {
  return parameterExists(ssm, parameterNames(deployment).apiKey);
}

async function parameterExists(ssm: SSMClient, name: string): Promise<boolean> {
  try {
    // Without decryption: only whether it exists matters here; the value never leaves Parameter Store.
    await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: false }));
    return true;
  } catch (error) {
    if (errorName(error) === 'ParameterNotFound') return false;
    throw error;
  }
}

/** Creates the API key once, as a SecureString; an existing key is kept (controllers and sites use it). */
export async function ensureApiKey(ssm: SSMClient, deployment: string): Promise<Ensured> {
  return ensureRandomSecret(ssm, deployment, {
    name: parameterNames(deployment).apiKey,
    description: 'controller API key',
    component: COMPONENT.apiKey,
  });
}

/**
 * Creates a random secret once, as a SecureString (the API key, Kasm's OpenID client secret); an existing
 * one is kept, since what uses it already has it.
 */
export async function ensureRandomSecret(
  ssm: SSMClient,
  deployment: string,
  secret: { name: string; description: string; component: string },
): Promise<Ensured> {
  const { name } = secret;
  if (await call('SSM GetParameter', () => parameterExists(ssm, name)))
    return { status: 'unchanged', id: name };
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'SecureString',
        Value: generateApiKey(),
        Overwrite: false,
        Description: `Waveshift ${deployment} ${secret.description}`,
        Tags: resourceTags(deployment, secret.component),
      }),
    );
  } catch (error) {
    if (errorName(error) === 'ParameterAlreadyExists') return { status: 'unchanged', id: name };
    throw toAwsError('SSM PutParameter', error);
  }
  return { status: 'created', id: name };
}
