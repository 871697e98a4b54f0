import {
  accessServerInterfaces,
  planSiteRoutes,
  type RouteChange,
  readSiteRoutes,
} from '../access-servers/routes';
import type { SiteRecord } from '../config/schema';
import type { Context } from '../context';
import { planAddSites } from './plan';

export interface AddSitesDryRun {
  mode: 'dry-run';
  /** Sites an earlier run left unregistered, which this run would finish. */
  finish: number[];
  add: { number: number; accessServer: number }[];
  /** Route changes in the deployment's route tables (unchanged routes left out). */
  routes: Exclude<RouteChange, { action: 'keep' }>[];
  /** Registration requests the controller would receive: the whole batch in one. */
  controllerRequests: number;
}

/** `sites --add N --dry-run`: the plan, from wavectl.json and read-only AWS calls; nothing changes. */
export async function planAddSitesDryRun(ctx: Context, count: number): Promise<AddSitesDryRun> {
  const config = await ctx.loadConfig();
  const plan = planAddSites(config, count, () => '(made when applied)');
  const changes = await siteRouteChanges(ctx, config.name, [...config.sites, ...plan.created]);
  return {
    mode: 'dry-run',
    finish: plan.unfinished.map((s) => s.number),
    add: plan.created.map((s) => ({ number: s.number, accessServer: s.accessServer })),
    routes: changes,
    controllerRequests: plan.unfinished.length + plan.created.length > 0 ? 1 : 0,
  };
}

/** The VPC route changes that would give `sites` their routes, from read-only AWS calls. */
export async function siteRouteChanges(
  ctx: Context,
  deployment: string,
  sites: readonly SiteRecord[],
): Promise<Exclude<RouteChange, { action: 'keep' }>[]> {
  const ec2 = await (await ctx.aws()).ec2();
  const { routeTableIds, routes } = await readSiteRoutes(ec2, deployment);
  const enis = await accessServerInterfaces(ec2, deployment);
  return planSiteRoutes(routeTableIds, routes, sites, enis).filter(
    (c): c is Exclude<RouteChange, { action: 'keep' }> => c.action !== 'keep',
  );
}

/** One line per route change, for dry-run renderings. */
export function renderRouteChange(r: Exclude<RouteChange, { action: 'keep' }>): string {
  return r.action === 'delete'
    ? `would delete route ${r.cidr} in ${r.routeTableId}`
    : `would ${r.action} route ${r.cidr} → ${r.networkInterfaceId} in ${r.routeTableId}`;
}

export function renderAddSitesDryRun(plan: AddSitesDryRun): string {
  const lines = [
    ...(plan.finish.length
      ? [`would finish sites ${plan.finish.join(', ')} (left unregistered earlier)`]
      : []),
    ...plan.add.map(
      (s) => `would add site ${s.number} (10.8.${s.number}.0/24) on access server ${s.accessServer}`,
    ),
    ...plan.routes.map(renderRouteChange),
    `the controller would receive ${plan.controllerRequests} registration request${plan.controllerRequests === 1 ? '' : 's'}`,
    'dry run: nothing was changed',
  ];
  return lines.join('\n');
}
