import { createHash } from 'node:crypto';

/**
 * How the audit log names a login attempt for a user name that does not exist. People type their password
 * into the user name field; storing that verbatim would keep a password in the log. A short digest still
 * tells repeated attempts with the same name apart from a spray of different ones, while 32 bits are far too
 * few to confirm a guess at the password behind them (millions of strings share each digest).
 */
export function unknownUsernameTarget(username: string): string {
  const digest = createHash('sha256').update(username, 'utf8').digest('hex').slice(0, 8);
  return `unknown-user:sha256-${digest}`;
}
