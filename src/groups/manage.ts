import type { Context } from '../context';
import { builtInGroupRefusal, isBuiltInGroup } from '../controller/repositories/groups';
import { groupNameSchema } from '../controller/schemas/groups';
import type { ControllerClient } from '../controller-client/client';
import { connectController } from '../controller-client/connect';
import type { Group } from '../controller-client/group-types';
import { UsageError } from '../errors';
import { renderTable } from '../io/output';
import { findUser } from '../users/manage';
import { giveKasmGroup, type KasmGroupOutcome, kasmRetry } from './kasm-group';

export interface GroupResult {
  action: 'added' | 'shown' | 'removed' | 'member-added' | 'member-removed' | 'kasm';
  group: Group;
  /** The user a membership command named, and whether the command changed anything. */
  member?: { username: string; changed: boolean };
  /** What `add` did to Kasm's group of that name, and that `remove` left it. */
  kasm?: KasmGroupOutcome;
}

async function find(controller: ControllerClient, name: string): Promise<Group> {
  if (isBuiltInGroup(name)) throw new UsageError(builtInGroupRefusal(name));
  const group = (await controller.listGroups()).find((g) => g.name.toLowerCase() === name.toLowerCase());
  if (!group) throw new UsageError(`no group ${name} (see \`wavectl groups list\`)`);
  return group;
}

export async function listGroups(ctx: Context): Promise<{ groups: Group[] }> {
  return { groups: await (await connectController(ctx)).listGroups() };
}

export async function showGroup(ctx: Context, name: string): Promise<GroupResult> {
  return { action: 'shown', group: await find(await connectController(ctx), name) };
}

export async function addGroup(
  ctx: Context,
  input: { name: string; description?: string; kasm: boolean },
): Promise<GroupResult> {
  if (isBuiltInGroup(input.name)) throw new UsageError(builtInGroupRefusal(input.name));
  if (
    input.name.length > groupNameSchema.maxLength ||
    !new RegExp(groupNameSchema.pattern).test(input.name)
  ) {
    throw new UsageError(
      `a group name has 1 to ${groupNameSchema.maxLength} letters, digits, '.', '_', '@' or '-', not ${JSON.stringify(input.name)}`,
    );
  }
  const group = await (await connectController(ctx)).createGroup({
    name: input.name,
    description: input.description ?? null,
  });
  // The controller's group first: Kasm's is an extra that may fail, and its outcome is reported.
  const kasm: KasmGroupOutcome = input.kasm
    ? await giveKasmGroup(ctx, group)
    : { state: 'skipped', detail: `--no-kasm: Kasm was not changed; ${kasmRetry(group.name)}` };
  return { action: 'added', group, kasm };
}

const KASM_GROUP_LEFT = (name: string): KasmGroupOutcome => ({
  state: 'left',
  detail: `Kasm's group ${name}, if any, is left as it is (removing it would drop what was configured for it in Kasm); its members lose it at their next sign-in; remove it in Kasm's admin UI if it is not wanted`,
});

/** Gives Kasm an existing group (again): after `--no-kasm`, a failure, or a group made before deploy. */
export async function giveGroupToKasm(ctx: Context, name: string): Promise<GroupResult> {
  const group = await find(await connectController(ctx), name);
  return { action: 'kasm', group, kasm: await giveKasmGroup(ctx, group) };
}

/** Removing a group ends its members' sessions and refresh tokens (the controller does it). */
export async function removeGroup(ctx: Context, name: string): Promise<GroupResult> {
  const controller = await connectController(ctx);
  const group = await find(controller, name);
  const members = group.members.length;
  await ctx.confirm(
    `Remove group ${group.name}${members > 0 ? ` and end the sessions of its ${members} member${members === 1 ? '' : 's'}` : ''}?`,
    group.name,
    `remove group ${group.name}`,
  );
  await controller.deleteGroup(group.id);
  return { action: 'removed', group, kasm: KASM_GROUP_LEFT(group.name) };
}

/**
 * Adds a user to a group, or takes them out; taking out ends the user's sessions and refresh tokens, so
 * that Kasm loses the group at once. Adding reaches Kasm at the user's next sign-in.
 */
export async function setMember(
  ctx: Context,
  groupName: string,
  username: string,
  member: boolean,
): Promise<GroupResult> {
  const controller = await connectController(ctx);
  const [group, user] = await Promise.all([find(controller, groupName), findUser(controller, username)]);
  const { group: changed, changed: didChange } = await controller.setMember(group.id, user.id, member);
  return {
    action: member ? 'member-added' : 'member-removed',
    group: changed,
    member: { username: user.username, changed: didChange },
  };
}

const memberNames = (group: Group): string =>
  group.members.map((m) => (m.source === 'upstream' ? `${m.username} (upstream)` : m.username)).join(', ');

const BUILT_IN_NOTE =
  'Built in, following the role: waveshift-users (every user) and waveshift-admins (admins).';

export function renderGroupList(result: { groups: Group[] }): string {
  if (result.groups.length === 0) {
    return `No groups. Add one with \`wavectl groups add <name>\`.\n${BUILT_IN_NOTE}`;
  }
  const table = renderTable(
    ['group', 'description', 'members'],
    result.groups.map((g) => [g.name, g.description ?? '', memberNames(g)]),
  );
  return `${table}\n${BUILT_IN_NOTE}`;
}

export function renderGroupResult(result: GroupResult): string {
  const g = result.group;
  const who = result.member?.username;
  switch (result.action) {
    case 'shown':
      return [
        `${g.name}${g.description ? ` (${g.description})` : ''}, created ${g.createdAt}`,
        g.members.length === 0
          ? 'No members.'
          : renderTable(
              ['member', 'granted by'],
              g.members.map((m) => [m.username, m.source === 'upstream' ? 'upstream provider' : 'operator']),
            ),
      ].join('\n');
    case 'added':
      return `Group ${g.name} added.${result.kasm ? `\nKasm: ${result.kasm.state}: ${result.kasm.detail}.` : ''}`;
    case 'removed':
      return `Group ${g.name} removed.${g.members.length > 0 ? ' Its members’ sessions and refresh tokens are ended.' : ''}${result.kasm ? `\nKasm: ${result.kasm.detail}.` : ''}`;
    case 'kasm':
      return `Kasm: ${result.kasm?.state}: ${result.kasm?.detail}.`;
    case 'member-added':
      return result.member?.changed
        ? `${who} added to ${g.name}; Kasm sees it at their next sign-in.`
        : `${who} is in ${g.name} already.`;
    case 'member-removed':
      return result.member?.changed
        ? `${who} removed from ${g.name}; their sessions and refresh tokens are ended.`
        : `${who} is not in ${g.name}.`;
  }
}
