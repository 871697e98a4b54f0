import type { Pool, PoolClient } from 'pg';

import type { AccessServer, AccessServerInput } from '../api-types';

export type { AccessServer, AccessServerInput };

const SELECT = `select index, public_key, endpoint, host(tunnel_address) as tunnel_address, instance_id,
  created_at, updated_at from access_servers`;

function toAccessServer(r: Record<string, unknown>): AccessServer {
  return {
    index: r.index as number,
    publicKey: r.public_key as string,
    endpoint: (r.endpoint as string | null) ?? null,
    tunnelAddress: r.tunnel_address as string,
    instanceId: (r.instance_id as string | null) ?? null,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
  };
}

export async function listAccessServers(db: Pool | PoolClient, indexes?: number[]): Promise<AccessServer[]> {
  const { rows } = indexes
    ? await db.query(`${SELECT} where index = any($1::int[]) order by index`, [indexes])
    : await db.query(`${SELECT} order by index`);
  return rows.map(toAccessServer);
}

export async function upsertAccessServer(db: PoolClient, server: AccessServerInput): Promise<boolean> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `insert into access_servers (index, public_key, endpoint, tunnel_address, instance_id)
     values ($1, $2, $3, $4, $5)
     on conflict (index) do update set public_key = excluded.public_key, endpoint = excluded.endpoint,
       tunnel_address = excluded.tunnel_address, instance_id = excluded.instance_id, updated_at = now()
     returning (xmax = 0) as inserted`,
    [server.index, server.publicKey, server.endpoint, server.tunnelAddress, server.instanceId],
  );
  return rows[0]?.inserted === true;
}

export type DeleteAccessServerResult = { deleted: boolean } | { assignedSites: number[] };

/** Deletes an access server unless sites still point at it (the caller answers 409 then). */
export async function deleteAccessServer(db: PoolClient, index: number): Promise<DeleteAccessServerResult> {
  const { rows } = await db.query<{ number: number }>(
    'select number from sites where access_server = $1 order by number',
    [index],
  );
  if (rows.length > 0) return { assignedSites: rows.map((r) => r.number) };
  const { rowCount } = await db.query('delete from access_servers where index = $1', [index]);
  return { deleted: (rowCount ?? 0) > 0 };
}
