import { UsageError } from '../errors';
import type { CommandDefinition } from './command';
import { numberList, oneAction, wholeNumber } from './numbers';

interface SitesOptions {
  add?: string;
  list?: boolean;
  show?: string;
  remove?: string;
  exportConfig?: string;
  includePrivateKey?: boolean;
  mtu?: string;
  dryRun?: boolean;
  set?: string;
  offlineAfter?: string;
}

export const sitesCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('sites')
      .description('add, list, show, remove sites (10.8.N.0/24 each), or print a site’s WireGuard config')
      .option('--add <count>', 'add this many sites, numbered from the lowest free numbers')
      .option('--list', 'list the sites and whether the controller has accepted them')
      .option('--show <site>', 'everything a technician needs on site N')
      .option(
        '--remove <list>',
        'deregister sites, e.g. 3 or 3,5-7, remove their peers and secrets; their numbers become free (asks unless --yes)',
      )
      .option('--export-config <site>', 'print site N’s WireGuard configuration (wg-quick format)')
      .option('--include-private-key', 'with --export-config: include the private key (read from SSM)')
      .option(
        '--mtu <bytes>',
        'with --export-config: tunnel MTU, the WAN MTU less 80 (default 1420 for a 1500-byte WAN; e.g. 1412 on PPPoE)',
      )
      .option(
        '--dry-run',
        'with --add or --remove: print what would be added or removed, routed and (de)registered; change nothing',
      )
      .option('--set <site>', 'change a setting of site N on the controller (with --offline-after)')
      .option(
        '--offline-after <scans|default>',
        "with --set: a device is offline after this many missed scans in a row (1-1000), or the controller's default",
      )
      .action(
        run<SitesOptions>(async (ctx, options) => {
          const action = oneAction('sites', options as Record<string, unknown>, [
            'add',
            'list',
            'show',
            'remove',
            'exportConfig',
            'set',
          ]);
          if ((options.offlineAfter !== undefined) !== (action === 'set')) {
            throw new UsageError('--set N goes with --offline-after <scans|default>');
          }
          if (options.includePrivateKey && action !== 'exportConfig') {
            throw new UsageError('--include-private-key goes with --export-config');
          }
          if (options.mtu !== undefined && action !== 'exportConfig') {
            throw new UsageError('--mtu goes with --export-config');
          }
          if (options.dryRun && action !== 'add' && action !== 'remove')
            throw new UsageError('--dry-run goes with --add or --remove');
          if (action === 'add' && options.dryRun) {
            const { planAddSitesDryRun, renderAddSitesDryRun } = await import('../sites/dry-run');
            ctx.io.result(
              await planAddSitesDryRun(ctx, wholeNumber('--add', options.add, 1, 256)),
              renderAddSitesDryRun,
            );
          } else if (action === 'add') {
            const { addSites, renderAddSites } = await import('../sites/add');
            ctx.io.result(await addSites(ctx, wholeNumber('--add', options.add, 1, 256)), renderAddSites);
          } else if (action === 'set') {
            const { setSiteOfflineAfter, renderOfflineAfter } = await import('../sites/offline-after');
            const site = wholeNumber('--set', options.set, 0, 255);
            const scans =
              options.offlineAfter === 'default'
                ? null
                : wholeNumber('--offline-after', options.offlineAfter, 1, 1000);
            ctx.io.result(await setSiteOfflineAfter(ctx, site, scans), renderOfflineAfter);
          } else if (action === 'list') {
            const { listSites, renderSiteList } = await import('../sites/show');
            ctx.io.result(await listSites(ctx), renderSiteList);
          } else if (action === 'show') {
            const { showSite, renderSiteDetail } = await import('../sites/show');
            ctx.io.result(await showSite(ctx, wholeNumber('--show', options.show, 0, 255)), renderSiteDetail);
          } else if (action === 'remove') {
            const remove = await import('../sites/remove');
            const numbers = numberList('--remove', String(options.remove), 0, 255, 'site number');
            if (options.dryRun) {
              ctx.io.result(await remove.planRemoveSitesDryRun(ctx, numbers), remove.renderRemoveSitesDryRun);
            } else {
              ctx.io.result(await remove.removeSites(ctx, numbers), remove.renderRemoveSites);
            }
          } else {
            const { exportSiteConfig } = await import('../sites/show');
            const site = wholeNumber('--export-config', options.exportConfig, 0, 255);
            ctx.io.result(
              await exportSiteConfig(
                ctx,
                site,
                options.includePrivateKey === true,
                options.mtu === undefined ? undefined : wholeNumber('--mtu', options.mtu, 1280, 1500),
              ),
              (r) => r.config,
            );
          }
        }),
      );
  },
};
