import { parameterNames } from '../aws/naming';
import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import { UsageError } from '../errors';
import { chooseAccessServer } from '../network/address-plan';
import { finishSites } from '../sites/add';
import { renderRouteChange, siteRouteChanges } from '../sites/dry-run';
import { deleteSecrets, storedScannerKeyHashes } from '../sites/parameters';
import { siteInput, withSites } from '../sites/plan';
import { deleteAccessServerInstance } from './aws';

/**
 * Pure: where the sites of the servers `indexes` go when they are removed with --force (blocks stay
 * together), onto the servers that stay.
 */
export function planReassignment(
  config: Pick<WavectlConfig, 'sites' | 'accessServers'>,
  indexes: readonly number[],
): SiteRecord[] {
  const leaving = new Set(indexes);
  const moving = config.sites.filter((s) => leaving.has(s.accessServer));
  if (moving.length === 0) return [];
  const others = config.accessServers
    .filter((a) => !leaving.has(a.index) && a.instanceId)
    .map((a) => a.index);
  if (others.length === 0) {
    throw new UsageError(
      `no access server would remain for the ${moving.length} site(s) of access server${indexes.length === 1 ? '' : 's'} ${indexes.join(', ')}: add another with \`wavectl access-servers --add 1\` first`,
    );
  }
  const placed = config.sites.filter((s) => !leaving.has(s.accessServer));
  const moved: SiteRecord[] = [];
  for (const site of moving) {
    const next = {
      ...site,
      accessServer: chooseAccessServer(placed, others, site.number),
      registered: false,
    };
    placed.push(next);
    moved.push(next);
  }
  return moved;
}

export interface AccessServerRemovalPlan {
  remove: number[];
  movedSites: SiteRecord[];
  ssmParameters: string[];
}

/** Pure: checks and plans removing `indexes`; sites on them are refused unless `force`. */
export function planAccessServerRemoval(
  config: Pick<WavectlConfig, 'name' | 'sites' | 'accessServers'>,
  indexes: readonly number[],
  force: boolean,
): AccessServerRemovalPlan {
  const unknown = indexes.filter((i) => !config.accessServers.some((a) => a.index === i));
  if (unknown.length > 0) {
    throw new UsageError(
      `there is no access server ${unknown.join(', ')}; see \`wavectl access-servers --list\`; nothing was changed`,
    );
  }
  const leaving = new Set(indexes);
  const assigned = config.sites.filter((s) => leaving.has(s.accessServer)).map((s) => s.number);
  if (assigned.length > 0 && !force) {
    throw new UsageError(
      `access server${indexes.length === 1 ? '' : 's'} ${indexes.join(', ')} still carr${indexes.length === 1 ? 'ies' : 'y'} sites ${assigned.join(', ')}; pass --force to move them to other access servers (their routers then need \`wavectl configure-hub\` again)`,
    );
  }
  const names = parameterNames(config.name);
  return {
    remove: [...indexes],
    movedSites: planReassignment(config, indexes),
    ssmParameters: indexes.map((i) => names.accessServerPrivateKey(i)),
  };
}

export interface RemoveAccessServerResult {
  removed: number[];
  movedSites: { site: number; accessServer: number }[];
}

export interface RemoveAccessServersDryRun {
  mode: 'dry-run';
  deregister: number[];
  terminate: number[];
  ssmParameters: string[];
  movedSites: { site: number; accessServer: number }[];
  routes: Awaited<ReturnType<typeof siteRouteChanges>>;
}

/** `access-servers --remove LIST --dry-run`: the plan, from wavectl.json and read-only AWS calls. */
export async function planRemoveAccessServersDryRun(
  ctx: Context,
  indexes: readonly number[],
  force: boolean,
): Promise<RemoveAccessServersDryRun> {
  const config = await ctx.loadConfig();
  const plan = planAccessServerRemoval(config, indexes, force);
  const sites = withSites(config.sites, plan.movedSites);
  return {
    mode: 'dry-run',
    deregister: plan.remove,
    terminate: plan.remove,
    ssmParameters: plan.ssmParameters,
    movedSites: plan.movedSites.map((s) => ({ site: s.number, accessServer: s.accessServer })),
    routes: await siteRouteChanges(ctx, config.name, sites),
  };
}

export function renderRemoveAccessServersDryRun(plan: RemoveAccessServersDryRun): string {
  return [
    `would deregister access server${plan.deregister.length === 1 ? '' : 's'} ${plan.deregister.join(', ')} from the controller and terminate ${plan.deregister.length === 1 ? 'its instance' : 'their instances'}`,
    ...plan.ssmParameters.map((p) => `would delete SSM parameter ${p}`),
    ...(plan.movedSites.length
      ? [`would move sites: ${plan.movedSites.map((m) => `${m.site}→${m.accessServer}`).join(', ')}`]
      : []),
    ...plan.routes.map(renderRouteChange),
    'dry run: nothing was changed',
  ].join('\n');
}

export async function removeAccessServers(
  ctx: Context,
  indexes: readonly number[],
  force: boolean,
): Promise<RemoveAccessServerResult> {
  const before = await ctx.loadConfig();
  const first = planAccessServerRemoval(before, indexes, force);
  const list = indexes.join(', ');
  await ctx.confirm(
    `This terminates access server${indexes.length === 1 ? '' : 's'} ${list} of deployment "${before.name}"${first.movedSites.length ? ` and moves ${first.movedSites.length} site(s) to the others` : ''}.`,
    before.name,
    `remove access server${indexes.length === 1 ? '' : 's'} ${list}`,
  );
  return ctx.withLock(async () => {
    let config = await ctx.loadConfig();
    const plan = planAccessServerRemoval(config, indexes, force);
    const moved = plan.movedSites;
    const controller = await connectController(ctx);
    if (moved.length > 0) {
      config = { ...config, sites: withSites(config.sites, moved) };
      await ctx.saveConfig(config);
      await finishSites(ctx, config, moved);
      const ssm = await (await ctx.aws()).ssm();
      const hashes = await storedScannerKeyHashes(
        ssm,
        config.name,
        moved.map((s) => s.number),
      );
      await ctx.io.track('register the moved sites with the controller', () =>
        controller.putSites(moved.map((s) => siteInput(s, hashes.get(s.number)!))),
      );
      config = {
        ...config,
        sites: withSites(
          config.sites,
          moved.map((s) => ({ ...s, registered: true })),
        ),
      };
      await ctx.saveConfig(config);
    }
    const aws = await ctx.aws();
    for (const index of plan.remove) {
      await ctx.io.track(`deregister access server ${index} from the controller`, () =>
        controller.deleteAccessServer(index),
      );
      await ctx.io.track(`terminate access server ${index}`, async () =>
        deleteAccessServerInstance(await aws.ec2(), config.name, index),
      );
      await deleteSecrets(await aws.ssm(), [parameterNames(config.name).accessServerPrivateKey(index)]);
      config = { ...config, accessServers: config.accessServers.filter((a) => a.index !== index) };
      await ctx.saveConfig(config);
    }
    return {
      removed: plan.remove,
      movedSites: moved.map((s) => ({ site: s.number, accessServer: s.accessServer })),
    };
  });
}

export const renderRemoveAccessServer = (r: RemoveAccessServerResult) =>
  [
    `removed access server${r.removed.length === 1 ? '' : 's'} ${r.removed.join(', ')}`,
    ...(r.movedSites.length
      ? [
          `moved sites: ${r.movedSites.map((m) => `${m.site}→${m.accessServer}`).join(', ')}`,
          'run `wavectl configure-hub --site N` for each moved site so its router follows',
        ]
      : []),
  ].join('\n');
