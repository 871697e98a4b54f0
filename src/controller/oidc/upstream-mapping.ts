import type { Role } from '../repositories/users';

/** How an upstream provider's users and groups become Waveshift users and groups. */
export interface UpstreamMapping {
  /** The claim (ID token or userinfo) listing the user's upstream groups: `groups` at Okta and Keycloak. */
  groupsClaim: string;
  /** Upstream group → Waveshift group name; an upstream group not named here keeps its own name. */
  groupMap: Readonly<Record<string, string>>;
  /** Upstream groups whose members are admins here; empty: the upstream never decides the role. */
  adminGroups: readonly string[];
  /** Only users with a verified email address in this domain may sign in (e.g. a Google Workspace). */
  allowedEmailDomain?: string;
}

/** What Waveshift takes from an upstream user's claims (the ID token's, merged with userinfo's). */
export interface UpstreamIdentity {
  subject: string;
  /** A user name to start from; a number is appended when it is taken. */
  username: string;
  displayName: string | null;
  /** The Waveshift group names, mapped. */
  groups: string[];
  /** Undefined: the upstream does not decide (no admin groups configured), keep the role as it is. */
  role?: Role;
}

const USERNAME_LENGTH = 64;
const SUFFIX_ROOM = 4;

const asText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/**
 * A user name from the claims, in Waveshift's alphabet (letters, digits, `.`, `_`, `@`, `-`): the upstream's
 * preferred_username, else its email, else one made from the subject. Pure.
 */
export function usernameFrom(claims: Record<string, unknown>): string {
  const raw = asText(claims.preferred_username) ?? asText(claims.email) ?? `user-${String(claims.sub)}`;
  const cleaned = raw
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^A-Za-z0-9._@-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, USERNAME_LENGTH - SUFFIX_ROOM);
  return cleaned || 'user';
}

/** The name to try at the n-th attempt (0: the name itself, then `name-2`, `name-3`…). Pure. */
export const usernameAttempt = (base: string, attempt: number): string =>
  attempt === 0 ? base : `${base}-${attempt + 1}`;

/** The upstream groups in a claim: a list of names, or one name; anything else is no group. Pure. */
export function upstreamGroupsOf(claims: Record<string, unknown>, claim: string): string[] {
  const value = claims[claim];
  const names = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n.trim() !== ''))];
}

/** Upstream group names through the mapping (keys compare case-insensitively), without repeats. Pure. */
export function mapGroups(upstream: readonly string[], groupMap: UpstreamMapping['groupMap']): string[] {
  const byLowerName = new Map(Object.entries(groupMap).map(([k, v]) => [k.toLowerCase(), v]));
  const mapped = upstream.map((g) => byLowerName.get(g.toLowerCase()) ?? g);
  const seen = new Set<string>();
  return mapped.filter((g) => !seen.has(g.toLowerCase()) && seen.add(g.toLowerCase()));
}

/** Why these claims may not sign in under the mapping's email domain, or undefined. Pure. */
export function emailDomainProblem(claims: Record<string, unknown>, domain?: string): string | undefined {
  if (!domain) return undefined;
  const email = asText(claims.email);
  if (!email) return `the identity provider sent no email address (only ${domain} may sign in)`;
  if (claims.email_verified === false) return `the email address ${email} is not verified`;
  if (!email.toLowerCase().endsWith(`@${domain.toLowerCase()}`)) {
    return `${email} is not in ${domain}, the only domain allowed to sign in`;
  }
  return undefined;
}

/** Pure: the Waveshift identity of an upstream user's claims. */
export function upstreamIdentity(
  claims: Record<string, unknown>,
  mapping: UpstreamMapping,
): UpstreamIdentity {
  const upstream = upstreamGroupsOf(claims, mapping.groupsClaim);
  const admins = new Set(mapping.adminGroups.map((g) => g.toLowerCase()));
  return {
    subject: String(claims.sub),
    username: usernameFrom(claims),
    displayName: (asText(claims.name) ?? asText(claims.email) ?? null)?.slice(0, 128) ?? null,
    groups: mapGroups(upstream, mapping.groupMap),
    ...(admins.size > 0
      ? { role: upstream.some((g) => admins.has(g.toLowerCase())) ? 'admin' : 'user' }
      : {}),
  };
}
