import { parameterNames } from '../aws/naming';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import { UsageError } from '../errors';
import { finishSites } from './add';
import { deleteSecrets } from './parameters';

export interface RemoveSiteResult {
  removed: number;
  deregistered: boolean;
}

/**
 * `sites --remove N`: deregister, then peers and routes without it, then its secrets, and last its record
 * (so an interrupted remove is finished by running it again; the site shows as not registered meanwhile).
 */
export async function removeSite(ctx: Context, number: number): Promise<RemoveSiteResult> {
  return ctx.withLock(async () => {
    let config = await ctx.loadConfig();
    const site = config.sites.find((s) => s.number === number);
    if (!site) throw new UsageError(`there is no site ${number}; see \`wavectl sites --list\``);
    const controller = await connectController(ctx);
    const deregistered = await ctx.io.track('deregister the site from the controller', () =>
      controller.deleteSite(number),
    );
    config = {
      ...config,
      sites: config.sites.map((s) => (s.number === number ? { ...s, registered: false } : s)),
    };
    await ctx.saveConfig(config);
    const remaining = { ...config, sites: config.sites.filter((s) => s.number !== number) };
    await finishSites(ctx, remaining, [site]);
    const names = parameterNames(config.name);
    await ctx.io.track('delete the site’s secrets from SSM', async () =>
      deleteSecrets(await (await ctx.aws()).ssm(), [
        names.sitePrivateKey(number),
        names.siteScannerKey(number),
      ]),
    );
    await ctx.saveConfig(remaining);
    return { removed: number, deregistered };
  });
}

export const renderRemoveSite = (r: RemoveSiteResult) =>
  `removed site ${r.removed}; its number is free again${r.deregistered ? '' : ' (the controller did not know it)'}`;
