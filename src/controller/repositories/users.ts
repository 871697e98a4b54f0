import type { Pool, PoolClient } from 'pg';

export type Role = 'admin' | 'user';

export interface User {
  id: number;
  username: string;
  displayName: string | null;
  role: Role;
  disabled: boolean;
  /** Whether sign-in asks for a TOTP code after the password. */
  totp: boolean;
  createdAt: string;
  updatedAt: string;
}

export const USER_COLUMNS =
  'id, username, display_name, role, disabled, totp_secret is not null as totp, created_at, updated_at';

export function toUser(r: Record<string, unknown>): User {
  return {
    id: r.id as number,
    username: r.username as string,
    displayName: (r.display_name as string | null) ?? null,
    role: r.role as Role,
    disabled: r.disabled as boolean,
    totp: r.totp as boolean,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
  };
}

export async function listUsers(db: Pool): Promise<User[]> {
  const { rows } = await db.query(`select ${USER_COLUMNS} from users order by id`);
  return rows.map(toUser);
}

export async function getUser(db: Pool | PoolClient, id: number): Promise<User | undefined> {
  const { rows } = await db.query(`select ${USER_COLUMNS} from users where id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function createUser(
  db: PoolClient,
  user: { username: string; displayName: string | null; role: Role; passwordHash: string },
): Promise<User> {
  const { rows } = await db.query(
    `insert into users (username, display_name, role, password_hash) values ($1, $2, $3, $4)
     returning ${USER_COLUMNS}`,
    [user.username, user.displayName, user.role, user.passwordHash],
  );
  return toUser(rows[0]);
}

export interface UserChanges {
  displayName?: string | null;
  role?: Role;
  disabled?: boolean;
  passwordHash?: string;
}

export async function updateUser(
  db: PoolClient,
  id: number,
  changes: UserChanges,
): Promise<User | undefined> {
  const { rows } = await db.query(
    `update users set
       display_name = case when $2 then $3 else display_name end,
       role = coalesce($4, role),
       disabled = coalesce($5, disabled),
       password_hash = coalesce($6, password_hash),
       updated_at = now()
     where id = $1 returning ${USER_COLUMNS}`,
    [
      id,
      changes.displayName !== undefined,
      changes.displayName ?? null,
      changes.role ?? null,
      changes.disabled ?? null,
      changes.passwordHash ?? null,
    ],
  );
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function deleteUser(db: PoolClient, id: number): Promise<boolean> {
  await db.query('delete from oidc_payloads where account_id = $1', [String(id)]);
  const { rowCount } = await db.query('delete from users where id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export interface Login {
  user: User;
  passwordHash: string;
  /** Base32; null when the user has no TOTP. */
  totpSecret: string | null;
}

/** The user a login names, with the stored hash and TOTP secret; user names compare case-insensitively. */
export async function findLogin(db: Pool, username: string): Promise<Login | undefined> {
  const { rows } = await db.query(
    `select ${USER_COLUMNS}, password_hash, totp_secret from users where lower(username) = lower($1)`,
    [username],
  );
  return rows[0] ? loginOf(rows[0]) : undefined;
}

export async function findLoginById(db: Pool, id: number): Promise<Login | undefined> {
  const { rows } = await db.query(
    `select ${USER_COLUMNS}, password_hash, totp_secret from users where id = $1`,
    [id],
  );
  return rows[0] ? loginOf(rows[0]) : undefined;
}

const loginOf = (r: Record<string, unknown>): Login => ({
  user: toUser(r),
  passwordHash: r.password_hash as string,
  totpSecret: (r.totp_secret as string | null) ?? null,
});

/** The issuer that vouches for a user signing in upstream; null for a local user, undefined for none. */
export async function upstreamIssuerOf(
  db: Pool | PoolClient,
  id: number,
): Promise<string | null | undefined> {
  const { rows } = await db.query<{ upstream_issuer: string | null }>(
    'select upstream_issuer from users where id = $1',
    [id],
  );
  return rows[0]?.upstream_issuer;
}

/** Turns TOTP on with a new secret (no step used yet), or off with null. */
export async function setTotpSecret(
  db: Pool | PoolClient,
  id: number,
  secret: string | null,
): Promise<User | undefined> {
  const { rows } = await db.query(
    `update users set totp_secret = $2, totp_last_step = null, updated_at = now() where id = $1
     returning ${USER_COLUMNS}`,
    [id, secret],
  );
  return rows[0] ? toUser(rows[0]) : undefined;
}

/**
 * Records that a code of this time step was accepted, unless one of this step or a later one already was:
 * one statement, so two sign-ins racing with the same code cannot both pass.
 */
export async function claimTotpStep(db: Pool, id: number, step: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update users set totp_last_step = $2
     where id = $1 and totp_secret is not null and (totp_last_step is null or totp_last_step < $2)`,
    [id, step],
  );
  return (rowCount ?? 0) > 0;
}

export async function createSession(
  db: Pool | PoolClient,
  session: { tokenHash: string; userId: number; ttlSeconds: number },
): Promise<{ expiresAt: string }> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `insert into sessions (token_hash, user_id, expires_at) values ($1, $2, now() + make_interval(secs => $3))
     returning expires_at`,
    [session.tokenHash, session.userId, session.ttlSeconds],
  );
  return { expiresAt: rows[0]!.expires_at.toISOString() };
}

/** The live session of a token: not expired, its user not disabled. Expired rows are removed on the way. */
export async function findSession(
  db: Pool,
  tokenHash: string,
): Promise<{ user: User; expiresAt: string } | undefined> {
  const { rows } = await db.query(
    `update sessions s set last_used_at = now() from users u
     where s.token_hash = $1 and u.id = s.user_id and s.expires_at > now() and not u.disabled
     returning u.id, u.username, u.display_name, u.role, u.disabled, u.totp_secret is not null as totp,
       u.created_at, u.updated_at, s.expires_at`,
    [tokenHash],
  );
  if (!rows[0]) {
    await db.query('delete from sessions where token_hash = $1 and expires_at <= now()', [tokenHash]);
    return undefined;
  }
  return { user: toUser(rows[0]), expiresAt: (rows[0].expires_at as Date).toISOString() };
}

export async function deleteSession(db: Pool | PoolClient, tokenHash: string): Promise<number | undefined> {
  const { rows } = await db.query<{ user_id: number }>(
    'delete from sessions where token_hash = $1 returning user_id',
    [tokenHash],
  );
  return rows[0]?.user_id;
}

/** Ends every session of a user: API sessions, and the OpenID provider's sessions, grants and tokens. */
export async function deleteSessionsOf(db: PoolClient, userId: number): Promise<void> {
  await db.query('delete from sessions where user_id = $1', [userId]);
  await db.query('delete from oidc_payloads where account_id = $1', [String(userId)]);
}

export async function purgeExpiredSessions(db: Pool): Promise<number> {
  const { rowCount } = await db.query('delete from sessions where expires_at <= now()');
  // The OpenID provider's expired codes, tokens, sessions and interactions go with them.
  const oidc = await db.query('delete from oidc_payloads where expires_at <= now()');
  const pending = await db.query('delete from oidc_pending_second_factor where expires_at <= now()');
  return (rowCount ?? 0) + (oidc.rowCount ?? 0) + (pending.rowCount ?? 0);
}
