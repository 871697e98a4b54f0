import { UsageError } from '../errors';
import type { CommandDefinition } from './command';

interface RestoreOptions {
  region?: string;
  name?: string;
  database?: boolean;
}

export const restoreCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('restore')
      .description(
        'restore a `wavectl backup` archive into an empty --dir (wavectl.json, secrets into SSM); after `deploy`, --database loads the controller database',
      )
      .argument('<file>', 'the archive')
      .option('--region <region>', 'restore into this region instead of the archive’s')
      .option('--name <name>', 'restore under this deployment name (secrets move to /waveshift/<name>/)')
      .option('--database', 'in a restored and deployed directory: load the archive’s controller database')
      .action(
        run<RestoreOptions>(async (ctx, options, [file]) => {
          if (!file) throw new UsageError('restore needs the archive file');
          if (options.database) {
            if (options.region || options.name)
              throw new UsageError('--database goes without --region and --name');
            const { restoreDatabase, renderDatabaseRestore } = await import('../backup/restore');
            ctx.io.result(await restoreDatabase(ctx, file), renderDatabaseRestore);
            return;
          }
          const { restoreBackup, renderRestore } = await import('../backup/restore');
          ctx.io.result(
            await restoreBackup(ctx, file, { region: options.region, name: options.name }),
            renderRestore,
          );
        }),
      );
  },
};
