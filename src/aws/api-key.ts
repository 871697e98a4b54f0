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
    }));
}

/** Creates the API key once, as a SecureString; an existing key is kept (controllers and sites use it). */
export async function applyApiKey(ssm: SSMClient, deployment: string, change: Change): Promise<string> {
  const name = parameterNames(deployment).apiKey;
  if (change.action !== 'create') return name;
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'SecureString',
        Value: generateApiKey(),
        Overwrite: false,
        Description: `Waveshift ${deployment} controller API key`,
        Tags: resourceTags(deployment, COMPONENT.apiKey),
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
