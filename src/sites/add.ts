import { syncPeers } from '../aws/access-server-peers';
import { parameterNames } from '../aws/naming';
import { reconcileSiteRoutes } from '../aws/site-routes';
import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import { generateKeyPair } from '../wireguard/keys';
import { putSecrets, storedScannerKeyHashes } from './parameters';
import { planAddSites, siteInput, withSites } from './plan';
import { generateScannerKey, hashScannerKey } from './scanner-key';

export interface AddSitesResult {
  added: number[];
  /** Sites an earlier, interrupted run had recorded, finished by this one. */
  finished: number[];
  sites: SiteRecord[];
  controllerRoundTrips: number;
}

/**
 * `sites --add N`. Order makes a re-run finish the job: secrets in SSM, then the sites in wavectl.json
 * marked `registered: false`, then access-server peers and VPC routes, and last the registration of the
 * whole batch in one controller request, after which they are marked registered. Until then `--list`
 * shows them as not registered, and the next `--add` finishes them first.
 */
export async function addSites(ctx: Context, count: number): Promise<AddSitesResult> {
  return ctx.withLock(async () => {
    const config = await ctx.loadConfig();
    const secrets = new Map<number, { privateKey: string; scannerKey: string }>();
    const plan = planAddSites(config, count, (n) => {
      const pair = generateKeyPair();
      secrets.set(n, { privateKey: pair.privateKey, scannerKey: generateScannerKey() });
      return pair.publicKey;
    });
    const aws = await ctx.aws();
    const ssm = await aws.ssm();
    const names = parameterNames(config.name);

    if (plan.created.length > 0) {
      await ctx.io.track(
        'store site secrets in SSM',
        () =>
          putSecrets(
            ssm,
            plan.created.flatMap((s) => [
              { name: names.sitePrivateKey(s.number), value: secrets.get(s.number)!.privateKey },
              { name: names.siteScannerKey(s.number), value: secrets.get(s.number)!.scannerKey },
            ]),
          ),
        () => `${plan.created.length * 2} parameters`,
      );
    }
    let next: WavectlConfig = { ...config, sites: withSites(config.sites, plan.created) };
    await ctx.saveConfig(next);

    const batch = [...plan.unfinished, ...plan.created];
    await finishSites(ctx, next, batch);
    const hashes = await storedScannerKeyHashes(
      ssm,
      config.name,
      plan.unfinished.map((s) => s.number),
    );
    for (const [n, s] of secrets) hashes.set(n, hashScannerKey(s.scannerKey));

    const controller = await connectController(ctx);
    await ctx.io.track(
      'register sites with the controller',
      () => controller.putSites(batch.map((s) => siteInput(s, hashes.get(s.number)!))),
      () =>
        `${batch.length} sites, ${controller.roundTrips} round trip${controller.roundTrips === 1 ? '' : 's'}`,
    );
    const registered = batch.map((s) => ({ ...s, registered: true }));
    next = { ...next, sites: withSites(next.sites, registered) };
    await ctx.saveConfig(next);
    return {
      added: plan.created.map((s) => s.number),
      finished: plan.unfinished.map((s) => s.number),
      sites: registered,
      controllerRoundTrips: controller.roundTrips,
    };
  });
}

/** Peers on the access servers of `batch`, and the VPC routes of every recorded site. */
export async function finishSites(
  ctx: Context,
  config: WavectlConfig,
  batch: readonly SiteRecord[],
): Promise<void> {
  const aws = await ctx.aws();
  const { emulator } = aws;
  const servers = new Set(batch.map((s) => s.accessServer));
  await ctx.io.track(
    'update access-server peers',
    async () => syncPeers(await aws.ssm(), config.accessServers, config.sites, servers, emulator),
    (n) => `${n} access server${n === 1 ? '' : 's'}`,
  );
  await ctx.io.track(
    'update VPC routes for the site range',
    async () => reconcileSiteRoutes(await aws.ec2(), config.name, config.sites),
    (changes) => {
      const made = changes.filter((c) => c.action !== 'keep').length;
      return made === 0 ? 'unchanged' : `${made} change${made === 1 ? '' : 's'}`;
    },
  );
}

export function renderAddSites(result: AddSitesResult): string {
  const lines: string[] = [];
  if (result.finished.length)
    lines.push(`finished sites left unregistered by an earlier run: ${result.finished.join(', ')}`);
  lines.push(
    result.added.length ? `added sites ${result.added.join(', ')}` : 'no new site added',
    `controller round trips: ${result.controllerRoundTrips}`,
    'next: `wavectl sites --show N`, then `wavectl configure-hub --site N` for each router',
  );
  return lines.join('\n');
}
