import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WavectlConfig } from '../src/config/schema';
import type { CheckHubResult } from '../src/router/check-hub';
import type { RouterCheck } from '../src/router/check-router';
import type { DriftItem } from '../src/router/drift';
import { runCli } from './helpers/cli';
import { describeWithNetns } from './helpers/netns';
import {
  configureHubRunner,
  type RouterDeployment,
  startRouterDeployment,
} from './helpers/router-deployment';
import { type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

const PASSWORD = 'check-pw';
const ENV = { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' };

/** configure-hub --check against sandboxed routers that configure-hub set up, then someone edited by hand. */
describeWithNetns('configure-hub --check reports hand edits on routers, and changes nothing', () => {
  let deployment: RouterDeployment;
  const routers = new Map<number, RouterSandbox>();

  const hub = (args: string[]) => runCli(['configure-hub', ...args], { cwd: deployment.dir, env: ENV });
  const check = async (site: number, expectedCode: number) => {
    const before = routers.get(site)!.execs.length;
    const callsBefore = await routers.get(site)!.calls();
    const run = await hub(['--check', '--site', String(site), '--json']);
    expect(run.code, run.stderr).toBe(expectedCode);
    const [result] = run.json<CheckHubResult>().results;
    // One SSH round trip, and nothing but the read.
    expect(routers.get(site)!.execs.length - before).toBe(1);
    expect(await routers.get(site)!.calls()).toEqual(callsBefore);
    return result as Extract<RouterCheck, { drift: DriftItem[] }>;
  };
  const edit = async (site: number, command: string) => {
    await routers.get(site)!.sh(command);
  };

  beforeAll(async () => {
    deployment = await startRouterDeployment('check');
    for (const site of [3, 4]) {
      const router = await startRouterSandbox({ password: PASSWORD, rebootDownMs: 200 });
      routers.set(site, router);
      await deployment.addSite(site, `site-${site}`, { host: router.host, port: router.port });
    }
    const setUp = await configureHubRunner(deployment, PASSWORD)(['--sites', '3-4', '--accept-new-host-key']);
    expect(setUp.code, setUp.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    for (const r of routers.values()) await r.stop();
    await deployment?.stop();
  });

  it('reports none for an unchanged router, in one round trip, and exits 0', async () => {
    const result = await check(3, 0);
    expect(result).toMatchObject({ status: 'in-sync', drift: [], roundTrips: 1 });
    expect(result.tunnel.state).toBe('up');
  });

  it('reports a hand-edited option in uci terms', async () => {
    await edit(3, "uci set network.lan.ipaddr='192.168.8.1' && uci commit network");
    const result = await check(3, 1);
    expect(result.drift).toEqual([
      {
        resource: 'network.lan.ipaddr',
        expected: '10.8.3.1',
        found: '192.168.8.1',
        note: 'edited on the router',
        repaired: true,
      },
    ]);
    const human = await hub(['--check', '--site', '3']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('network.lan.ipaddr: 10.8.3.1 → 192.168.8.1 (edited on the router)');
    expect(human.stderr).toMatch(/^wavectl: site\(s\) 3 drifted/m);
    await edit(3, "uci set network.lan.ipaddr='10.8.3.1' && uci commit network");
    expect((await check(3, 0)).drift).toEqual([]);
  });

  it('reports an added section that acts on the tunnel: a second WireGuard peer', async () => {
    await edit(
      3,
      "uci set network.extra_peer=wireguard_waveshift && uci set network.extra_peer.public_key='AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' && uci add_list network.extra_peer.allowed_ips='0.0.0.0/0' && uci commit network",
    );
    const result = await check(3, 1);
    expect(result.drift).toEqual([
      {
        resource: 'network.extra_peer',
        expected: null,
        found:
          'wireguard_waveshift section: a second peer of waveshift (public key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=)',
        note: 'added on the router; configure-hub leaves it, remove it with uci if it is not wanted',
        repaired: false,
      },
    ]);
    await edit(3, 'uci delete network.extra_peer && uci commit network');
  });

  it('reports a removed peer as one section, and configure-hub repairs it', async () => {
    await edit(3, 'uci delete network.waveshift_server && uci commit network');
    const result = await check(3, 1);
    expect(result.drift).toEqual([
      {
        resource: 'network.waveshift_server',
        expected: 'wireguard_waveshift section',
        found: null,
        note: 'removed on the router',
        repaired: true,
      },
    ]);
    const repair = await hub(['--site', '3', '--reach', '127.8.{site}.1', '--timeout', '30', '--json']);
    expect(repair.code, repair.stderr).toBe(0);
    expect((await check(3, 0)).drift).toEqual([]);
  });

  it('reports a changed scanner script by its checksum', async () => {
    await edit(4, "echo '# tweaked by hand' >> /etc/waveshift/device-scanner.sh");
    const found = (await routers.get(4)!.sh('sha256sum /etc/waveshift/device-scanner.sh')).split(/\s+/)[0]!;
    const result = await check(4, 1);
    expect(result.drift).toHaveLength(1);
    expect(result.drift[0]).toMatchObject({
      resource: 'file:/etc/waveshift/device-scanner.sh',
      found: `sha256:${found.slice(0, 12)}`,
      note: 'changed on the router',
    });
    expect(result.drift[0]!.expected).not.toBe(result.drift[0]!.found);
  });

  it('checks every router in parallel with --all: one in sync, one drifted; bad usage exits 2', async () => {
    await edit(3, "uci set network.lan.ipaddr='10.8.3.1' && uci commit network");
    const run = await hub(['--check', '--all', '--json']);
    expect(run.code).toBe(1);
    const result = run.json<CheckHubResult>();
    expect(result.results.map((r) => `${r.site}:${r.status}`)).toEqual(['3:in-sync', '4:drifted']);
    expect(result.summary).toEqual({ inSync: 1, drifted: 1, unverified: 0 });
    for (const args of [['--check', '--all', '--dry-run'], ['--check'], ['--check', '--all', '--reboot']]) {
      const bad = await hub(args);
      expect(bad.code, args.join(' ')).toBe(2);
    }
  });

  it('keeps a site’s --manage-over-tunnel and --scan-interval: a later run or --check without them is no drift', async () => {
    const apply = (...args: string[]) =>
      hub(['--site', '3', '--reach', '127.8.{site}.1', '--timeout', '30', '--json', ...args]);
    const recorded = async () =>
      (JSON.parse(await readFile(join(deployment.dir, 'wavectl.json'), 'utf8')) as WavectlConfig).sites.find(
        (s) => s.number === 3,
      )!.router;
    const chosen = await apply('--manage-over-tunnel', '--scan-interval', '7');
    expect(chosen.code, chosen.stderr).toBe(0);
    expect(await recorded()).toMatchObject({ manageOverTunnel: true, scanIntervalMinutes: 7 });
    expect(await routers.get(3)!.sh('grep waveshift-device-scanner /etc/crontabs/root')).toMatch(/^\*\/7 /);
    expect((await check(3, 0)).drift).toEqual([]);
    const again = await apply();
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<{ results: { status: string }[] }>().results[0]!.status).toBe('unchanged');
    const undone = await apply('--no-manage-over-tunnel');
    expect(undone.code, undone.stderr).toBe(0);
    expect(await recorded()).toMatchObject({ manageOverTunnel: false, scanIntervalMinutes: 7 });
    expect((await check(3, 0)).drift).toEqual([]);
  });
});
