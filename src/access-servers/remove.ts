import { removeAccessServer as removeAccessServerResources } from '../aws/access-servers';
import { parameterNames } from '../aws/naming';
import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import { UsageError } from '../errors';
import { chooseAccessServer } from '../network/address-plan';
import { finishSites } from '../sites/add';
import { deleteSecrets, storedScannerKeyHashes } from '../sites/parameters';
import { siteInput, withSites } from '../sites/plan';

/** Pure: where the sites of server `index` go when it is removed with --force (blocks stay together). */
export function planReassignment(
  config: Pick<WavectlConfig, 'sites' | 'accessServers'>,
  index: number,
): SiteRecord[] {
  const moving = config.sites.filter((s) => s.accessServer === index);
  if (moving.length === 0) return [];
  const others = config.accessServers.filter((a) => a.index !== index && a.instanceId).map((a) => a.index);
  if (others.length === 0) {
    throw new UsageError(
      `access server ${index} is the only one and carries ${moving.length} site(s): add another with \`wavectl access-servers --add 1\` first`,
    );
  }
  const placed = config.sites.filter((s) => s.accessServer !== index);
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

export interface RemoveAccessServerResult {
  removed: number;
  movedSites: { site: number; accessServer: number }[];
}

export async function removeAccessServer(
  ctx: Context,
  index: number,
  force: boolean,
): Promise<RemoveAccessServerResult> {
  return ctx.withLock(async () => {
    let config = await ctx.loadConfig();
    if (!config.accessServers.some((a) => a.index === index)) {
      throw new UsageError(`there is no access server ${index}; see \`wavectl access-servers --list\``);
    }
    const assigned = config.sites.filter((s) => s.accessServer === index).map((s) => s.number);
    if (assigned.length > 0 && !force) {
      throw new UsageError(
        `access server ${index} still carries sites ${assigned.join(', ')}; pass --force to move them to other access servers (their routers then need \`wavectl configure-hub\` again)`,
      );
    }
    const moved = planReassignment(config, index);
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
    await ctx.io.track('deregister the access server from the controller', () =>
      controller.deleteAccessServer(index),
    );
    const aws = await ctx.aws();
    await ctx.io.track(`terminate access server ${index}`, async () =>
      removeAccessServerResources(await aws.ec2(), config.name, index),
    );
    await deleteSecrets(await aws.ssm(), [parameterNames(config.name).accessServerPrivateKey(index)]);
    await ctx.saveConfig({ ...config, accessServers: config.accessServers.filter((a) => a.index !== index) });
    return {
      removed: index,
      movedSites: moved.map((s) => ({ site: s.number, accessServer: s.accessServer })),
    };
  });
}

export const renderRemoveAccessServer = (r: RemoveAccessServerResult) =>
  [
    `removed access server ${r.removed}`,
    ...(r.movedSites.length
      ? [
          `moved sites: ${r.movedSites.map((m) => `${m.site}→${m.accessServer}`).join(', ')}`,
          'run `wavectl configure-hub --site N` for each moved site so its router follows',
        ]
      : []),
  ].join('\n');
