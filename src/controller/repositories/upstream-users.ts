import type { PoolClient } from 'pg';
import { NO_LOCAL_PASSWORD } from '../auth/passwords';
import { usernameAttempt } from '../oidc/upstream-mapping';
import { type Role, toUser, USER_COLUMNS, type User } from './users';

/** Tries `name`, `name-2`, … this many times before giving up (a name taken 50 times over is an attack). */
const USERNAME_ATTEMPTS = 50;

/** The user an upstream provider knows by this subject, locked for the sign-in's transaction. */
export async function findUpstreamUser(
  db: PoolClient,
  issuer: string,
  subject: string,
): Promise<User | undefined> {
  const { rows } = await db.query(
    `select ${USER_COLUMNS} from users where upstream_issuer = $1 and upstream_subject = $2 for update`,
    [issuer, subject],
  );
  return rows[0] ? toUser(rows[0]) : undefined;
}

/**
 * A user for an upstream subject, under the first free name of `username`, `username-2`, … (a local user
 * keeps their name). No password: the upstream provider vouches for them. When a concurrent first sign-in
 * of the same subject got there first, that user is returned (`created` false).
 */
export async function createUpstreamUser(
  db: PoolClient,
  user: { issuer: string; subject: string; username: string; displayName: string | null; role: Role },
): Promise<{ user: User; created: boolean }> {
  for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt++) {
    // Any unique conflict, the name's or the (issuer, subject)'s: the statement waits for the other
    // transaction, and the lookup below sees what it committed.
    const { rows } = await db.query(
      `insert into users (username, display_name, role, password_hash, upstream_issuer, upstream_subject)
       values ($1, $2, $3, $4, $5, $6)
       on conflict do nothing returning ${USER_COLUMNS}`,
      [
        usernameAttempt(user.username, attempt),
        user.displayName,
        user.role,
        NO_LOCAL_PASSWORD,
        user.issuer,
        user.subject,
      ],
    );
    if (rows[0]) return { user: toUser(rows[0]), created: true };
    const existing = await findUpstreamUser(db, user.issuer, user.subject);
    if (existing) return { user: existing, created: false };
  }
  throw new Error(`no free user name from ${user.username} after ${USERNAME_ATTEMPTS} attempts`);
}
