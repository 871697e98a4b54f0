import pg from 'pg';
import { ControllerError } from '../errors';

/**
 * The controller's tables as JSON rows, read in ONE repeatable-read, read-only transaction: the same
 * consistency pg_dump gives (one snapshot of every table), without needing a pg_dump binary matching the
 * server's version (the embedded PostgreSQL ships none). It restores into a controller of the same schema
 * version, which the controller itself creates by migrating at start.
 */
export interface DatabaseSnapshot {
  schemaVersion: number;
  /** Rows of each table (row_to_json), in an order that satisfies foreign keys. */
  tables: Record<string, unknown[]>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const quoted = (name: string): string => {
  if (!IDENTIFIER.test(name))
    throw new ControllerError(`unexpected table name "${name}" in the controller database`);
  return `"${name}"`;
};

/** Tables of the public schema (not the migration log), parents before the tables that reference them. */
async function tablesInDependencyOrder(client: pg.ClientBase): Promise<string[]> {
  const { rows: tables } = await client.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'schema_migrations' order by tablename",
  );
  const { rows: edges } = await client.query<{ child: string; parent: string }>(
    `select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
       from pg_constraint c where c.contype = 'f' and c.connamespace = 'public'::regnamespace`,
  );
  const order: string[] = [];
  const pending = new Set(tables.map((t) => t.name));
  while (pending.size > 0) {
    const ready = [...pending].filter((t) =>
      edges.every((e) => e.child !== t || e.parent === t || !pending.has(e.parent)),
    );
    if (ready.length === 0) throw new ControllerError('the controller database has a cycle of foreign keys');
    for (const t of ready) {
      order.push(t);
      pending.delete(t);
    }
  }
  return order;
}

async function schemaVersion(client: pg.ClientBase): Promise<number | undefined> {
  const { rows } = await client.query<{ exists: boolean }>(
    "select to_regclass('public.schema_migrations') is not null as exists",
  );
  if (!rows[0]?.exists) return undefined;
  const out = await client.query<{ version: number | null }>(
    'select max(version) as version from schema_migrations',
  );
  return out.rows[0]?.version ?? undefined;
}

async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
  } catch (error) {
    throw new ControllerError(
      `cannot reach the controller database (${(error as Error).message}); is the controller running?`,
      { cause: error },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function takeSnapshot(databaseUrl: string): Promise<DatabaseSnapshot> {
  return withClient(databaseUrl, async (client) => {
    await client.query('begin isolation level repeatable read read only');
    try {
      const version = await schemaVersion(client);
      if (version === undefined) {
        throw new ControllerError(
          'the controller database has no schema yet: start the controller once first',
        );
      }
      const tables: Record<string, unknown[]> = {};
      for (const table of await tablesInDependencyOrder(client)) {
        const { rows } = await client.query<{ rows: unknown[] }>(
          `select coalesce(json_agg(t), '[]'::json) as rows from ${quoted(table)} t`,
        );
        tables[table] = rows[0]?.rows ?? [];
      }
      return { schemaVersion: version, tables };
    } finally {
      await client.query('rollback');
    }
  });
}

/** How many rows the target holds in the tables a restore replaces (a non-empty target needs consent). */
export function countRows(databaseUrl: string, tables: readonly string[]): Promise<number> {
  return withClient(databaseUrl, async (client) => {
    let total = 0;
    for (const table of tables) {
      const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${quoted(table)}`);
      total += rows[0]?.n ?? 0;
    }
    return total;
  });
}

/**
 * Replaces every table's rows with the snapshot's, in one transaction: all or nothing. The target must be a
 * controller database of the same schema version (start the controller once: it migrates at start).
 */
export function restoreSnapshot(
  databaseUrl: string,
  snapshot: DatabaseSnapshot,
): Promise<Record<string, number>> {
  return withClient(databaseUrl, async (client) => {
    const version = await schemaVersion(client);
    if (version !== snapshot.schemaVersion) {
      throw new ControllerError(
        version === undefined
          ? 'the target controller database has no schema yet: start the controller once (it migrates at start), then restore'
          : `the backup holds schema version ${snapshot.schemaVersion} and the controller database is at ${version}: restore with a controller of the backup's version`,
      );
    }
    const order = await tablesInDependencyOrder(client);
    const unknown = Object.keys(snapshot.tables).filter((t) => !order.includes(t));
    if (unknown.length > 0)
      throw new ControllerError(`the controller database lacks tables ${unknown.join(', ')}`);
    await client.query('begin');
    try {
      await client.query(`truncate ${order.map(quoted).join(', ')} restart identity cascade`);
      // The snapshot holds what the controller's triggers derived (device events) already: loading rows is
      // not a change to react to. DDL is transactional, so the triggers are back on at commit or rollback.
      for (const table of order) await client.query(`alter table ${quoted(table)} disable trigger user`);
      const restored: Record<string, number> = {};
      for (const table of order) {
        const rows = snapshot.tables[table] ?? [];
        restored[table] = rows.length;
        if (rows.length === 0) continue;
        await client.query(
          `insert into ${quoted(table)} overriding system value select * from json_populate_recordset(null::${quoted(table)}, $1::json)`,
          [JSON.stringify(rows)],
        );
      }
      const { rows: identities } = await client.query<{ table: string; column: string }>(
        `select table_name as table, column_name as column from information_schema.columns
          where table_schema = 'public' and is_identity = 'YES'`,
      );
      for (const { table, column } of identities.filter((i) => order.includes(i.table))) {
        await client.query(
          `select setval(pg_get_serial_sequence($1, $2), coalesce((select max(${quoted(column)}) from ${quoted(table)}), 0) + 1, false)`,
          [table, column],
        );
      }
      for (const table of order) await client.query(`alter table ${quoted(table)} enable trigger user`);
      await client.query('commit');
      return restored;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      if (error instanceof ControllerError) throw error;
      throw new ControllerError(
        `restoring the controller database failed, nothing was changed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  });
}
