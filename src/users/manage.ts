import type { Context } from '../context';
import { sealingKeyPair } from '../controller/auth/sealed-box';
import { groupsOf } from '../controller/oidc/claims';
import type { ControllerClient } from '../controller-client/client';
import { connectController } from '../controller-client/connect';
import type { User } from '../controller-client/user-types';
import { ControllerError, UsageError } from '../errors';
import { renderTable } from '../io/output';
import { obtainPassword, type PasswordSource } from './password-source';

export interface UserResult {
  action:
    | 'added'
    | 'shown'
    | 'disabled'
    | 'enabled'
    | 'removed'
    | 'password-reset'
    | 'totp-enabled'
    | 'totp-disabled';
  user: User;
  /**
   * `users show` only: the groups Kasm receives in the groups claim at the user's next sign-in, built-in
   * ones (which follow the role) included.
   */
  groups?: string[];
  /** Only when wavectl generated the password: shown this once, never stored. */
  generatedPassword?: string;
  /** Only when TOTP was just turned on: the authenticator's enrolment, shown this once, never stored. */
  totp?: { uri: string; secret: string };
}

function requireConfidential(controller: ControllerClient): void {
  if (!controller.transport.confidential) {
    throw new ControllerError(
      `a password cannot travel through ${controller.transport.description}: SSM keeps command parameters in its history. Set controller.url (https://waveshift.internal over the VPN, with the deployment CA) and run this again`,
    );
  }
}

export async function findUser(controller: ControllerClient, username: string): Promise<User> {
  const users = await controller.listUsers();
  const user = users.find((u) => u.username.toLowerCase() === username.toLowerCase());
  if (!user) throw new UsageError(`no user ${username} (see \`wavectl users list\`)`);
  return user;
}

export async function listUsers(ctx: Context): Promise<{ users: User[] }> {
  return { users: await (await connectController(ctx)).listUsers() };
}

export async function showUser(ctx: Context, username: string): Promise<UserResult> {
  const controller = await connectController(ctx);
  const [user, groups] = await Promise.all([findUser(controller, username), controller.listGroups()]);
  const memberOf = groups.filter((g) => g.members.some((m) => m.userId === user.id)).map((g) => g.name);
  return { action: 'shown', user, groups: groupsOf(user, memberOf) };
}

export async function addUser(
  ctx: Context,
  input: { username: string; role: User['role']; displayName?: string; passwordSource: PasswordSource },
): Promise<UserResult> {
  const controller = await connectController(ctx);
  requireConfidential(controller);
  const { password, generated } = await obtainPassword(ctx, input.passwordSource);
  const user = await controller.createUser({
    username: input.username,
    password,
    role: input.role,
    displayName: input.displayName ?? null,
  });
  return { action: 'added', user, ...(generated ? { generatedPassword: password } : {}) };
}

export async function resetPassword(
  ctx: Context,
  username: string,
  passwordSource: PasswordSource,
): Promise<UserResult> {
  const controller = await connectController(ctx);
  requireConfidential(controller);
  const user = await findUser(controller, username);
  const { password, generated } = await obtainPassword(ctx, passwordSource);
  const changed = await controller.updateUser(user.id, { password });
  return { action: 'password-reset', user: changed, ...(generated ? { generatedPassword: password } : {}) };
}

/** Disabling ends the user's sessions, sign-ins and refresh tokens (the controller does it in one transaction). */
export async function setDisabled(ctx: Context, username: string, disabled: boolean): Promise<UserResult> {
  const controller = await connectController(ctx);
  const user = await findUser(controller, username);
  const changed = await controller.updateUser(user.id, { disabled });
  return { action: disabled ? 'disabled' : 'enabled', user: changed };
}

export async function removeUser(ctx: Context, username: string): Promise<UserResult> {
  const controller = await connectController(ctx);
  const user = await findUser(controller, username);
  await ctx.confirm(
    `Remove user ${user.username} and end their sessions?`,
    user.username,
    `remove user ${user.username}`,
  );
  await controller.deleteUser(user.id);
  return { action: 'removed', user };
}

/**
 * Turns TOTP on. The controller seals the new secret to a key pair made here for this call alone, so it
 * can travel through the SSM relay (whose output AWS keeps) as safely as over HTTPS.
 */
export async function enableTotp(ctx: Context, username: string): Promise<UserResult> {
  const controller = await connectController(ctx);
  const user = await findUser(controller, username);
  const keys = sealingKeyPair();
  const { user: changed, sealed } = await controller.enableTotp(user.id, keys.publicKey);
  const opened = keys.open(sealed);
  if (opened === undefined) {
    throw new ControllerError(
      `the controller's TOTP enrolment for ${user.username} could not be opened: turn TOTP off and on again (\`wavectl users totp disable ${user.username}\`)`,
    );
  }
  const { uri, secret } = JSON.parse(opened) as { uri: string; secret: string };
  return { action: 'totp-enabled', user: changed, totp: { uri, secret } };
}

export async function disableTotp(ctx: Context, username: string): Promise<UserResult> {
  const controller = await connectController(ctx);
  const user = await findUser(controller, username);
  await ctx.confirm(
    `Turn TOTP off for ${user.username}? Their password alone will sign them in.`,
    user.username,
    `turn TOTP off for ${user.username}`,
  );
  return { action: 'totp-disabled', user: await controller.disableTotp(user.id) };
}

export function renderUserList(result: { users: User[] }): string {
  if (result.users.length === 0) return 'No users. Add one with `wavectl users add <name>`.';
  return renderTable(
    ['user', 'name', 'role', 'state', 'totp', 'created'],
    result.users.map((u) => [
      u.username,
      u.displayName ?? '',
      u.role,
      u.disabled ? 'disabled' : 'active',
      u.totp ? 'on' : 'off',
      u.createdAt,
    ]),
  );
}

const ACTION_TEXT: Record<UserResult['action'], string> = {
  added: 'added',
  shown: 'shown',
  disabled: 'disabled',
  enabled: 'enabled',
  removed: 'removed',
  'password-reset': 'password reset',
  'totp-enabled': 'now gives a TOTP code after the password',
  'totp-disabled': 'signs in with the password alone again (TOTP off)',
};

export function renderUserResult(result: UserResult): string {
  const u = result.user;
  const lines = [
    result.action === 'shown'
      ? `${u.username}: ${u.role}, ${u.disabled ? 'disabled' : 'active'}, TOTP ${u.totp ? 'on' : 'off'}${u.displayName ? ` (${u.displayName})` : ''}, created ${u.createdAt}, changed ${u.updatedAt}`
      : `User ${u.username} ${ACTION_TEXT[result.action]}.`,
  ];
  if (result.groups) lines.push(`Groups: ${result.groups.join(', ')}`);
  if (result.action === 'disabled') lines.push('Their sessions, sign-ins and refresh tokens are ended.');
  if (result.totp) {
    lines.push(
      'Add it to the user’s authenticator app (shown once, not stored anywhere by wavectl):',
      `  ${result.totp.uri}`,
      `  secret: ${result.totp.secret}`,
    );
  }
  if (result.generatedPassword) {
    lines.push(`Password (shown once, not stored anywhere by wavectl): ${result.generatedPassword}`);
  }
  return lines.join('\n');
}
