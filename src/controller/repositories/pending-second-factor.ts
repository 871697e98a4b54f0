import type { Pool } from 'pg';

/**
 * Sign-ins whose password was right and whose TOTP code is still to come, one per provider interaction.
 * They live no longer than the interaction itself (its TTL), and end with it.
 */
export async function holdPendingSecondFactor(
  db: Pool,
  interactionUid: string,
  userId: number,
  ttlSeconds: number,
): Promise<void> {
  await db.query(
    `insert into oidc_pending_second_factor (interaction_uid, user_id, expires_at)
     values ($1, $2, now() + make_interval(secs => $3))
     on conflict (interaction_uid) do update set user_id = excluded.user_id, expires_at = excluded.expires_at`,
    [interactionUid, userId, ttlSeconds],
  );
}

/** The user waiting for their code in this interaction, if any and not expired. */
export async function pendingSecondFactor(db: Pool, interactionUid: string): Promise<number | undefined> {
  const { rows } = await db.query<{ user_id: string }>(
    'select user_id from oidc_pending_second_factor where interaction_uid = $1 and expires_at > now()',
    [interactionUid],
  );
  return rows[0] ? Number(rows[0].user_id) : undefined;
}

export async function endPendingSecondFactor(db: Pool, interactionUid: string): Promise<void> {
  await db.query('delete from oidc_pending_second_factor where interaction_uid = $1', [interactionUid]);
}
