import {
  DeleteParametersCommand,
  GetParametersCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import pLimit from 'p-limit';
import { parameterNames } from '../aws/naming';
import { call } from '../aws/retry';
import { AwsError } from '../errors';
import { hashScannerKey } from './scanner-key';

/** SSM's batch calls take at most 10 names. */
const BATCH = 10;
const chunks = <T>(items: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(items.length / BATCH) }, (_, i) => items.slice(i * BATCH, (i + 1) * BATCH));

/**
 * Writes secrets as SecureString, replacing what is there (a re-run after a failure overwrites), or with
 * `overwrite: false` refusing to (a restore, whose caller checked the path is empty). `written` collects the
 * names actually written, so that a caller undoing a failed batch removes only its own.
 */
export async function putSecrets(
  ssm: SSMClient,
  secrets: readonly { name: string; value: string }[],
  options: { overwrite: boolean; written?: string[] } = { overwrite: true },
): Promise<void> {
  const limit = pLimit(8);
  // Every write settles before a failure is reported, so `written` is complete when the caller sees it.
  const results = await Promise.allSettled(
    secrets.map((s) =>
      limit(async () => {
        await call(`SSM PutParameter ${s.name}`, () =>
          ssm.send(
            new PutParameterCommand({
              Name: s.name,
              Value: s.value,
              Type: 'SecureString',
              Overwrite: options.overwrite,
            }),
          ),
        );
        options.written?.push(s.name);
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/** Reads secrets (decrypted); a missing one is an error that names it. */
export async function getSecrets(ssm: SSMClient, names: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const batch of chunks(names)) {
    const out = await call('SSM GetParameters', () =>
      ssm.send(new GetParametersCommand({ Names: batch, WithDecryption: true })),
    );
    for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined) found.set(p.Name, p.Value);
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new AwsError(
      `missing SSM parameters: ${missing.join(', ')}; they were deleted outside wavectl`,
      {},
    );
  }
  return found;
}

/** Which of `names` exist in Parameter Store (values are not read). */
export async function existingParameters(ssm: SSMClient, names: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const batch of chunks(names)) {
    const out = await call('SSM GetParameters', () =>
      ssm.send(new GetParametersCommand({ Names: batch, WithDecryption: false })),
    );
    for (const p of out.Parameters ?? []) if (p.Name) found.add(p.Name);
  }
  return found;
}

/** Deletes secrets; names already gone are fine (a re-run of a remove). */
export async function deleteSecrets(ssm: SSMClient, names: readonly string[]): Promise<void> {
  for (const batch of chunks(names)) {
    await call('SSM DeleteParameters', () => ssm.send(new DeleteParametersCommand({ Names: batch })));
  }
}

/** The scanner-key hashes of recorded sites, from their keys in SSM (to register them again). */
export async function storedScannerKeyHashes(
  ssm: SSMClient,
  deployment: string,
  sites: readonly number[],
): Promise<Map<number, string>> {
  const names = parameterNames(deployment);
  const keys = sites.length
    ? await getSecrets(ssm, sites.map(names.siteScannerKey))
    : new Map<string, string>();
  return new Map(sites.map((n) => [n, hashScannerKey(keys.get(names.siteScannerKey(n))!)]));
}
