import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { call } from '../aws/retry';
import { runShellScript } from '../aws/ssm-run';
import { contentKey, stageObject } from '../aws/staging-bucket';
import { ControllerError } from '../errors';

const UNIT = 'waveshift-controller';

/**
 * pg_dump of the deployed controller's database, run on the controller instance through SSM Run Command and
 * carried through the staging bucket (SSM output is capped at 24,000 characters). The script holds no
 * secret: PostgreSQL is reached over its local socket as the `postgres` user (peer authentication), and
 * the instance role may write the bucket.
 */
export function renderInstanceDumpScript(bucket: string, key: string, region: string): string {
  return [
    'set -eu',
    'umask 077',
    'dump=$(mktemp)',
    'trap \'rm -f "$dump"\' EXIT',
    'runuser -u postgres -- pg_dump --format=custom --no-owner waveshift > "$dump"',
    `aws s3 cp --only-show-errors --region '${region}' "$dump" 's3://${bucket}/${key}'`,
    'echo "WAVESHIFT-DUMP-BYTES $(wc -c < "$dump")"',
    '',
  ].join('\n');
}

export async function dumpInstanceDatabase(
  clients: { ssm: SSMClient; s3: S3Client },
  target: { instanceId: string; bucket: string; region: string },
  onProgress: (status: string) => void,
): Promise<Buffer> {
  const key = `backups/controller-${Date.now()}.dump`;
  const result = await runShellScript(
    clients.ssm,
    target.instanceId,
    renderInstanceDumpScript(target.bucket, key, target.region),
    {
      comment: 'wavectl backup: pg_dump of the controller',
      timeoutSeconds: 900,
      onProgress,
    },
  );
  if (result.status !== 'Success') {
    throw new ControllerError(
      `pg_dump on the controller instance ${target.instanceId} failed (${result.status}): ${result.stderr.trim().slice(0, 300)}`,
    );
  }
  try {
    const object = await call('S3 GetObject', () =>
      clients.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key })),
    );
    return Buffer.from(await object.Body!.transformToByteArray());
  } finally {
    await call('S3 DeleteObject', () =>
      clients.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key })),
    );
  }
}

/**
 * On the controller instance: the staged dump replaces the database in one transaction (objects owned by
 * the application's role, as install-controller.sh made them), with the controller stopped meanwhile so
 * no request sees half a restore; it is started again whatever happens.
 */
export function renderInstanceRestoreScript(bucket: string, key: string, region: string): string {
  return [
    'set -eu',
    'umask 077',
    'dump=$(mktemp)',
    `trap 'rm -f "$dump"; systemctl start ${UNIT}' EXIT`,
    `aws s3 cp --only-show-errors --region '${region}' 's3://${bucket}/${key}' "$dump"`,
    `systemctl stop ${UNIT}`,
    'runuser -u postgres -- pg_restore --clean --if-exists --no-owner --role=waveshift --single-transaction -d waveshift < "$dump"',
    'echo WAVESHIFT-RESTORED',
    '',
  ].join('\n');
}

export async function restoreInstanceDatabase(
  clients: { ssm: SSMClient; s3: S3Client },
  target: { instanceId: string; bucket: string; region: string },
  dump: Buffer,
  onProgress: (status: string) => void,
): Promise<void> {
  const key = contentKey('restores', dump, '.dump');
  await stageObject(clients.s3, target.bucket, key, dump);
  try {
    const result = await runShellScript(
      clients.ssm,
      target.instanceId,
      renderInstanceRestoreScript(target.bucket, key, target.region),
      { comment: 'wavectl restore --database', timeoutSeconds: 900, onProgress },
    );
    if (result.status !== 'Success' || !result.stdout.includes('WAVESHIFT-RESTORED')) {
      throw new ControllerError(
        `pg_restore on the controller instance ${target.instanceId} failed (${result.status}), its database is as it was: ${result.stderr.trim().slice(0, 300)}`,
      );
    }
  } finally {
    await call('S3 DeleteObject', () =>
      clients.s3.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key })),
    );
  }
}
