import type { SSMClient } from '@aws-sdk/client-ssm';
import type { AccessServerRecord, SiteRecord } from '../config/schema';
import { AwsError } from '../errors';
import { renderAccessServerSyncScript } from '../wireguard/render';
import { runShellScript } from './ssm-run';

/** Pure: the peers each access server must have, from the recorded sites. */
export function peersByServer(servers: readonly AccessServerRecord[], sites: readonly SiteRecord[]) {
  return servers.map((server) => ({
    server,
    peers: sites
      .filter((s) => s.accessServer === server.index)
      .map((s) => ({ site: s.number, publicKey: s.publicKey })),
  }));
}

/**
 * Pushes the peer lists of `indexes` to their instances (one SSM Run Command each, in parallel); `wg
 * syncconf` on the instance changes only what differs, so other sites' tunnels stay up.
 */
export async function syncPeers(
  ssm: SSMClient,
  servers: readonly AccessServerRecord[],
  sites: readonly SiteRecord[],
  indexes: ReadonlySet<number>,
  emulator: boolean,
): Promise<number> {
  const targets = peersByServer(servers, sites).filter(
    (t) => indexes.has(t.server.index) && t.server.instanceId,
  );
  await Promise.all(
    targets.map(async ({ server, peers }) => {
      const result = await runShellScript(
        ssm,
        server.instanceId!,
        renderAccessServerSyncScript({ index: server.index, listenPort: server.listenPort }, peers),
        {
          comment: `wavectl peers of access server ${server.index}`,
          timeoutSeconds: 120,
          pollMs: emulator ? 100 : 1000,
        },
      );
      if (result.status !== 'Success') {
        throw new AwsError(
          `updating the peers of access server ${server.index} (${server.instanceId}) failed: ${result.status} ${result.stderr.trim().slice(0, 300)}`,
          {},
        );
      }
    }),
  );
  return targets.length;
}
