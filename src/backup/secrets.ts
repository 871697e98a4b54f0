import { GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames } from '../aws/naming';
import { call } from '../aws/retry';
import type { SecretEntry } from './archive';

/** Every parameter under /waveshift/<name>/, decrypted, all pages of GetParametersByPath. */
export async function readDeploymentSecrets(ssm: SSMClient, deployment: string): Promise<SecretEntry[]> {
  const found: SecretEntry[] = [];
  let NextToken: string | undefined;
  do {
    const page = await call('SSM GetParametersByPath', () =>
      ssm.send(
        new GetParametersByPathCommand({
          Path: `${parameterNames(deployment).root}/`,
          Recursive: true,
          WithDecryption: true,
          MaxResults: 10,
          NextToken,
        }),
      ),
    );
    for (const p of page.Parameters ?? []) {
      if (p.Name && p.Value !== undefined) found.push({ name: p.Name, value: p.Value });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Pure: a secret's name under another deployment name (`/waveshift/<from>/x` → `/waveshift/<to>/x`). */
export function renameSecret(name: string, from: string, to: string): string {
  const source = `${parameterNames(from).root}/`;
  if (!name.startsWith(source)) throw new RangeError(`${name} is not under ${source}`);
  return `${parameterNames(to).root}/${name.slice(source.length)}`;
}
