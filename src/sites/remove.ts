import { parameterNames } from '../aws/naming';
import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import { UsageError } from '../errors';
import { finishSites } from './add';
import { renderRouteChange, siteRouteChanges } from './dry-run';
import { deleteSecrets } from './parameters';

export interface SiteRemovalPlan {
  sites: number[];
  /** SSM parameters (names, never values) that would be deleted. */
  ssmParameters: string[];
  /** Access servers whose peer list loses these sites. */
  accessServers: number[];
  remaining: SiteRecord[];
}

/** Pure: what removing `numbers` does; every number must be a recorded site. */
export function planSiteRemoval(
  config: Pick<WavectlConfig, 'name' | 'sites'>,
  numbers: readonly number[],
): SiteRemovalPlan {
  const unknown = numbers.filter((n) => !config.sites.some((s) => s.number === n));
  if (unknown.length > 0) {
    throw new UsageError(
      `there is no site ${unknown.join(', ')}; see \`wavectl sites --list\`; nothing was changed`,
    );
  }
  const removing = new Set(numbers);
  const names = parameterNames(config.name);
  const leaving = config.sites.filter((s) => removing.has(s.number));
  return {
    sites: [...numbers],
    ssmParameters: numbers.flatMap((n) => [names.sitePrivateKey(n), names.siteScannerKey(n)]),
    accessServers: [...new Set(leaving.map((s) => s.accessServer))].sort((a, b) => a - b),
    remaining: config.sites.filter((s) => !removing.has(s.number)),
  };
}

export interface RemoveSitesDryRun {
  mode: 'dry-run';
  deregister: number[];
  ssmParameters: string[];
  accessServers: number[];
  routes: Awaited<ReturnType<typeof siteRouteChanges>>;
}

/** `sites --remove LIST --dry-run`: the plan, from wavectl.json and read-only AWS calls. */
export async function planRemoveSitesDryRun(
  ctx: Context,
  numbers: readonly number[],
): Promise<RemoveSitesDryRun> {
  const config = await ctx.loadConfig();
  const plan = planSiteRemoval(config, numbers);
  return {
    mode: 'dry-run',
    deregister: plan.sites,
    ssmParameters: plan.ssmParameters,
    accessServers: plan.accessServers,
    routes: await siteRouteChanges(ctx, config.name, plan.remaining),
  };
}

export function renderRemoveSitesDryRun(plan: RemoveSitesDryRun): string {
  return [
    `would deregister sites ${plan.deregister.join(', ')} from the controller`,
    ...plan.ssmParameters.map((p) => `would delete SSM parameter ${p}`),
    `would update the peers of access server${plan.accessServers.length === 1 ? '' : 's'} ${plan.accessServers.join(', ')}`,
    ...plan.routes.map(renderRouteChange),
    'dry run: nothing was changed',
  ].join('\n');
}

export interface RemoveSiteResult {
  removed: number[];
  /** Sites the controller knew and forgot now; the others were unknown to it already. */
  deregistered: number[];
}

/**
 * `sites --remove LIST`: after consent, deregister, then peers and routes without them, then their secrets,
 * and last their records (so an interrupted remove is finished by running it again; the sites show as not
 * registered meanwhile).
 */
export async function removeSites(ctx: Context, numbers: readonly number[]): Promise<RemoveSiteResult> {
  const before = await ctx.loadConfig();
  planSiteRemoval(before, numbers);
  const list = numbers.join(', ');
  await ctx.confirm(
    `This deregisters site${numbers.length === 1 ? '' : 's'} ${list} of deployment "${before.name}", deletes their keys and cuts their tunnels.`,
    before.name,
    `remove site${numbers.length === 1 ? '' : 's'} ${list}`,
  );
  return ctx.withLock(async () => {
    let config = await ctx.loadConfig();
    const plan = planSiteRemoval(config, numbers);
    const controller = await connectController(ctx);
    const deregistered: number[] = [];
    await ctx.io.track(
      'deregister the sites from the controller',
      async () => {
        for (const n of plan.sites) if (await controller.deleteSite(n)) deregistered.push(n);
      },
      () => `${deregistered.length} of ${plan.sites.length} known to the controller`,
    );
    const removing = new Set(plan.sites);
    config = {
      ...config,
      sites: config.sites.map((s) => (removing.has(s.number) ? { ...s, registered: false } : s)),
    };
    await ctx.saveConfig(config);
    const remaining = { ...config, sites: plan.remaining };
    await finishSites(
      ctx,
      remaining,
      config.sites.filter((s) => removing.has(s.number)),
    );
    await ctx.io.track('delete the sites’ secrets from SSM', async () =>
      deleteSecrets(await (await ctx.aws()).ssm(), plan.ssmParameters),
    );
    await ctx.saveConfig(remaining);
    return { removed: plan.sites, deregistered };
  });
}

export function renderRemoveSites(r: RemoveSiteResult): string {
  const unknown = r.removed.filter((n) => !r.deregistered.includes(n));
  return `removed site${r.removed.length === 1 ? '' : 's'} ${r.removed.join(', ')}; ${r.removed.length === 1 ? 'its number is' : 'their numbers are'} free again${unknown.length ? ` (the controller did not know ${unknown.join(', ')})` : ''}`;
}
