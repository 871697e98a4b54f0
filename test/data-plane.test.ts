import { type ChildProcess, execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { planSiteTunnel } from '../src/network/site-tunnel';
import { generateKeyPair } from '../src/wireguard/keys';
import {
  type AccessServerNetwork,
  renderAccessServerSyncScript,
  renderAccessServerUpScript,
  renderSiteWgQuick,
} from '../src/wireguard/render';
import { describeWithNetns, NetLab } from './helpers/netns';
import { repoRoot } from './helpers/paths';
import { waitFor } from './helpers/ports';
import { makeTempDir } from './helpers/tmp';

const run = promisify(execFile);
const PUBLIC_IP = '203.0.113.1';
const CONTROLLER = '10.0.2.10';

/**
 * The data plane with the configurations wavectl renders: an access server (wireguard-go, nftables), two
 * site routers (wg-quick + wireguard-go), a device behind each on 10.8.N.0/24, and a VPC namespace holding
 * an address standing in for the controller and the VPC resolver (10.0.0.2). Each WireGuard host gets its
 * own mount namespace so the wireguard-go control sockets in /var/run/wireguard do not collide.
 */
describeWithNetns('data plane: sites reach the VPC through the access server, and nothing else', () => {
  const lab = new NetLab('dp');
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const holders = new Map<string, number>();
  let resolverLog = '';
  const keys = { server: generateKeyPair(), site0: generateKeyPair(), site1: generateKeyPair() };
  const ns: Record<string, string> = {};
  let network: AccessServerNetwork;

  /** A shell inside host `name`'s network and private mount namespace. */
  const sh = async (name: string, script: string) => {
    const pid = holders.get(name);
    if (pid === undefined) throw new Error(`no mount namespace for ${name}`);
    return run('nsenter', ['-t', String(pid), '-m', '-n', 'bash', '-c', script], { maxBuffer: 1 << 20 });
  };
  const reaches = async (from: string, address: string) =>
    lab
      .exec(from, ['busybox', 'ping', '-c', '1', '-W', '2', address])
      .then(() => true)
      .catch(() => false);

  const privateMounts = async (name: string) => {
    const child: ChildProcess = lab.spawn(ns[name]!, [
      'unshare',
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mkdir -p /var/run/wireguard && mount -t tmpfs tmpfs /var/run/wireguard && exec sleep 100000',
    ]);
    const pid = child.pid!;
    holders.set(name, pid);
    await waitFor(`${name} mount namespace`, () =>
      run('nsenter', ['-t', String(pid), '-m', 'mountpoint', '-q', '/var/run/wireguard']),
    );
  };

  const sites: SiteRecord[] = [
    { number: 0, name: 'site-0', publicKey: keys.site0.publicKey, accessServer: 0, registered: true },
    { number: 1, name: 'site-1', publicKey: keys.site1.publicKey, accessServer: 0, registered: true },
  ];
  const servers: AccessServerRecord[] = [
    { index: 0, publicKey: keys.server.publicKey, listenPort: 51820, publicIp: PUBLIC_IP },
  ];
  const peersOf = (records: SiteRecord[]) => records.map((s) => ({ site: s.number, publicKey: s.publicKey }));

  beforeAll(async () => {
    tmp = await makeTempDir();
    for (const name of ['server', 'site0', 'site1', 'dev0', 'dev1', 'vpc']) ns[name] = await lab.host(name);
    // The "internet": each site router reaches the access server's public address over its own link.
    await lab.link(ns.server!, '192.0.2.1/30', ns.site0!, '192.0.2.2/30');
    await lab.link(ns.server!, '192.0.2.5/30', ns.site1!, '192.0.2.6/30');
    await lab.exec(ns.server!, ['ip', 'addr', 'add', `${PUBLIC_IP}/32`, 'dev', 'lo']);
    await lab.exec(ns.site0!, ['ip', 'route', 'add', 'default', 'via', '192.0.2.1']);
    await lab.exec(ns.site1!, ['ip', 'route', 'add', 'default', 'via', '192.0.2.5']);
    // The VPC: the access server's ENI in the public subnet; the controller and resolver in the VPC range,
    // with the route wavectl maintains (site range → access server).
    const vpcLink = await lab.link(ns.server!, '10.0.1.10/16', ns.vpc!, `${CONTROLLER}/16`);
    await lab.exec(ns.vpc!, ['ip', 'addr', 'add', '10.0.0.2/16', 'dev', vpcLink.bIf]);
    await lab.exec(ns.vpc!, ['ip', 'route', 'add', '10.8.0.0/16', 'via', '10.0.1.10']);
    // Site LANs, a device behind each router.
    for (const n of [0, 1]) {
      await lab.link(ns[`site${n}`]!, `10.8.${n}.1/24`, ns[`dev${n}`]!, `10.8.${n}.50/24`);
      await lab.exec(ns[`dev${n}`]!, ['ip', 'route', 'add', 'default', 'via', `10.8.${n}.1`]);
      await lab.exec(ns[`site${n}`]!, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    }
    for (const name of ['server', 'site0', 'site1']) await privateMounts(name);

    const resolver = lab.spawn(
      ns.vpc!,
      [process.execPath, join(repoRoot, 'test/helpers/dns-stub.cjs'), '10.0.0.2', CONTROLLER],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    resolver.stdout?.on('data', (c) => {
      resolverLog += c;
    });
    await waitFor('resolver stub', async () => {
      if (!resolverLog.includes('ready')) throw new Error('not yet');
    });

    // The access server, from wavectl's scripts (the key file is what the instance fetches from SSM).
    const keyFile = join(tmp.path, 'server.key');
    await writeFile(keyFile, `${keys.server.privateKey}\n`, { mode: 0o600 });
    network = { index: 0, listenPort: 51820, files: { keyFile, peersFile: join(tmp.path, 'peers.conf') } };
    await sh('server', renderAccessServerUpScript(network));
    await sh('server', renderAccessServerSyncScript(network, peersOf(sites)));

    // The site routers, from the wg-quick text `sites --export-config --include-private-key` prints.
    for (const n of [0, 1]) {
      const dir = join(tmp.path, `site${n}`);
      await mkdir(dir);
      const conf = join(dir, `wgsite${n}.conf`);
      const key = n === 0 ? keys.site0.privateKey : keys.site1.privateKey;
      await writeFile(conf, renderSiteWgQuick(planSiteTunnel(sites, servers, n), key), { mode: 0o600 });
      await sh(`site${n}`, `wg-quick up ${conf} 2>&1`);
    }
  }, 120_000);

  afterAll(async () => {
    await lab.cleanup();
    await tmp?.remove();
  });

  it('a device on site 0 reaches the controller address in the VPC, and back', async () => {
    await waitFor('site 0 → controller', async () => {
      if (!(await reaches(ns.dev0!, CONTROLLER))) throw new Error('no reply');
    });
    expect(await reaches(ns.dev1!, CONTROLLER)).toBe(true);
    // The VPC reaches devices on the site (the scanner's peers, Kasm sessions to devices).
    expect(await reaches(ns.vpc!, '10.8.0.50')).toBe(true);
    const { stdout } = await sh('server', 'wg show wg0 latest-handshakes');
    expect(stdout).toContain(keys.site0.publicKey);
  });

  it('resolves names through the access server, which forwards to the VPC resolver from its own address', async () => {
    const { stdout } = await lab.exec(ns.dev0!, ['busybox', 'nslookup', 'waveshift.internal', '10.9.0.1']);
    expect(stdout).toContain(CONTROLLER);
    // The resolver answers VPC sources only: the query reached it from the access server's VPC address.
    await waitFor('the resolver’s log line', async () => {
      if (!resolverLog.includes('query from')) throw new Error('not yet');
    });
    expect(resolverLog).toContain('query from 10.0.1.10');
    expect(resolverLog).not.toContain('query from 10.8.');
  });

  it('sites cannot reach each other, even routers that route each other into their tunnels', async () => {
    expect(await reaches(ns.dev0!, '10.8.1.50')).toBe(false);
    expect(await reaches(ns.dev1!, '10.8.0.50')).toBe(false);
    expect(await reaches(ns.site0!, '10.8.1.1')).toBe(false);
    // Both routers widened to route each other's range into their tunnels (misconfigured, or hostile): each
    // would now accept the other's traffic, and only the access server's forwarding rules stand between them.
    for (const [name, other] of [
      ['site0', 1],
      ['site1', 0],
    ] as const) {
      await sh(
        name,
        `wg set wg${name} peer ${keys.server.publicKey} allowed-ips 10.0.0.0/16,10.9.0.0/24,10.8.${other}.0/24 && ip route add 10.8.${other}.0/24 dev wg${name}`,
      );
    }
    expect(await reaches(ns.dev0!, '10.8.1.50')).toBe(false);
    expect(await reaches(ns.dev0!, CONTROLLER)).toBe(true);
  });

  it('re-running the boot script changes nothing: peers and sessions stay', async () => {
    const before = await sh('server', 'wg show wg0 dump');
    await sh('server', renderAccessServerUpScript(network));
    const after = await sh('server', 'wg show wg0 dump');
    const peersOf = (dump: string) =>
      dump
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t').slice(0, 4).join(' '))
        .sort();
    expect(peersOf(after.stdout)).toEqual(peersOf(before.stdout));
    expect(peersOf(after.stdout)).toHaveLength(2);
    expect(await reaches(ns.dev1!, CONTROLLER)).toBe(true);
  });

  it('removing a site cuts its tunnel and leaves the other site’s session in place', async () => {
    const before = await sh('server', `wg show wg0 endpoints`);
    expect(before.stdout).toContain(keys.site0.publicKey);
    await sh('server', renderAccessServerSyncScript(network, peersOf(sites.filter((s) => s.number !== 1))));
    expect(await reaches(ns.dev1!, CONTROLLER)).toBe(false);
    const { stdout: peers } = await sh('server', 'wg show wg0 peers');
    expect(peers.trim().split('\n')).toEqual([keys.site0.publicKey]);
    // wg syncconf kept site 0's peer (endpoint learnt from its handshake) instead of recreating it.
    const after = await sh('server', 'wg show wg0 endpoints');
    expect(after.stdout).toContain(`${keys.site0.publicKey}\t192.0.2.2:`);
    expect(await reaches(ns.dev0!, CONTROLLER)).toBe(true);
  });
});
