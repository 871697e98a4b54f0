import { pending } from '../aws/change';
import { KNOWN_INSTANCE_TYPES } from '../aws/instance-types';
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

/**
 * `access-servers --add N`. The key pair is made and stored (SSM, then wavectl.json) before the instance is
 * launched, so a re-run reuses it; instance, source/dest check and Elastic IP are each found again by tag.
 */
export async function addAccessServers(
  ctx: Context,
  count: number,
  options: { instanceType?: string } = {},
): Promise<{ accessServers: AccessServerRecord[] }> {
  if (options.instanceType !== undefined && !KNOWN_INSTANCE_TYPES.includes(options.instanceType)) {
    throw new UsageError(
      `--instance-type must be a known instance type (${KNOWN_INSTANCE_TYPES.join(', ')}), got "${options.instanceType}"`,
    );
  }
  return ctx.withLock(async () => {
    let config: WavectlConfig = await ctx.loadConfig();
    const indexes = planAddAccessServers(config.accessServers, count);
    const aws = await openDeploymentAws(ctx, config);
    const { clients, emulator } = aws;
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
    const input = { config: sized, scope: aws.scope, fingerprints: { controller: '', kasm: '' } };
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
    return { accessServers: registered };
  });
}

export const renderAddAccessServers = ({ accessServers }: { accessServers: AccessServerRecord[] }) =>
  [
    ...accessServers.map(
      (a) =>
        `access server ${a.index}: ${a.instanceId}, endpoint ${a.publicIp}:${a.listenPort}, public key ${a.publicKey}`,
    ),
    'next: `wavectl sites --add N`',
  ].join('\n');
