import { UsageError } from '../errors';
import type { CommandDefinition } from './command';

interface BackupOptions {
  out?: string;
  verify?: string;
}

export const backupCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('backup')
      .description(
        'one encrypted archive of wavectl.json, every secret in SSM and the controller database (passphrase: WAVECTL_BACKUP_PASSPHRASE or a prompt)',
      )
      .option(
        '--out <file>',
        'where to write the archive (default wavectl-backup-<name>-<region>-<time>.wsb)',
      )
      .option('--verify <file>', 'decrypt and check an archive without restoring anything')
      .action(
        run<BackupOptions>(async (ctx, options) => {
          if (options.verify !== undefined) {
            if (options.out !== undefined) throw new UsageError('--out and --verify do not go together');
            const { verifyBackup } = await import('../backup/restore');
            const { renderManifest } = await import('../backup/backup');
            ctx.io.result(await verifyBackup(ctx, options.verify), (r) =>
              [`${r.file}: valid`, ...renderManifest(r.manifest)].join('\n'),
            );
            return;
          }
          const { createBackup, renderBackup } = await import('../backup/backup');
          ctx.io.result(await createBackup(ctx, { out: options.out }), renderBackup);
        }),
      );
  },
};
