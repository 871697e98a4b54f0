import type { Pool } from 'pg';

/** A sign-in sent to the upstream provider: what its callback must match, and the interaction it ends. */
export interface PendingUpstreamLogin {
  /** The interaction (oidc-provider's) the sign-in finishes. */
  uid: string;
  codeVerifier: string;
  nonce: string;
  client: string;
}

const KIND = 'UpstreamLogin';

/**
 * Kept beside oidc-provider's own objects (oidc_payloads, swept with them when expired), keyed by the state
 * sent upstream.
 */
export async function savePendingUpstreamLogin(
  db: Pool,
  state: string,
  login: PendingUpstreamLogin,
  ttlSeconds: number,
): Promise<void> {
  await db.query(
    `insert into oidc_payloads (kind, id, payload, uid, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [KIND, state, login, login.uid, ttlSeconds],
  );
}

/** Takes the pending sign-in of a state, once: a replayed callback finds nothing. */
export async function takePendingUpstreamLogin(
  db: Pool,
  state: string,
): Promise<PendingUpstreamLogin | undefined> {
  const { rows } = await db.query<{ payload: PendingUpstreamLogin; live: boolean }>(
    `delete from oidc_payloads where kind = $1 and id = $2
     returning payload, expires_at > now() as live`,
    [KIND, state],
  );
  return rows[0]?.live ? rows[0].payload : undefined;
}
