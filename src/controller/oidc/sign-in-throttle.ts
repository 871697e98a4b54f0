import type { Pool } from 'pg';

/** After this many failed sign-ins naming one user within the window, that user's sign-in waits. */
export const USER_FAILURE_LIMIT = 10;
export const USER_FAILURE_WINDOW_MINUTES = 15;
/** The audit action of a failed sign-in (wrong password or wrong TOTP code alike): what the brake counts. */
export const SIGN_IN_FAILED = 'oidc.login-failed';
/** A failed login at the session API (POST /auth/login): counted with the sign-in page's, one brake for both. */
export const API_LOGIN_FAILED = 'auth.login-failed';

/**
 * Per-user brake on password guessing, counted from the audit log (every failure is recorded there anyway),
 * so it holds across restarts and across the addresses an attacker rotates through; the per-address limit
 * is the rate limiter's. Failures at the sign-in page and at the session API count together: either door
 * guessed at closes both.
 */
export async function userSignInBlocked(db: Pool, target: string): Promise<boolean> {
  const { rows } = await db.query<{ failures: string }>(
    `select count(*) as failures from audit_log
     where action = any($3) and target = $1
       and at > now() - make_interval(mins => $2)`,
    [target, USER_FAILURE_WINDOW_MINUTES, [SIGN_IN_FAILED, API_LOGIN_FAILED]],
  );
  return Number(rows[0]?.failures ?? 0) >= USER_FAILURE_LIMIT;
}
