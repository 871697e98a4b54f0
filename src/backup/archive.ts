import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BackupError } from '../errors';
import { VERSION } from '../version';
import type { DatabaseSnapshot } from './database-snapshot';

/** One SSM parameter of the deployment, decrypted. */
export interface SecretEntry {
  name: string;
  value: string;
}

/** The controller database as the archive carries it. */
export type DatabaseDump =
  | { format: 'wavectl-snapshot-1'; snapshot: DatabaseSnapshot }
  | { format: 'pg_dump-custom'; base64: string };

export interface ManifestEntry {
  name: 'wavectl.json' | 'secrets' | 'database';
  sha256: string;
  bytes: number;
  /** secrets: how many parameters; database: rows per table. */
  detail: string;
}

export interface Manifest {
  format: 1;
  createdAt: string;
  wavectlVersion: string;
  deployment: string;
  region: string;
  contents: ManifestEntry[];
  /** What this archive lacks and why (for example: no database dump under an AWS emulator). */
  missing: string[];
}

export interface ArchiveContents {
  manifest: Manifest;
  config: string;
  secrets: SecretEntry[];
  database: DatabaseDump | null;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function entry(name: ManifestEntry['name'], text: string, detail: string): ManifestEntry {
  return { name, sha256: sha256(text), bytes: Buffer.byteLength(text), detail };
}

function databaseDetail(database: DatabaseDump): string {
  if (database.format === 'pg_dump-custom') return 'pg_dump custom format';
  const rows = Object.entries(database.snapshot.tables).map(([t, r]) => `${t} ${r.length}`);
  return `schema version ${database.snapshot.schemaVersion}: ${rows.join(', ')}`;
}

/** Pure: the archive's contents with their manifest (checksums of each part as serialised). */
export function assembleArchive(input: {
  config: string;
  deployment: string;
  region: string;
  secrets: SecretEntry[];
  database: DatabaseDump | null;
  missing: string[];
  now: Date;
}): ArchiveContents {
  const contents = [
    entry('wavectl.json', input.config, 'deployment file'),
    entry('secrets', JSON.stringify(input.secrets), `${input.secrets.length} SSM parameters`),
  ];
  if (input.database)
    contents.push(entry('database', JSON.stringify(input.database), databaseDetail(input.database)));
  return {
    manifest: {
      format: 1,
      createdAt: input.now.toISOString(),
      wavectlVersion: VERSION,
      deployment: input.deployment,
      region: input.region,
      contents,
      missing: input.missing,
    },
    config: input.config,
    secrets: input.secrets,
    database: input.database,
  };
}

export const encodeArchive = (contents: ArchiveContents): Buffer =>
  gzipSync(JSON.stringify(contents), { level: 9 });

/** Pure: parses decrypted bytes and checks every part against the manifest's checksums. */
export function decodeArchive(plaintext: Buffer, label: string): ArchiveContents {
  let contents: ArchiveContents;
  try {
    contents = JSON.parse(gunzipSync(plaintext).toString('utf8')) as ArchiveContents;
  } catch (error) {
    throw new BackupError(`${label} decrypts but does not hold a wavectl archive; nothing was changed`, {
      cause: error,
    });
  }
  if (contents?.manifest?.format !== 1) {
    throw new BackupError(
      `${label} is an archive format this wavectl (${VERSION}) does not know; use a newer wavectl`,
    );
  }
  const parts: Record<ManifestEntry['name'], string | undefined> = {
    'wavectl.json': contents.config,
    secrets: JSON.stringify(contents.secrets),
    database: contents.database ? JSON.stringify(contents.database) : undefined,
  };
  for (const e of contents.manifest.contents) {
    const text = parts[e.name];
    if (text === undefined || sha256(text) !== e.sha256) {
      throw new BackupError(
        `${label}: ${e.name} does not match its checksum in the manifest; nothing was changed`,
      );
    }
  }
  if (contents.database && !contents.manifest.contents.some((e) => e.name === 'database')) {
    throw new BackupError(
      `${label}: the manifest does not list the database it carries; nothing was changed`,
    );
  }
  return contents;
}
