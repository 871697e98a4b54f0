import type { Pool, PoolClient } from 'pg';

export type MembershipSource = 'local' | 'upstream';

/** The groups every user is in by role; they are no rows and cannot be made, removed or joined by hand. */
export const BUILT_IN_GROUPS = ['waveshift-users', 'waveshift-admins'] as const;

export const isBuiltInGroup = (name: string): boolean =>
  (BUILT_IN_GROUPS as readonly string[]).includes(name.toLowerCase());

/** Why a built-in group cannot be made, removed or joined (the API's 409 and the CLI's usage error say it). */
export const builtInGroupRefusal = (name: string): string =>
  `${name.toLowerCase()} is a built-in group that follows the role (every user is in waveshift-users, every admin also in waveshift-admins): it cannot be made, removed or joined by hand`;

export interface GroupMember {
  userId: number;
  username: string;
  source: MembershipSource;
}

export interface Group {
  id: number;
  name: string;
  description: string | null;
  createdAt: string;
  members: GroupMember[];
}

const SELECT_GROUPS = `
  select g.id, g.name, g.description, g.created_at,
         coalesce(json_agg(json_build_object('userId', u.id, 'username', u.username, 'source', m.source)
                  order by lower(u.username)) filter (where u.id is not null), '[]') as members
  from groups g
  left join group_members m on m.group_id = g.id
  left join users u on u.id = m.user_id`;

function toGroup(r: Record<string, unknown>): Group {
  return {
    id: Number(r.id),
    name: r.name as string,
    description: (r.description as string | null) ?? null,
    createdAt: (r.created_at as Date).toISOString(),
    members: (r.members as GroupMember[]).map((m) => ({ ...m, userId: Number(m.userId) })),
  };
}

export async function listGroups(db: Pool | PoolClient): Promise<Group[]> {
  const { rows } = await db.query(`${SELECT_GROUPS} group by g.id order by lower(g.name)`);
  return rows.map(toGroup);
}

/** Group names compare case-insensitively, as user names do. */
export async function findGroup(db: Pool | PoolClient, name: string): Promise<Group | undefined> {
  const { rows } = await db.query(`${SELECT_GROUPS} where lower(g.name) = lower($1) group by g.id`, [name]);
  return rows[0] ? toGroup(rows[0]) : undefined;
}

export async function getGroup(db: Pool | PoolClient, id: number): Promise<Group | undefined> {
  const { rows } = await db.query(`${SELECT_GROUPS} where g.id = $1 group by g.id`, [id]);
  return rows[0] ? toGroup(rows[0]) : undefined;
}

/** Undefined when a group of that name exists already. */
export async function createGroup(
  db: PoolClient,
  group: { name: string; description: string | null },
): Promise<Group | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `insert into groups (name, description) values ($1, $2)
     on conflict (lower(name)) do nothing returning id`,
    [group.name, group.description],
  );
  return rows[0] ? getGroup(db, Number(rows[0].id)) : undefined;
}

export async function deleteGroup(db: PoolClient, id: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from groups where id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

/** False when the user was a member already (an upstream membership becomes a local one). */
export async function addMember(db: PoolClient, groupId: number, userId: number): Promise<boolean> {
  const { rows } = await db.query<{ inserted: boolean }>(
    `insert into group_members (group_id, user_id, source) values ($1, $2, 'local')
     on conflict (group_id, user_id) do update set source = 'local'
     returning (xmax = 0) as inserted`,
    [groupId, userId],
  );
  return rows[0]!.inserted;
}

export async function removeMember(db: PoolClient, groupId: number, userId: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from group_members where group_id = $1 and user_id = $2', [
    groupId,
    userId,
  ]);
  return (rowCount ?? 0) > 0;
}

/** The names of the group rows a user is in (built-in groups not included), sorted. */
export async function groupNamesOf(db: Pool | PoolClient, userId: number): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `select g.name from group_members m join groups g on g.id = m.group_id
     where m.user_id = $1 order by lower(g.name)`,
    [userId],
  );
  return rows.map((r) => r.name);
}

/**
 * Makes a user's upstream memberships exactly the existing groups named (case-insensitively); local
 * memberships stay. Returns the names that match no group, for the caller to report.
 */
export async function replaceUpstreamMemberships(
  db: PoolClient,
  userId: number,
  names: readonly string[],
): Promise<string[]> {
  await db.query(`delete from group_members where user_id = $1 and source = 'upstream'`, [userId]);
  await db.query(
    `insert into group_members (group_id, user_id, source)
     select g.id, $1, 'upstream' from groups g where lower(g.name) = any($2::text[])
     on conflict (group_id, user_id) do nothing`,
    [userId, names.map((n) => n.toLowerCase())],
  );
  const matched = new Set((await groupNamesOf(db, userId)).map((n) => n.toLowerCase()));
  return names.filter((n) => !matched.has(n.toLowerCase()));
}
