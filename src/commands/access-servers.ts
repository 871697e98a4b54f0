import { UsageError } from '../errors';
import type { CommandDefinition } from './command';
import { oneAction, wholeNumber } from './numbers';

interface AccessServersOptions {
  add?: string;
  list?: boolean;
  remove?: string;
  force?: boolean;
  instanceType?: string;
}

export const accessServersCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('access-servers')
      .description('add, list or remove the WireGuard access servers sites connect to')
      .option('--add <count>', 'launch this many access servers (instance type: instances.accessServer.type)')
      .option('--list', 'index, instance, public IP, public key, sites and tunnel health of each')
      .option(
        '--remove <index>',
        'terminate access server K (refused while it carries sites, unless --force)',
      )
      .option('--force', 'with --remove: move its sites to the other access servers first')
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
            const { removeAccessServer, renderRemoveAccessServer } = await import('../access-servers/remove');
            const index = wholeNumber('--remove', options.remove, 0, 63);
            ctx.io.result(
              await removeAccessServer(ctx, index, options.force === true),
              renderRemoveAccessServer,
            );
          }
        }),
      );
  },
};
