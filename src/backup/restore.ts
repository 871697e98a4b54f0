import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createAwsClients, resolveEndpoint } from '../aws/clients';
import { CONFIG_FILE } from '../config/file';
import type { Context } from '../context';
import { BackupError, ControllerError, UsageError } from '../errors';
import { writeFileAtomic } from '../fs/atomic-write';
import { deleteSecrets, putSecrets } from '../sites/parameters';
import { type ArchiveContents, decodeArchive, type Manifest } from './archive';
import { deployedController } from './backup';
import { countRows, restoreSnapshot } from './database-snapshot';
import { restoreInstanceDatabase } from './instance-database';
import { localDatabaseUrl } from './local-database';
import { readPassphrase } from './passphrase';
import { planRestore } from './restore-plan';
import { open } from './sealed-file';
import { readDeploymentSecrets } from './secrets';

/** Left in a restored directory while the archive's database still has to be loaded into the controller. */
export const PENDING_RESTORE_FILE = 'wavectl.restore.json';

interface PendingRestore {
  archive: string;
  sha256: string;
  format: string;
  createdAt: string;
}

async function readArchiveFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

async function openArchive(
  ctx: Context,
  file: string,
): Promise<{ bytes: Buffer; contents: ArchiveContents }> {
  const bytes = await readArchiveFile(file);
  const passphrase = await readPassphrase(ctx, 'existing');
  const plaintext = await ctx.io.track('decrypt and authenticate', () => open(bytes, passphrase, file));
  return { bytes, contents: decodeArchive(plaintext, file) };
}

export interface VerifyResult {
  file: string;
  valid: true;
  manifest: Manifest;
}

/** `wavectl backup --verify FILE`: decrypts, authenticates and checks every checksum; writes nothing. */
export async function verifyBackup(ctx: Context, file: string): Promise<VerifyResult> {
  const path = resolve(ctx.options.dir, file);
  const { contents } = await openArchive(ctx, path);
  return { file: path, valid: true, manifest: contents.manifest };
}

export interface RestoreResult {
  dir: string;
  deployment: string;
  region: string;
  secrets: number;
  accessServers: number;
  sites: number;
  databasePending: boolean;
  missing: string[];
}

async function ensureEmptyDirectory(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(`cannot read ${dir}: ${(error as Error).message}`, { cause: error });
  }
  if (entries.length > 0) {
    throw new UsageError(
      `${dir} is not empty; restore into an empty directory (pass --dir); nothing was changed`,
    );
  }
}

/**
 * `wavectl restore FILE`: into an empty directory, the archive's wavectl.json (region and name changed if
 * asked, AWS IDs dropped) and its secrets in SSM (renamed with the name). Refuses when SSM already holds
 * secrets there. wavectl.json is written last, and secrets written before a failure are removed again, so
 * a refused or failed restore leaves nothing behind.
 */
export async function restoreBackup(
  ctx: Context,
  file: string,
  target: { region?: string; name?: string },
): Promise<RestoreResult> {
  const dir = ctx.options.dir;
  const path = resolve(dir, file);
  await ensureEmptyDirectory(dir);
  const { bytes, contents } = await openArchive(ctx, path);
  const plan = planRestore(contents.config, contents.secrets, target);
  const clients = createAwsClients({
    profile: plan.config.aws.profile,
    region: plan.config.aws.region,
    endpointUrl: resolveEndpoint(ctx.options.endpointUrl, ctx.env, plan.config.aws.endpointUrl),
  });
  try {
    const ssm = await clients.ssm();
    const present = await readDeploymentSecrets(ssm, plan.config.name);
    if (present.length > 0) {
      throw new UsageError(
        `SSM in ${plan.config.aws.region} already holds ${present.length} secrets under /waveshift/${plan.config.name}/: restore with another --name or --region, or destroy that deployment first; nothing was changed`,
      );
    }
    // Only what this run wrote is undone: a concurrent restore of the same name may own the rest.
    const written: string[] = [];
    try {
      await ctx.io.track(
        `put secrets into SSM (${plan.config.aws.region})`,
        () => putSecrets(ssm, plan.secrets, { overwrite: false, written }),
        () => `${plan.secrets.length} parameters`,
      );
    } catch (error) {
      await deleteSecrets(ssm, written).catch(() => undefined);
      throw error;
    }
  } finally {
    clients.destroy();
  }
  await mkdir(dir, { recursive: true });
  if (contents.database) {
    const pending: PendingRestore = {
      archive: path,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      format: contents.database.format,
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(join(dir, PENDING_RESTORE_FILE), `${JSON.stringify(pending, null, 2)}\n`);
  }
  await writeFileAtomic(join(dir, CONFIG_FILE), plan.configText);
  return {
    dir,
    deployment: plan.config.name,
    region: plan.config.aws.region,
    secrets: plan.secrets.length,
    accessServers: plan.config.accessServers.length,
    sites: plan.config.sites.length,
    databasePending: contents.database !== null,
    missing: contents.manifest.missing,
  };
}

export function renderRestore(r: RestoreResult): string {
  const k = r.accessServers;
  const n = r.sites;
  return [
    `restored deployment ${r.deployment} (${r.region}) into ${r.dir}: wavectl.json, ${r.secrets} secrets in SSM`,
    ...r.missing.map((m) => `the archive lacks ${m}`),
    'next:',
    '  wavectl deploy',
    ...(r.databasePending
      ? ['  wavectl restore --database FILE     # loads the controller database (pending)']
      : []),
    ...(k > 0
      ? [`  wavectl access-servers --add ${k}       # launches the recorded servers again, same keys`]
      : []),
    ...(n > 0
      ? [
          `  wavectl sites --add ${n}                # re-routes and re-registers the recorded sites, same keys`,
        ]
      : []),
    ...(n > 0
      ? ['  wavectl configure-hub --all          # only the access servers’ new addresses change']
      : []),
  ].join('\n');
}

export interface DatabaseRestoreResult {
  database: 'local' | 'deployed';
  tables: Record<string, number>;
}

/**
 * `wavectl restore --database FILE`: loads the archive's controller database into this deployment's
 * controller, after `deploy`. A controller that already holds data is replaced only after a confirmation.
 */
export async function restoreDatabase(ctx: Context, file: string): Promise<DatabaseRestoreResult> {
  const config = await ctx.loadConfig();
  const path = resolve(ctx.options.dir, file);
  const { contents } = await openArchive(ctx, path);
  const database = contents.database;
  if (!database) {
    throw new BackupError(
      `${path} holds no controller database (${contents.manifest.missing.join('; ') || 'none was taken'})`,
    );
  }
  if (!config.controller.url) {
    const aws = await ctx.aws();
    if (aws.target.endpointUrl) {
      throw new ControllerError(
        'under an AWS emulator no SSM command runs on the controller instance, so the database cannot be loaded there: set controller.url to a local `wavectl controller serve` and run `wavectl restore --database FILE` again',
      );
    }
    if (database.format !== 'pg_dump-custom') {
      throw new BackupError(
        `${path} holds the database of a local controller: load it into a local controller (set controller.url), not a deployed one`,
      );
    }
    const target = await deployedController(ctx, config, 'restored');
    await ctx.confirm(
      `The database of the controller ${target.instanceId} is replaced by the archive's (it is stopped meanwhile).`,
      config.name,
    );
    await ctx.io.track('pg_restore on the controller instance (through the staging bucket and SSM)', () =>
      restoreInstanceDatabase(
        { ssm: target.ssm, s3: target.s3 },
        { instanceId: target.instanceId, bucket: target.bucket, region: aws.target.region },
        Buffer.from(database.base64, 'base64'),
        (s) => ctx.io.info(`pg_restore: ${s}`),
      ),
    );
    await rm(join(ctx.options.dir, PENDING_RESTORE_FILE), { force: true });
    return { database: 'deployed', tables: {} };
  }
  if (database.format !== 'wavectl-snapshot-1') {
    throw new BackupError(
      `${path} holds a pg_dump of a deployed controller: load it into a deployed controller (without controller.url)`,
    );
  }
  const url = await localDatabaseUrl(ctx.env, ctx.options.dir);
  const held = await countRows(url, Object.keys(database.snapshot.tables));
  if (held > 0) {
    await ctx.confirm(
      `The controller database holds ${held} rows; the restore replaces them with the archive's.`,
      config.name,
    );
  }
  const tables = await ctx.io.track(
    'load the controller database',
    () => restoreSnapshot(url, database.snapshot),
    (t) => `${Object.values(t).reduce((a, b) => a + b, 0)} rows`,
  );
  await rm(join(ctx.options.dir, PENDING_RESTORE_FILE), { force: true });
  return { database: 'local', tables };
}

export const renderDatabaseRestore = (r: DatabaseRestoreResult): string =>
  r.database === 'deployed'
    ? 'loaded the controller database on its instance (pg_restore) and started the controller again'
    : `loaded the controller database: ${Object.entries(r.tables)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}`;
