import type { Pool, PoolClient } from 'pg';

/** Who did something through the API: the deployment key, a site's scanner, a user, or nobody known. */
export type Actor = string;

export interface AuditEntry {
  actor: Actor;
  action: string;
  target: string;
  detail?: unknown;
  requestId?: string;
}

/** Appends to audit_log; called inside the transaction of the change it records, so both land or neither. */
export async function recordAudit(db: Pool | PoolClient, entry: AuditEntry): Promise<void> {
  await db.query(
    'insert into audit_log (actor, action, target, detail, request_id) values ($1, $2, $3, $4, $5)',
    [
      entry.actor,
      entry.action,
      entry.target,
      entry.detail === undefined ? null : JSON.stringify(entry.detail),
      entry.requestId ?? null,
    ],
  );
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
  requestId: string | null;
}

export async function listAudit(db: Pool, limit: number): Promise<AuditRecord[]> {
  const { rows } = await db.query(
    'select id, at, actor, action, target, detail, request_id from audit_log order by id desc limit $1',
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    at: (r.at as Date).toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    detail: r.detail,
    requestId: r.request_id,
  }));
}
