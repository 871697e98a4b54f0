import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { call } from '../aws/retry';
import { runShellScript } from '../aws/ssm-run';
import type { Context } from '../context';
import { renderTable } from '../io/output';
import { accessServerTunnelIp } from '../network/address-plan';
import { ACCESS_SERVER_INTERFACE } from '../wireguard/render';

/** A handshake this recent means the tunnel is up (WireGuard re-keys every 2 minutes while in use). */
export const HANDSHAKE_FRESH_SECONDS = 180;

export type TunnelHealth =
  | { state: 'unknown'; reason: string }
  | { state: 'measured'; peers: number; upPeers: number };

/** Pure: health from `wg show wg0 latest-handshakes` output ("<key>\t<unix time>" per peer) at `now`. */
export function parseHandshakes(output: string, nowSeconds: number): TunnelHealth {
  const lines = output.split('\n').filter((l) => /^\S+\t\d+$/.test(l.trim()));
  if (lines.length === 0 && !output.includes('WAVESHIFT-WG-OK'))
    return { state: 'unknown', reason: 'no answer from the instance' };
  const upPeers = lines.filter((l) => {
    const at = Number(l.trim().split('\t')[1]);
    return at > 0 && nowSeconds - at <= HANDSHAKE_FRESH_SECONDS;
  }).length;
  return { state: 'measured', peers: lines.length, upPeers };
}

export interface AccessServerRow {
  index: number;
  instanceId: string | null;
  instanceState: string;
  publicIp: string | null;
  publicKey: string;
  tunnelAddress: string;
  sites: number[];
  /** `unregistered`: launched or recorded, but not accepted by the controller yet (an interrupted --add). */
  registration: 'registered' | 'unregistered';
  health: TunnelHealth;
}

export interface AccessServerList {
  accessServers: AccessServerRow[];
  /** The command that finishes the unregistered access servers, if any. */
  finish?: string;
}

export async function listAccessServers(ctx: Context): Promise<AccessServerList> {
  const config = await ctx.loadConfig();
  if (config.accessServers.length === 0) return { accessServers: [] };
  const aws = await ctx.aws();
  const ec2 = await aws.ec2();
  const ids = config.accessServers.map((a) => a.instanceId).filter((id): id is string => Boolean(id));
  const states = new Map<string, string>();
  if (ids.length > 0) {
    const out = await call('EC2 DescribeInstances', () =>
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })),
    );
    for (const r of out.Reservations ?? [])
      for (const i of r.Instances ?? []) states.set(i.InstanceId ?? '', i.State?.Name ?? 'unknown');
  }
  const ssm = await aws.ssm();
  const rows = await Promise.all(
    config.accessServers.map(async (a): Promise<AccessServerRow> => {
      const state = a.instanceId ? (states.get(a.instanceId) ?? 'missing') : 'not launched';
      let health: TunnelHealth = { state: 'unknown', reason: `instance ${state}` };
      if (state === 'running' && a.instanceId) {
        const result = await runShellScript(
          ssm,
          a.instanceId,
          `wg show ${ACCESS_SERVER_INTERFACE} latest-handshakes && echo WAVESHIFT-WG-OK`,
          {
            comment: 'wavectl tunnel health',
            timeoutSeconds: 60,
            pollMs: aws.target.endpointUrl ? 100 : 1000,
          },
        ).catch((error: Error) => ({ status: 'Failed', stdout: '', stderr: error.message }));
        health =
          result.status === 'Success'
            ? parseHandshakes(result.stdout, Math.floor(Date.now() / 1000))
            : { state: 'unknown', reason: `SSM: ${result.status}` };
      }
      return {
        index: a.index,
        instanceId: a.instanceId ?? null,
        instanceState: state,
        publicIp: a.publicIp ?? null,
        publicKey: a.publicKey,
        tunnelAddress: accessServerTunnelIp(a.index),
        sites: config.sites.filter((s) => s.accessServer === a.index).map((s) => s.number),
        registration: a.instanceId && a.publicIp && a.registered !== false ? 'registered' : 'unregistered',
        health,
      };
    }),
  );
  const pending = rows.filter((r) => r.registration === 'unregistered').length;
  return pending > 0
    ? { accessServers: rows, finish: `wavectl access-servers --add ${pending}` }
    : { accessServers: rows };
}

const healthText = (h: TunnelHealth) =>
  h.state === 'unknown' ? `unknown (${h.reason})` : `${h.upPeers}/${h.peers} tunnels up`;

/** Site numbers as ranges: 0-15, 32, 40-41. */
export function siteRanges(sites: readonly number[]): string {
  const parts: string[] = [];
  const sorted = [...sites].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ') || '-';
}

export function renderAccessServerList({ accessServers, finish }: AccessServerList): string {
  if (accessServers.length === 0)
    return 'no access servers: sites need one; add it with `wavectl access-servers --add 1`';
  const table = renderTable(
    ['INDEX', 'INSTANCE', 'STATE', 'PUBLIC IP', 'PUBLIC KEY', 'SITES', 'TUNNEL HEALTH'],
    accessServers.map((a) => [
      String(a.index),
      a.instanceId ?? '-',
      a.registration === 'unregistered' ? `${a.instanceState}, unregistered` : a.instanceState,
      a.publicIp ?? '-',
      a.publicKey,
      siteRanges(a.sites),
      healthText(a.health),
    ]),
  );
  const pending = accessServers.filter((a) => a.registration === 'unregistered').length;
  return finish
    ? `${table}\n${pending} access server${pending === 1 ? ' is' : 's are'} unregistered (left half-made by an interrupted run): run \`${finish}\` to finish`
    : table;
}
