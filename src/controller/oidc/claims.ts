import type { User } from '../repositories/users';

/**
 * The groups a user is in, as Kasm maps them to its own groups: everyone is in `waveshift-users`, admins
 * also in `waveshift-admins`, and each user in the groups an operator or the upstream provider gave them.
 * Sorted, without repeats. Pure.
 */
export function groupsOf(user: Pick<User, 'role'>, memberOf: readonly string[] = []): string[] {
  const builtIn = user.role === 'admin' ? ['waveshift-admins', 'waveshift-users'] : ['waveshift-users'];
  return [...new Set([...builtIn, ...memberOf])].sort();
}

/** The claims of a user for the scopes oidc-provider asks about; it filters them by granted scope. Pure. */
export function claimsOf(user: User, memberOf: readonly string[] = []): Record<string, unknown> {
  return {
    sub: String(user.id),
    preferred_username: user.username,
    name: user.displayName ?? user.username,
    groups: groupsOf(user, memberOf),
  };
}
