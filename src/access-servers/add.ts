import { pending } from '../aws/change';
import { instanceTypeProblem } from '../aws/instance-types';
import { parameterNames } from '../aws/naming';
import { waitManaged } from '../aws/ssm-managed';
import type { AccessServerRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import type { AccessServerInput } from '../controller-client/types';
import { type ApplyEnv, applyStep } from '../deploy/apply';
import { readDeployment } from '../deploy/census';
import { openDeploymentAws } from '../deploy/deployment-aws';
import { knownIds, planStep } from '../deploy/plan';
import { AwsError, UsageError } from '../errors';
import { accessServerTunnelIp, MAX_ACCESS_SERVERS, WIREGUARD_PORT } from '../network/address-plan';
import { putSecrets } from '../sites/parameters';
import { generateKeyPair } from '../wireguard/keys';
import { checkElasticIpQuota } from './eip-quota';
import { recoverGoneAccessServers } from './recover-gone';
import { type BootVerification, verifyAccessServerBoot } from './verify-boot';

/** Pure: the indexes `access-servers --add count` creates or finishes (records without an instance first). */
export function planAddAccessServers(servers: readonly AccessServerRecord[], count: number): number[] {
  const unfinished = servers
    .filter((s) => !s.instanceId || !s.publicIp || s.registered !== true)
    .map((s) => s.index);
  const taken = new Set(servers.map((s) => s.index));
  const fresh: number[] = [];
  for (let k = 0; k < MAX_ACCESS_SERVERS && unfinished.length + fresh.length < count; k++) {
    if (!taken.has(k)) fresh.push(k);
  }
  if (unfinished.length + fresh.length < count) {
    throw new UsageError(
      `cannot add ${count} access servers: a deployment holds at most ${MAX_ACCESS_SERVERS}, and ${MAX_ACCESS_SERVERS - taken.size} are free; nothing was changed`,
    );
  }
  return [...unfinished, ...fresh].slice(0, Math.max(count, unfinished.length));
}

export const accessServerInput = (s: AccessServerRecord): AccessServerInput => ({
  index: s.index,
  publicKey: s.publicKey,
  endpoint: s.publicIp ? `${s.publicIp}:${s.listenPort}` : null,
  tunnelAddress: accessServerTunnelIp(s.index),
  instanceId: s.instanceId ?? null,
});

const upsert = (servers: readonly AccessServerRecord[], s: AccessServerRecord) =>
  [...servers.filter((x) => x.index !== s.index), s].sort((a, b) => a.index - b.index);

export interface AddAccessServersResult {
  accessServers: AccessServerRecord[];
  /** Recorded servers whose instance was gone, launched again (they counted toward N). */
  recreated: number[];
  /** Of those, the ones that got a new key pair because SSM had lost theirs. */
  renewed: number[];
  /** Whether the new servers' boot was seen to bring WireGuard up (`unverified` under the emulator). */
  boot: BootVerification;
}

/**
 * `access-servers --add N`. The key pair is made and stored (SSM, then wavectl.json) before the instance is
 * launched, so a re-run reuses it; instance, source/dest check and Elastic IP are each found again by tag.
 */
export async function addAccessServers(
  ctx: Context,
  count: number,
  options: { instanceType?: string } = {},
): Promise<AddAccessServersResult> {
  const typeProblem =
    options.instanceType === undefined ? undefined : instanceTypeProblem(options.instanceType);
  if (typeProblem) throw new UsageError(`--instance-type: ${typeProblem}, got "${options.instanceType}"`);
  return ctx.withLock(async () => {
    let config: WavectlConfig = await ctx.loadConfig();
    const aws = await openDeploymentAws(ctx, config);
    const { clients, emulator } = aws;
    const recovery = await recoverGoneAccessServers(ctx, config, clients.ec2, clients.ssm);
    config = recovery.config;
    const indexes = planAddAccessServers(config.accessServers, count);
    // Each access server holds an Elastic IP: refuse before anything is made if the account's quota is short.
    await checkElasticIpQuota(clients.ec2, config.name, aws.scope.region, indexes);
    const fresh = indexes.filter((k) => !config.accessServers.some((s) => s.index === k));
    if (fresh.length > 0) {
      const pairs = new Map(fresh.map((k) => [k, generateKeyPair()]));
      await ctx.io.track('store access-server keys in SSM', () =>
        putSecrets(
          clients.ssm,
          fresh.map((k) => ({
            name: parameterNames(config.name).accessServerPrivateKey(k),
            value: pairs.get(k)!.privateKey,
          })),
        ),
      );
      let servers = config.accessServers;
      for (const k of fresh) {
        servers = upsert(servers, {
          index: k,
          publicKey: pairs.get(k)!.publicKey,
          listenPort: WIREGUARD_PORT,
        });
      }
      config = { ...config, accessServers: servers };
      await ctx.saveConfig(config);
    }

    // The access-server family's read → plan → apply, as `deploy` runs it.
    const current = await ctx.io.track('read the deployment', () => readDeployment(clients, aws.scope));
    const { ids, facts } = knownIds(current, config);
    if (ids.vpc === pending('vpc') || ids['public-subnet'] === pending('public-subnet')) {
      throw new AwsError(
        `deployment ${config.name} has no VPC or public subnet yet: run \`wavectl deploy\` first`,
        {},
      );
    }
    const sized = options.instanceType
      ? { ...config, instances: { ...config.instances, accessServer: { type: options.instanceType } } }
      : config;
    const input = {
      config: sized,
      scope: aws.scope,
      fingerprints: { controller: '', kasm: '', kasmOidc: '' },
    };
    const env: ApplyEnv = {
      clients,
      scope: aws.scope,
      config: sized,
      wait: { emulator },
      current,
      ids,
      facts,
      note: (message) => ctx.io.info(message),
      progress: (message) => ctx.io.info(message),
      remember: () => {},
      accessServerChanged: (record) => {
        config = { ...config, accessServers: upsert(config.accessServers, record) };
      },
      // Only the access-server steps run here, never the TLS step.
      tlsChanged: () => {},
    };
    for (const step of ['access-server-role', 'access-server-security-group', 'access-servers']) {
      ids[step] = await ctx.io.track(step.replace(/-/g, ' '), () =>
        applyStep(step, planStep(step, current, input, ids, facts), env),
      );
    }
    await ctx.saveConfig(config);
    const done = config.accessServers
      .filter((s) => indexes.includes(s.index))
      .map((s) => ({ ...s, registered: false }));
    // Peers reach a server through Run Command, which needs its SSM agent registered.
    const managed = await ctx.io.track('access servers reachable through SSM', () =>
      Promise.all(done.map((s) => waitManaged(clients.ssm, s.instanceId!, { emulator }))),
    );
    const unverifiable = managed.find((m) => m.status === 'unverifiable');
    if (unverifiable?.status === 'unverifiable') ctx.io.info(unverifiable.reason);
    const boot = await ctx.io.track('access servers booted with WireGuard up', () =>
      verifyAccessServerBoot(clients.ssm, done, { emulator }),
    );
    if (boot.status === 'unverified') ctx.io.info(boot.reason);
    const controller = await connectController(ctx);
    await ctx.io.track('register access servers with the controller', () =>
      controller.putAccessServers(done.map(accessServerInput)),
    );
    const registered = done.map((s) => ({ ...s, registered: true }));
    config = {
      ...config,
      accessServers: config.accessServers.map((s) => registered.find((r) => r.index === s.index) ?? s),
    };
    await ctx.saveConfig(config);
    return { accessServers: registered, boot, recreated: recovery.recreated, renewed: recovery.renewed };
  });
}

export const renderAddAccessServers = ({ accessServers, boot, recreated }: AddAccessServersResult) =>
  [
    ...(recreated.length ? [`re-created recorded access servers ${recreated.join(', ')}`] : []),
    ...accessServers.map(
      (a) =>
        `access server ${a.index}: ${a.instanceId}, endpoint ${a.publicIp}:${a.listenPort}, public key ${a.publicKey}`,
    ),
    boot.status === 'up' ? 'WireGuard: up on every new server' : `WireGuard: unverified (${boot.reason})`,
    'next: `wavectl sites --add N`',
  ].join('\n');
