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
  dryRun?: boolean;
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
        '--dry-run',
        'with --add or --remove: print what would be added or removed, routed and (de)registered; change nothing',
      )
      .action(
        run<SitesOptions>(async (ctx, options) => {
          const action = oneAction('sites', options as Record<string, unknown>, [
            'add',
            'list',
            'show',
            'remove',
            'exportConfig',
          ]);
          if (options.includePrivateKey && action !== 'exportConfig') {
            throw new UsageError('--include-private-key goes with --export-config');
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
              await exportSiteConfig(ctx, site, options.includePrivateKey === true),
              (r) => r.config,
            );
          }
        }),
      );
  },
};
