import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { findInstance } from '../aws/instances';
import { call } from '../aws/retry';
import { stagingBucketName } from '../aws/staging-bucket';
import { configPath } from '../config/file';
import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { ControllerError, UsageError } from '../errors';
import { writeFileAtomic } from '../fs/atomic-write';
import { assembleArchive, type DatabaseDump, encodeArchive, type Manifest } from './archive';
import { takeSnapshot } from './database-snapshot';
import { dumpInstanceDatabase } from './instance-database';
import { localDatabaseUrl } from './local-database';
import { readPassphrase } from './passphrase';
import { seal } from './sealed-file';
import { readDeploymentSecrets } from './secrets';

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
}

/** What the archive lacks when the controller's database cannot be dumped from here, said in full. */
export const EMULATOR_DATABASE_GAP =
  'database: not included — under an AWS emulator no SSM command runs on the controller instance, so pg_dump could not run there; the archive lacks users, sessions, devices, scan history and the audit log (sites and access servers are registered again from wavectl.json). For a full archive set controller.url to a local `wavectl controller serve` and back up again';

const defaultFile = (config: WavectlConfig, now: Date) =>
  `wavectl-backup-${config.name}-${config.aws.region}-${now.toISOString().replace(/[:.]/g, '-')}.wsb`;

async function dumpDatabase(
  ctx: Context,
  config: WavectlConfig,
): Promise<{ dump: DatabaseDump | null; gap?: string }> {
  if (config.controller.url) {
    const url = await localDatabaseUrl(ctx.env, ctx.options.dir);
    const snapshot = await ctx.io.track(
      'snapshot the local controller database',
      () => takeSnapshot(url),
      (s) => `${Object.values(s.tables).reduce((n, rows) => n + rows.length, 0)} rows`,
    );
    return { dump: { format: 'wavectl-snapshot-1', snapshot } };
  }
  const aws = await ctx.aws();
  if (aws.target.endpointUrl) return { dump: null, gap: EMULATOR_DATABASE_GAP };
  const { ssm, s3, instanceId, bucket } = await deployedController(ctx, config, 'dumped');
  const data = await ctx.io.track(
    'pg_dump on the controller instance (through SSM and the staging bucket)',
    () =>
      dumpInstanceDatabase({ ssm, s3 }, { instanceId, bucket, region: aws.target.region }, (s) =>
        ctx.io.info(`pg_dump: ${s}`),
      ),
    (d) => `${d.length} bytes`,
  );
  return { dump: { format: 'pg_dump-custom', base64: data.toString('base64') } };
}

/** The deployed controller's instance and the staging bucket that carries its dumps. */
export async function deployedController(
  ctx: Context,
  config: WavectlConfig,
  purpose: 'dumped' | 'restored',
) {
  const aws = await ctx.aws();
  const [ec2, ssm, s3, sts] = await Promise.all([aws.ec2(), aws.ssm(), aws.s3(), aws.sts()]);
  const controller = await findInstance(ec2, config.name, 'controller');
  if (controller?.state !== 'running') {
    throw new ControllerError(
      `no running controller instance in deployment ${config.name}, so its database cannot be ${purpose}: run \`wavectl deploy\` first`,
    );
  }
  const identity = await call('STS GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  const bucket = stagingBucketName(config.name, aws.target.region, identity.Account ?? '');
  return { ssm, s3, instanceId: controller.instanceId, bucket };
}

/**
 * `wavectl backup`: wavectl.json, every secret under /waveshift/<name>/ and the controller's database, in
 * one archive sealed with a passphrase, written atomically (mode 600) and never over an existing file.
 */
export async function createBackup(ctx: Context, options: { out?: string }): Promise<BackupResult> {
  const config = await ctx.loadConfig();
  const now = new Date();
  const file = resolve(ctx.options.dir, options.out ?? defaultFile(config, now));
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  ) {
    throw new UsageError(`${file} exists; choose another --out (a backup never replaces a file)`);
  }
  const passphrase = await readPassphrase(ctx, 'new');
  // The file as written, not re-serialised: the archive restores exactly what the operator had.
  const configText = await readFile(configPath(ctx.options.dir), 'utf8');
  const ssm = await (await ctx.aws()).ssm();
  const secrets = await ctx.io.track(
    'read secrets from SSM',
    () => readDeploymentSecrets(ssm, config.name),
    (s) => `${s.length} parameters`,
  );
  const { dump, gap } = await dumpDatabase(ctx, config);
  if (gap) ctx.io.warn(gap);
  const contents = assembleArchive({
    config: configText,
    deployment: config.name,
    region: config.aws.region,
    secrets,
    database: dump,
    missing: gap ? [gap] : [],
    now,
  });
  const sealed = await ctx.io.track('encrypt (scrypt + AES-256-GCM)', () =>
    seal(encodeArchive(contents), passphrase),
  );
  await writeFileAtomic(file, sealed, { mode: 0o600 });
  return { file, bytes: sealed.length, manifest: contents.manifest };
}

export function renderManifest(manifest: Manifest): string[] {
  return [
    `deployment ${manifest.deployment} in ${manifest.region}, made ${manifest.createdAt} by wavectl ${manifest.wavectlVersion}`,
    ...manifest.contents.map(
      (e) => `  ${e.name}: ${e.detail} (${e.bytes} bytes, sha256 ${e.sha256.slice(0, 16)}…)`,
    ),
    ...manifest.missing.map((m) => `  missing ${m}`),
  ];
}

export const renderBackup = (r: BackupResult): string =>
  [
    `wrote ${r.file} (${r.bytes} bytes)`,
    ...renderManifest(r.manifest),
    'check it with `wavectl backup --verify FILE`',
  ].join('\n');
