import { parameterNames } from '../aws/naming';
import type { AccessServerRecord, SiteRecord } from '../config/schema';
import type { WireGuardKeyPair } from '../wireguard/keys';

export interface AccessServerRecovery {
  accessServers: AccessServerRecord[];
  sites: SiteRecord[];
  /** Recorded servers whose instance is gone: launched again by this `--add`, counted toward N. */
  recreated: number[];
  /** Of those, the ones whose private key was gone from SSM too: a new key pair. */
  renewed: number[];
  secrets: { name: string; value: string }[];
}

/**
 * Pure: recorded access servers whose instance no longer exists (a lost region, a `wavectl.json` from a
 * backup) are marked unfinished, so `access-servers --add` launches them again before any new index: the
 * same index, the same key if SSM still holds it, else a new key pair. Their sites lost their peers with
 * the instance, so they are marked unregistered too, and `sites --add` puts their peers back.
 */
export function planAccessServerRecovery(
  deployment: string,
  servers: readonly AccessServerRecord[],
  sites: readonly SiteRecord[],
  live: ReadonlySet<number>,
  present: ReadonlySet<string>,
  fresh: (index: number) => WireGuardKeyPair,
): AccessServerRecovery {
  const names = parameterNames(deployment);
  const recreated: number[] = [];
  const renewed: number[] = [];
  const secrets: AccessServerRecovery['secrets'] = [];
  const accessServers = servers.map((server) => {
    if (!server.instanceId || live.has(server.index)) return server;
    recreated.push(server.index);
    const { instanceId: _i, publicIp: _p, ...kept } = server;
    if (present.has(names.accessServerPrivateKey(server.index))) return { ...kept, registered: false };
    const pair = fresh(server.index);
    renewed.push(server.index);
    secrets.push({ name: names.accessServerPrivateKey(server.index), value: pair.privateKey });
    return { ...kept, publicKey: pair.publicKey, registered: false };
  });
  return {
    accessServers,
    sites: sites.map((s) => (recreated.includes(s.accessServer) ? { ...s, registered: false } : s)),
    recreated,
    renewed,
    secrets,
  };
}
