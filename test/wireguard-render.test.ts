import { execFileSync, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderAccessServerUserData } from '../src/access-servers/user-data';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { parseRelayOutput, renderRelayScript } from '../src/controller-client/relay';
import { planSiteTunnel } from '../src/network/site-tunnel';
import {
  renderAccessServerNftables,
  renderAccessServerPeers,
  renderAccessServerSyncScript,
  renderAccessServerUpScript,
  renderSiteWgQuick,
} from '../src/wireguard/render';
import { makeTempDir } from './helpers/tmp';

const sites: SiteRecord[] = [
  { number: 3, name: 'site-3', publicKey: 'S3'.padEnd(43, 'x') + '=', accessServer: 1, registered: true },
];
const servers: AccessServerRecord[] = [
  {
    index: 1,
    publicKey: 'AS'.padEnd(43, 'y') + '=',
    listenPort: 51820,
    instanceId: 'i-1',
    publicIp: '198.51.100.9',
  },
];

describe('rendered WireGuard and access-server text', () => {
  it('renders a site’s wg-quick config with only the VPC and tunnel ranges in the tunnel', () => {
    const text = renderSiteWgQuick(planSiteTunnel(sites, servers, 3), 'PRIVATE');
    expect(text).toBe(`# Waveshift site 3: LAN 10.8.3.0/24, gateway 10.8.3.1
# Resolve *.internal through 10.9.0.2: dnsmasq needs server=/internal/10.9.0.2 AND
# rebind_domain=internal (uci: list server '/internal/10.9.0.2', list rebind_domain 'internal');
# without the second, OpenWrt's rebind protection drops the private answers.
# MTU 1420: the WAN's MTU less 80 (1420 for a 1500-byte WAN; lower it for PPPoE, LTE or another tunnel).
[Interface]
PrivateKey = PRIVATE
Address = 10.8.3.1/32
MTU = 1420

[Peer]
# access server 1
PublicKey = ${servers[0]!.publicKey}
Endpoint = 198.51.100.9:51820
AllowedIPs = 10.0.0.0/16, 10.9.0.0/24
PersistentKeepalive = 25
`);
    expect(renderSiteWgQuick(planSiteTunnel(sites, servers, 3), 'K', 1412)).toMatch(/^MTU = 1412$/m);
    expect(renderSiteWgQuick(planSiteTunnel(sites, servers, 3), undefined)).toContain(
      'PrivateKey = <omitted: run `wavectl sites --export-config 3 --include-private-key` to include it>',
    );
  });

  it('gives each site peer its own /24 only, in site order', () => {
    expect(
      renderAccessServerPeers([
        { site: 9, publicKey: 'K9' },
        { site: 2, publicKey: 'K2' },
      ]),
    ).toBe(
      '[Peer]\n# site 2\nPublicKey = K2\nAllowedIPs = 10.8.2.0/24\n\n[Peer]\n# site 9\nPublicKey = K9\nAllowedIPs = 10.8.9.0/24\n',
    );
    expect(renderAccessServerPeers([])).toBe('');
  });

  it('forwards only between tunnel and VPC, and DNS from its tunnel address to the resolver', () => {
    const rules = renderAccessServerNftables(4);
    expect(rules).toContain('iifname "wg0" oifname "wg0" drop');
    expect(rules).toContain('policy drop');
    expect(rules).toContain('iifname "wg0" ip daddr 10.9.0.5 udp dport 53 dnat ip to 10.0.0.2');
    expect(rules).toContain('iifname "wg0" ip daddr 10.0.0.2 udp dport 53 masquerade');
  });

  it('renders shell that parses (bash -n), with no private key in what travels through SSM or user data', () => {
    const network = { index: 1, listenPort: 51820 };
    for (const script of [
      renderAccessServerUpScript(network),
      renderAccessServerSyncScript(network, [{ site: 3, publicKey: sites[0]!.publicKey }]),
      renderAccessServerUserData({ deployment: 'acme', region: 'us-east-1', index: 1, listenPort: 51820 }),
      renderRelayScript({ method: 'PUT', path: '/api/sites', body: { sites: [] } }),
    ]) {
      execFileSync('bash', ['-n'], { input: script });
      expect(script).not.toContain('PRIVATE');
    }
    expect(renderAccessServerSyncScript(network, [])).toContain('wg syncconf wg0');
  });

  it('keeps the peers for the first start but fails when the tunnel is not up (boot unfinished or failed)', async () => {
    const tmp = await makeTempDir();
    try {
      const files = { keyFile: join(tmp.path, 'missing.key'), peersFile: join(tmp.path, 'peers.conf') };
      // The interface name is absent from this (test) network namespace, as on an instance still booting.
      const script = renderAccessServerSyncScript({ index: 0, listenPort: 51820, files }, [
        { site: 5, publicKey: 'K5' },
      ]).replaceAll('wg0', 'wvabsent0');
      const run = spawnSync('dash', ['-c', script], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('wvabsent0 is absent');
      expect(await readFile(files.peersFile, 'utf8')).toBe(
        renderAccessServerPeers([{ site: 5, publicKey: 'K5' }]),
      );
    } finally {
      await tmp.remove();
    }
  });

  it('round-trips a relay answer', () => {
    const body = Buffer.from(JSON.stringify({ ok: true }));
    const gz = execFileSync('gzip', ['-c'], { input: body }).toString('base64');
    expect(parseRelayOutput(`noise\nWAVESHIFT-RELAY-STATUS 201\nWAVESHIFT-RELAY-BODY ${gz}\n`)).toEqual({
      status: 201,
      body: { ok: true },
    });
  });
});
