import type { Pool } from 'pg';
import { inTransaction } from '../db/transaction';
import { recordAudit } from '../repositories/audit';
import { groupNamesOf, replaceUpstreamMemberships } from '../repositories/groups';
import { createUpstreamUser, findUpstreamUser } from '../repositories/upstream-users';
import { type User, updateUser } from '../repositories/users';
import type { UpstreamIdentity } from './upstream-mapping';

export type UpstreamSignIn =
  | { status: 'signed-in'; user: User; created: boolean; groups: string[]; ignoredGroups: string[] }
  | { status: 'disabled'; user: User };

/**
 * The Waveshift user of an upstream identity, in one transaction with its audit records: found by (issuer,
 * subject) or created on first sign-in; its name shown and (when admin groups are configured) its role kept
 * in step with the upstream; its upstream group memberships replaced by the groups the upstream names now.
 * Upstream groups with no Waveshift group of that name are ignored and reported: only an operator creates
 * groups (`wavectl groups`), so an upstream cannot make groups Kasm would grant access by.
 */
export async function signInUpstreamUser(
  db: Pool,
  issuer: string,
  identity: UpstreamIdentity,
  audit: { client: string; requestId: string },
): Promise<UpstreamSignIn> {
  return inTransaction(db, async (tx) => {
    const actor = `upstream:${issuer}`;
    const existing = await findUpstreamUser(tx, issuer, identity.subject);
    const made = existing
      ? undefined
      : await createUpstreamUser(tx, {
          issuer,
          subject: identity.subject,
          username: identity.username,
          displayName: identity.displayName,
          role: identity.role ?? 'user',
        });
    // A concurrent first sign-in of the same subject may have made the user: then it is found, not made.
    const found = existing ?? (made?.created ? undefined : made?.user);
    if (found?.disabled) return { status: 'disabled', user: found };
    let user: User;
    if (!found) {
      user = made!.user;
      await recordAudit(tx, {
        actor,
        action: 'user.create',
        target: `user:${user.username}`,
        detail: { role: user.role, subject: identity.subject },
        requestId: audit.requestId,
      });
    } else {
      const role = identity.role ?? found.role;
      user = found;
      if (found.displayName !== identity.displayName || found.role !== role) {
        user = (await updateUser(tx, found.id, { displayName: identity.displayName, role }))!;
        await recordAudit(tx, {
          actor,
          action: 'user.update',
          target: `user:${user.username}`,
          detail: { displayName: user.displayName, role: user.role },
          requestId: audit.requestId,
        });
      }
    }
    const before = await groupNamesOf(tx, user.id);
    const ignoredGroups = await replaceUpstreamMemberships(tx, user.id, identity.groups);
    const groups = await groupNamesOf(tx, user.id);
    if (before.join('\n') !== groups.join('\n')) {
      await recordAudit(tx, {
        actor,
        action: 'user.groups',
        target: `user:${user.username}`,
        detail: { before, after: groups },
        requestId: audit.requestId,
      });
    }
    await recordAudit(tx, {
      actor: `user:${user.username}`,
      action: 'oidc.login',
      target: `client:${audit.client}`,
      detail: { upstream: issuer, ...(ignoredGroups.length > 0 ? { ignoredGroups } : {}) },
      requestId: audit.requestId,
    });
    return { status: 'signed-in', user, created: !found, groups, ignoredGroups };
  });
}
