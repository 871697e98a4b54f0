import { WavectlError } from '../errors';
import type { GroupResult } from '../groups/manage';
import type { CommandDefinition } from './command';

/** The operator asked for a group Kasm can use: a refusal on a real host is exit 1 (the group is kept). */
function failWhenKasmFailed(result: GroupResult, what: string): void {
  if (result.kasm?.state !== 'failed') return;
  throw new WavectlError(`${what} Kasm was not given it: ${result.kasm.detail}`);
}

export const groupsCommand: CommandDefinition = {
  register(program, run) {
    const groups = program
      .command('groups')
      .description(
        'the groups Kasm receives in the groups claim, beside the built-in ones that follow the role',
      );
    groups
      .command('list')
      .description('every group and its members')
      .action(
        run(async (ctx) => {
          const { listGroups, renderGroupList } = await import('../groups/manage');
          ctx.io.result(await listGroups(ctx), renderGroupList);
        }),
      );
    groups
      .command('show <name>')
      .description('one group and its members')
      .action(
        run(async (ctx, _options, [name]) => {
          const { showGroup, renderGroupResult } = await import('../groups/manage');
          ctx.io.result(await showGroup(ctx, String(name)), renderGroupResult);
        }),
      );
    groups
      .command('add <name>')
      .description(
        'make a group, and on the deployment’s Kasm host a Kasm group of that name mapped from it (no permissions: what it may launch is set in Kasm); exit 1 when Kasm refused, the group kept',
      )
      .option('--description <text>', 'what the group is for')
      .option('--no-kasm', 'make no Kasm group')
      .action(
        run<{ description?: string; kasm: boolean }>(async (ctx, options, [name]) => {
          const { addGroup, renderGroupResult } = await import('../groups/manage');
          const result = await addGroup(ctx, {
            name: String(name),
            description: options.description,
            kasm: options.kasm,
          });
          ctx.io.result(result, renderGroupResult);
          failWhenKasmFailed(result, `group ${result.group.name} was added to the controller, but`);
        }),
      );
    groups
      .command('kasm <name>')
      .description(
        'give the deployment’s Kasm host a group of that name mapped from it (again): after --no-kasm, a failure, or a group made before deploy',
      )
      .action(
        run(async (ctx, _options, [name]) => {
          const { giveGroupToKasm, renderGroupResult } = await import('../groups/manage');
          const result = await giveGroupToKasm(ctx, String(name));
          ctx.io.result(result, renderGroupResult);
          failWhenKasmFailed(result, `group ${result.group.name}:`);
        }),
      );
    groups
      .command('remove <name>')
      .description(
        'remove a group and end its members’ sessions (asks to type the name; --yes skips); Kasm’s group of that name is left',
      )
      .action(
        run(async (ctx, _options, [name]) => {
          const { removeGroup, renderGroupResult } = await import('../groups/manage');
          ctx.io.result(await removeGroup(ctx, String(name)), renderGroupResult);
        }),
      );
    for (const [command, member, what] of [
      ['add-member', true, 'add a user to a group (Kasm sees it at their next sign-in)'],
      ['remove-member', false, 'take a user out of a group and end their sessions and refresh tokens'],
    ] as const) {
      groups
        .command(`${command} <group> <username>`)
        .description(what)
        .action(
          run(async (ctx, _options, [group, username]) => {
            const { setMember, renderGroupResult } = await import('../groups/manage');
            ctx.io.result(await setMember(ctx, String(group), String(username), member), renderGroupResult);
          }),
        );
    }
  },
};
