import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { runCli } from './helpers/cli';
import { describeWithNetns, NetLab } from './helpers/netns';
import { type RouterDeployment, startRouterDeployment } from './helpers/router-deployment';
import { hubArgs, type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

/**
 * The uci configuration configure-hub writes makes a real WireGuard tunnel: the sandboxed router's network
 * restart builds its interface from uci the way netifd does (wireguard-go, `wg set`), its WAN is a veth to
 * an access server namespace running wireguard-go with the site as peer, and wavectl's online check reads
 * the real handshake. Then traffic crosses the tunnel both ways.
 */
describeWithNetns('configure-hub brings up a real tunnel to the access server', () => {
  const SITE = 12;
  const lab = new NetLab('tun');
  let deployment: RouterDeployment;
  let router: RouterSandbox;
  let server: string;
  const wgIf = `wgas${process.pid % 100000}`;
  let links = 0;

  /** Each boot of the router makes a new network namespace: link its WAN to the access server again. */
  const linkWan = async (pid: number) => {
    links += 1;
    const peer = `as${links}`;
    await lab.exec(server, [
      'ip',
      'link',
      'add',
      peer,
      'type',
      'veth',
      'peer',
      'name',
      'wan0',
      'netns',
      String(pid),
    ]);
    await lab.exec(server, ['ip', 'addr', 'add', '203.0.113.10/24', 'dev', peer]);
    await lab.exec(server, ['ip', 'link', 'set', peer, 'up']);
    for (const argv of [
      ['ip', 'addr', 'add', '203.0.113.20/24', 'dev', 'wan0'],
      ['ip', 'link', 'set', 'wan0', 'up'],
    ]) {
      await lab.exec(server, ['nsenter', '-t', String(pid), '-n', ...argv]);
    }
  };

  beforeAll(async () => {
    deployment = await startRouterDeployment('tunnel');
    await deployment.addSite(SITE, 'Porto');
    server = await lab.host('as');
    const key = join(deployment.dir, 'server.key');
    await writeFile(key, deployment.server.privateKey, { mode: 0o600 });
    const env = { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
    await lab.exec(server, ['wireguard-go', wgIf], { env });
    const site = deployment.siteKeys.get(SITE)!;
    await lab.exec(server, [
      'wg',
      'set',
      wgIf,
      'private-key',
      key,
      'listen-port',
      '51820',
      'peer',
      site.publicKey,
      'allowed-ips',
      `10.8.${SITE}.0/24`,
    ]);
    await lab.exec(server, ['ip', 'addr', 'add', '10.9.0.1/24', 'dev', wgIf]);
    await lab.exec(server, ['ip', 'link', 'set', wgIf, 'up']);
    await lab.exec(server, ['ip', 'route', 'add', `10.8.${SITE}.0/24`, 'dev', wgIf]);
    router = await startRouterSandbox({
      password: 'pw',
      tunnel: 'wireguard',
      rebootDownMs: 200,
      onBoot: linkWan,
    });
  });

  afterAll(async () => {
    // Deleting the interface ends wireguard-go cleanly (its control socket goes with it).
    await lab.exec(server, ['ip', 'link', 'del', wgIf]).catch(() => undefined);
    await router?.stop();
    await lab.cleanup();
    await deployment?.stop();
  });

  it('configures the router, which handshakes with the access server and carries traffic', async () => {
    const run = await runCli(
      ['configure-hub', '--json', ...hubArgs(SITE, router), '--reach', '127.8.{site}.1', '--timeout', '60'],
      { cwd: deployment.dir, env: { WAVECTL_ROUTER_PASSWORD: 'pw', SSH_AUTH_SOCK: '' } },
    );
    expect(run.stderr).not.toMatch(/wavectl:/);
    expect(run.code).toBe(0);
    expect(run.json<ConfigureHubResult>().results[0]).toMatchObject({
      status: 'changed',
      rebooted: true,
      online: true,
    });
    // The access server saw the site's key complete a handshake …
    const { stdout } = await lab.exec(server, ['wg', 'show', wgIf, 'latest-handshakes']);
    const [peer, at] = stdout.trim().split(/\s+/);
    expect(peer).toBe(deployment.siteKeys.get(SITE)!.publicKey);
    expect(Number(at)).toBeGreaterThan(0);
    // … and reaches the router's address through the tunnel.
    const ping = await lab.exec(server, ['busybox', 'ping', '-c', '1', '-W', '3', `10.8.${SITE}.1`]);
    expect(ping.stdout).toMatch(/1 packets received/);
    // Unchanged on a second run, with the real handshake as its online evidence.
    const again = await runCli(['configure-hub', '--json', '--site', String(SITE)], {
      cwd: deployment.dir,
      env: { WAVECTL_ROUTER_PASSWORD: 'pw', SSH_AUTH_SOCK: '' },
    });
    expect(again.json<ConfigureHubResult>().results[0]).toMatchObject({
      status: 'unchanged',
      online: true,
      roundTrips: 1,
    });
  });
});
