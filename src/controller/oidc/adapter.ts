import type { Pool } from 'pg';

type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  consumed?: number;
};

/**
 * oidc-provider's storage interface over the controller's PostgreSQL: one class per model name, all rows in
 * oidc_payloads. Expired rows are not returned (and are swept with the sessions).
 */
export function postgresAdapter(db: Pool) {
  return class PostgresOidcAdapter {
    constructor(readonly kind: string) {}

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      await db.query(
        `insert into oidc_payloads (kind, id, payload, grant_id, uid, user_code, account_id, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, case when $8::int is null then null else now() + make_interval(secs => $8::int) end)
         on conflict (kind, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
           uid = excluded.uid, user_code = excluded.user_code, account_id = excluded.account_id,
           expires_at = excluded.expires_at`,
        [
          this.kind,
          id,
          payload,
          payload.grantId ?? null,
          payload.uid ?? null,
          payload.userCode ?? null,
          payload.accountId ?? null,
          expiresIn ?? null,
        ],
      );
    }

    private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<Payload | undefined> {
      const { rows } = await db.query<{ payload: Payload }>(
        `select payload from oidc_payloads
         where kind = $1 and ${column} = $2 and (expires_at is null or expires_at > now()) limit 1`,
        [this.kind, value],
      );
      return rows[0]?.payload;
    }

    find(id: string) {
      return this.findWhere('id', id);
    }

    findByUid(uid: string) {
      return this.findWhere('uid', uid);
    }

    findByUserCode(userCode: string) {
      return this.findWhere('user_code', userCode);
    }

    async consume(id: string): Promise<void> {
      await db.query(
        `update oidc_payloads set payload = payload || jsonb_build_object('consumed', extract(epoch from now())::bigint)
         where kind = $1 and id = $2`,
        [this.kind, id],
      );
    }

    async destroy(id: string): Promise<void> {
      await db.query('delete from oidc_payloads where kind = $1 and id = $2', [this.kind, id]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.query('delete from oidc_payloads where grant_id = $1', [grantId]);
    }
  };
}
