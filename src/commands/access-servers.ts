import { UsageError } from '../errors';
import type { CommandDefinition } from './command';
import { numberList, oneAction, wholeNumber } from './numbers';

interface AccessServersOptions {
  add?: string;
  list?: boolean;
  remove?: string;
  force?: boolean;
  instanceType?: string;
  dryRun?: boolean;
}

export const accessServersCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('access-servers')
      .description('add, list or remove the WireGuard access servers sites connect to')
      .option('--add <count>', 'launch this many access servers (instance type: instances.accessServer.type)')
      .option('--list', 'index, instance, public IP, public key, sites and tunnel health of each')
      .option(
        '--remove <list>',
        'terminate access servers, e.g. 3 or 1,4-5 (refused while they carry sites, unless --force; asks unless --yes)',
      )
      .option('--force', 'with --remove: move their sites to the other access servers first')
      .option(
        '--dry-run',
        'with --remove: print what would be deregistered, deleted and moved; change nothing',
      )
      .option(
        '--instance-type <type>',
        'with --add: instance type (default instances.accessServer.type, t3.micro)',
      )
      .action(
        run<AccessServersOptions>(async (ctx, options) => {
          const action = oneAction('access-servers', options as Record<string, unknown>, [
            'add',
            'list',
            'remove',
          ]);
          if (options.force && action !== 'remove') throw new UsageError('--force goes with --remove');
          if (options.dryRun && action !== 'remove') throw new UsageError('--dry-run goes with --remove');
          if (options.instanceType && action !== 'add')
            throw new UsageError('--instance-type goes with --add');
          if (action === 'add') {
            const { addAccessServers, renderAddAccessServers } = await import('../access-servers/add');
            ctx.io.result(
              await addAccessServers(ctx, wholeNumber('--add', options.add, 1, 64), {
                instanceType: options.instanceType,
              }),
              renderAddAccessServers,
            );
          } else if (action === 'list') {
            const { listAccessServers, renderAccessServerList } = await import('../access-servers/list');
            ctx.io.result(await listAccessServers(ctx), renderAccessServerList);
          } else {
            const remove = await import('../access-servers/remove');
            const indexes = numberList('--remove', String(options.remove), 0, 63, 'access server index');
            const force = options.force === true;
            if (options.dryRun) {
              ctx.io.result(
                await remove.planRemoveAccessServersDryRun(ctx, indexes, force),
                remove.renderRemoveAccessServersDryRun,
              );
            } else {
              ctx.io.result(
                await remove.removeAccessServers(ctx, indexes, force),
                remove.renderRemoveAccessServer,
              );
            }
          }
        }),
      );
  },
};
