import { randomBytes } from 'node:crypto';
import {
  DeleteParametersCommand,
  PutParameterCommand,
  paginateDescribeParameters,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { toAwsError } from './aws-error';
import type { Change } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { parameterNames, resourceTags } from './naming';
import { ignoreMissing } from './removal';
import { collect, errorName } from './retry';

/** 32 random bytes, base64url: the deployment's API key. Never printed, logged or passed in parameters. */
export const generateApiKey = (): string => randomBytes(32).toString('base64url');

/**
 * Every parameter under /waveshift/<name>/ (names only: values, secrets among them, are never read). The path
 * carries the deployment's name up to its closing slash, so it is the scope, as a tag is elsewhere.
 */
export async function readParameters(ssm: SSMClient, deployment: string): Promise<FoundResource[]> {
  const root = `${parameterNames(deployment).root}/`;
  const pages = await collect(
    'SSM DescribeParameters',
    paginateDescribeParameters(
      { client: ssm },
      { ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [root] }] },
    ),
  );
  return pages
    .flatMap((p) => p.Parameters ?? [])
    .filter((p) => p.Name?.startsWith(root))
    .map((p) => ({
      kind: 'parameter' as const,
      component: p.Name!.slice(root.length),
      id: p.Name!,
      fields: {},
      // A new value makes a new version: what reads the parameter at install time is installed again.
      facts: { version: String(p.Version ?? '') },
    }));
}

/** Creates the API key once, as a SecureString; an existing key is kept (controllers and sites use it). */
export const applyApiKey = (ssm: SSMClient, deployment: string, change: Change): Promise<string> =>
  applyGeneratedSecret(ssm, deployment, change, {
    name: parameterNames(deployment).apiKey,
    component: COMPONENT.apiKey,
    description: `Waveshift ${deployment} controller API key`,
  });

/**
 * The Kasm administrator's password (admin@kasm.local), made here so that it is known before the installer
 * runs and kept in Parameter Store rather than in the installer's log.
 */
export const applyKasmAdminPassword = (ssm: SSMClient, deployment: string, change: Change): Promise<string> =>
  applyGeneratedSecret(ssm, deployment, change, {
    name: parameterNames(deployment).kasmAdminPassword,
    component: COMPONENT.kasmAdminPassword,
    description: `Waveshift ${deployment} Kasm Workspaces admin@kasm.local password`,
  });

/** Kasm's OpenID client secret: the controller's provider and Kasm's sign-in both read it from here. */
export const applyKasmOidcClientSecret = (
  ssm: SSMClient,
  deployment: string,
  change: Change,
): Promise<string> =>
  applyGeneratedSecret(ssm, deployment, change, {
    name: parameterNames(deployment).kasmOidcClientSecret,
    component: COMPONENT.kasmOidcClientSecret,
    description: `Waveshift ${deployment} Kasm OpenID client secret`,
  });

/** Creates a random SecureString once; an existing value is kept (what uses it already has it). */
async function applyGeneratedSecret(
  ssm: SSMClient,
  deployment: string,
  change: Change,
  secret: { name: string; component: string; description: string },
): Promise<string> {
  const { name } = secret;
  if (change.action !== 'create') return name;
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'SecureString',
        Value: generateApiKey(),
        Overwrite: false,
        Description: secret.description,
        Tags: resourceTags(deployment, secret.component),
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'ParameterAlreadyExists') throw toAwsError('SSM PutParameter', error);
  }
  return name;
}

export async function removeParameter(ssm: SSMClient, parameter: FoundResource): Promise<void> {
  await ignoreMissing('SSM DeleteParameters', () =>
    ssm.send(new DeleteParametersCommand({ Names: [parameter.id] })),
  );
}
