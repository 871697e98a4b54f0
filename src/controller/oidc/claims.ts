import type { User } from '../repositories/users';

/**
 * The groups a user is in, as Kasm maps them to its own groups: everyone is in `waveshift-users`, admins
 * also in `waveshift-admins`. Pure.
 */
export function groupsOf(user: Pick<User, 'role'>): string[] {
  return user.role === 'admin' ? ['waveshift-admins', 'waveshift-users'] : ['waveshift-users'];
}

/** The claims of a user for the scopes oidc-provider asks about; it filters them by granted scope. Pure. */
export function claimsOf(user: User): Record<string, unknown> {
  return {
    sub: String(user.id),
    preferred_username: user.username,
    name: user.displayName ?? user.username,
    groups: groupsOf(user),
  };
}
