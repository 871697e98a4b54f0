import { UsageError } from '../errors';
import type { PasswordSource } from '../users/password-source';
import type { CommandDefinition } from './command';

interface PasswordOptions {
  passwordStdin?: boolean;
  generatePassword?: boolean;
}

function passwordSource(options: PasswordOptions): PasswordSource {
  if (options.passwordStdin && options.generatePassword) {
    throw new UsageError('--password-stdin and --generate-password exclude each other');
  }
  return options.passwordStdin ? 'stdin' : options.generatePassword ? 'generate' : 'prompt';
}

const ROLES = ['admin', 'user'] as const;

export const usersCommand: CommandDefinition = {
  register(program, run) {
    const users = program
      .command('users')
      .description('the people who sign in to Kasm with Waveshift (kept by the controller)');
    const withPassword = (command: ReturnType<typeof users.command>) =>
      command
        .option('--password-stdin', 'read the password from stdin (never give it as an argument)')
        .option('--generate-password', 'generate a password and show it once');

    withPassword(users.command('add <username>').description('add a user (password prompted by default)'))
      .option('--role <role>', 'admin or user', 'user')
      .option('--display-name <name>', 'the name Kasm shows')
      .action(
        run<PasswordOptions & { role: string; displayName?: string }>(async (ctx, options, [username]) => {
          if (!ROLES.includes(options.role as (typeof ROLES)[number])) {
            throw new UsageError(`--role must be admin or user, not "${options.role}"`);
          }
          const { addUser, renderUserResult } = await import('../users/manage');
          ctx.io.result(
            await addUser(ctx, {
              username: String(username),
              role: options.role as (typeof ROLES)[number],
              displayName: options.displayName,
              passwordSource: passwordSource(options),
            }),
            renderUserResult,
          );
        }),
      );
    users
      .command('list')
      .description('every user, role and state')
      .action(
        run(async (ctx) => {
          const { listUsers, renderUserList } = await import('../users/manage');
          ctx.io.result(await listUsers(ctx), renderUserList);
        }),
      );
    users
      .command('show <username>')
      .description('one user')
      .action(
        run(async (ctx, _options, [username]) => {
          const { showUser, renderUserResult } = await import('../users/manage');
          ctx.io.result(await showUser(ctx, String(username)), renderUserResult);
        }),
      );
    for (const [name, disabled, what] of [
      ['disable', true, 'disable a user and end their sessions and refresh tokens'],
      ['enable', false, 'let a disabled user sign in again'],
    ] as const) {
      users
        .command(`${name} <username>`)
        .description(what)
        .action(
          run(async (ctx, _options, [username]) => {
            const { setDisabled, renderUserResult } = await import('../users/manage');
            ctx.io.result(await setDisabled(ctx, String(username), disabled), renderUserResult);
          }),
        );
    }
    users
      .command('remove <username>')
      .description('remove a user (asks to type the name; --yes skips)')
      .action(
        run(async (ctx, _options, [username]) => {
          const { removeUser, renderUserResult } = await import('../users/manage');
          ctx.io.result(await removeUser(ctx, String(username)), renderUserResult);
        }),
      );
    const totp = users
      .command('totp')
      .description('a second sign-in step: a code from an authenticator app (RFC 6238 TOTP)');
    totp
      .command('enable <username>')
      .description('make a TOTP secret for a user and show it once, to add to their authenticator app')
      .action(
        run(async (ctx, _options, [username]) => {
          const { enableTotp, renderUserResult } = await import('../users/manage');
          ctx.io.result(await enableTotp(ctx, String(username)), renderUserResult);
        }),
      );
    totp
      .command('disable <username>')
      .description('turn TOTP off for a user (asks to type the name; --yes skips)')
      .action(
        run(async (ctx, _options, [username]) => {
          const { disableTotp, renderUserResult } = await import('../users/manage');
          ctx.io.result(await disableTotp(ctx, String(username)), renderUserResult);
        }),
      );
    withPassword(
      users.command('reset-password <username>').description('set a new password; ends the user’s sessions'),
    ).action(
      run<PasswordOptions>(async (ctx, options, [username]) => {
        const { resetPassword, renderUserResult } = await import('../users/manage');
        ctx.io.result(await resetPassword(ctx, String(username), passwordSource(options)), renderUserResult);
      }),
    );
  },
};
