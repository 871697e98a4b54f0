import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { MIGRATIONS, type Migration } from './migrations';
import { inTransaction } from './transaction';

/**
 * Applies pending migrations at start, all of them inside ONE transaction under an advisory lock: two
 * controllers starting at once do not race, and a failing migration leaves the schema as it was.
 *
 * A small runner rather than a library (node-pg-migrate, umzug): the migrations are strings compiled into
 * the single bundled file deployed to EC2, so nothing is read from a directory at run time, and the whole
 * job is forty lines. It records each migration's checksum and refuses to start when the database holds a
 * migration this build does not know (a newer controller ran) or one whose text changed.
 */
export interface MigrationResult {
  applied: number[];
  current: number;
}

const LOCK_ID = 0x5741_5645; // "WAVE"

export const checksum = (m: Migration): string => createHash('sha256').update(m.sql).digest('hex');

export class MigrationError extends Error {}

export async function migrate(
  pool: Pool,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  return inTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock($1)', [LOCK_ID]);
    await client.query(`create table if not exists schema_migrations (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'select version, checksum from schema_migrations order by version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const migration = known.get(row.version);
      if (!migration) {
        throw new MigrationError(
          `the database has migration ${row.version}, unknown to this controller; run a newer controller`,
        );
      }
      if (checksum(migration) !== row.checksum) {
        throw new MigrationError(`migration ${row.version} was changed after it was applied`);
      }
    }
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('insert into schema_migrations (version, name, checksum) values ($1, $2, $3)', [
        migration.version,
        migration.name,
        checksum(migration),
      ]);
      applied.push(migration.version);
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  });
}
