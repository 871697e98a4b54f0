import type { DevicesOptions } from '../devices/selection';
import { UsageError } from '../errors';
import type { CommandDefinition } from './command';
import { flagOf } from './numbers';

export const devicesCommand: CommandDefinition = {
  register(program, run) {
    const devices = program
      .command('devices')
      .description("the region's device inventory from the controller: a table, --json or --csv")
      .option('--site <n>', 'devices of site N')
      .option('--sites <list>', 'devices of several sites, e.g. 0-9,12')
      .option('--online', 'only devices online now')
      .option('--offline', 'only devices offline now (missed the site’s offline-after scans in a row)')
      .option('--new-since <window>', 'devices first seen (on any site) in this window: 30m, 24h, 7d')
      .option('--mac <mac>', 'the device with this MAC')
      .option('--csv', 'CSV on stdout, for spreadsheets and scripts')
      .action(
        run<DevicesOptions>(async (ctx, options) => {
          if (options.csv && ctx.options.json) throw new UsageError('--csv and --json exclude each other');
          const { deviceSelection } = await import('../devices/selection');
          const selection = deviceSelection(options, new Date());
          const { listDevices } = await import('../devices/list');
          const { renderDeviceCsv, renderDeviceTable } = await import('../devices/render');
          const list = await listDevices(ctx, selection);
          ctx.io.result(list, (l) =>
            options.csv ? renderDeviceCsv(l.devices) : renderDeviceTable(l.devices),
          );
        }),
      );
    devices
      .command('watch')
      .description(
        'print new, missing, returning and moved devices as the controller records them, until Ctrl-C (exit 0); needs controller.url',
      )
      .action(
        run(async (ctx) => {
          // Options written after `watch` belong to `devices` (commander's default): read them there.
          const options = devices.opts<DevicesOptions>();
          const refused = (['online', 'offline', 'newSince', 'csv'] as const).filter(
            (o) => options[o] !== undefined,
          );
          if (refused.length > 0) {
            throw new UsageError(
              `devices watch takes --site, --sites and --mac only, not ${flagOf(refused[0]!)}`,
            );
          }
          const { deviceSelection } = await import('../devices/selection');
          const selection = deviceSelection(options, new Date());
          const { watchDevices } = await import('../devices/watch');
          const { interruptSignal } = await import('../io/interruptible-wait');
          const interrupt = interruptSignal();
          try {
            const summary = await watchDevices(ctx, selection, interrupt.signal);
            ctx.io.info(`stopped: ${summary.events} event(s)`);
          } finally {
            interrupt.release();
          }
        }),
      );
  },
};
