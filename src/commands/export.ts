import { UsageError } from '../errors';
import type { CommandDefinition } from './command';

interface ExportOptions {
  sites?: boolean;
  users?: boolean;
  devices?: boolean;
  csv?: boolean;
  out?: string;
}

export const exportCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('export')
      .description('sites, users and devices as CSV (--csv) or JSON (--json), on stdout or into --out DIR')
      .option('--sites', 'the sites: wavectl.json joined with the controller’s registrations')
      .option('--users', 'the controller’s users (no password hashes)')
      .option('--devices', 'the device inventory')
      .option('--csv', 'CSV (RFC 4180) instead of a table')
      .option('--out <dir>', 'write <kind>.csv or <kind>.json files there instead of stdout')
      .action(
        run<ExportOptions>(async (ctx, options) => {
          const { EXPORT_KINDS, collectExport, exportCsv, renderExport, writeExport } = await import(
            '../export/export'
          );
          const kinds = EXPORT_KINDS.filter((k) => options[k] === true);
          if (kinds.length === 0)
            throw new UsageError('export needs at least one of --sites, --users, --devices');
          if (options.csv && ctx.options.json) throw new UsageError('choose one format: --csv or --json');
          if (options.csv && kinds.length > 1 && !options.out) {
            throw new UsageError(
              'CSV holds one table: export one kind at a time to stdout, or several with --out DIR',
            );
          }
          const data = await collectExport(ctx, kinds);
          if (options.out) {
            const files = await writeExport(options.out, kinds, data, options.csv ? 'csv' : 'json');
            ctx.io.result({ files }, (r) => r.files.map((f) => `wrote ${f}`).join('\n'));
            return;
          }
          ctx.io.result(data, (d) => (options.csv ? exportCsv(kinds[0]!, d) : renderExport(kinds, d)));
        }),
      );
  },
};
