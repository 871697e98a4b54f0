import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { runCli } from './helpers/cli';
import { describeWithNetns } from './helpers/netns';
import { freePort, waitFor } from './helpers/ports';
import {
  configureHubRunner,
  type RouterDeployment,
  startRouterDeployment,
} from './helpers/router-deployment';
import { generateEd25519, hubArgs, type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

const PASSWORD = "pa ss'word$(x)";

/** The flows of `configure-hub` against sandboxed GL.iNet routers, secrets in moto's SSM. */
describeWithNetns('configure-hub against sandboxed routers', () => {
  let deployment: RouterDeployment;
  const routers: RouterSandbox[] = [];
  const readConfig = () => deployment.readConfig();
  const addSite = (n: number, name?: string) => deployment.addSite(n, name);
  const siteKeys = { get: (n: number) => deployment.siteKeys.get(n) };

  const configureHub = (args: string[], env: Record<string, string> = {}) =>
    configureHubRunner(deployment, PASSWORD)(args, env);

  const sandbox = async (options: Parameters<typeof startRouterSandbox>[0] = {}) => {
    const router = await startRouterSandbox({ password: PASSWORD, rebootDownMs: 200, ...options });
    routers.push(router);
    return router;
  };

  beforeAll(async () => {
    deployment = await startRouterDeployment();
  });

  afterAll(async () => {
    for (const r of routers) await r.stop();
    await deployment?.stop();
  });

  describe('one router, from factory to site 3 and back again', () => {
    let router: RouterSandbox;
    beforeAll(async () => {
      await addSite(3, 'Lisbon');
      router = await sandbox();
    });

    it('refuses an unknown host key unless it is accepted, and changes nothing', async () => {
      const run = await configureHub(['--site', '3', '--host', router.host, '--port', String(router.port)]);
      expect(run.code).toBe(1);
      const result = run.json<ConfigureHubResult>();
      expect(result.results[0]).toMatchObject({ status: 'failed', step: 'host key' });
      expect(JSON.stringify(result)).toContain(router.fingerprint);
      expect(run.stderr).toMatch(/1 of 1 router\(s\) failed/);
      expect(router.execs).toEqual([]);
    });

    it('--dry-run prints the exact batch and files with secrets redacted, and changes nothing', async () => {
      const run = await configureHub([...hubArgs(3, router), '--dry-run'], {});
      expect(run.code).toBe(0);
      const [r] = run.json<ConfigureHubResult>().results;
      expect(r).toMatchObject({ status: 'planned', missingPackages: ['nmap'], model: 'GL.iNet GL-MT3000' });
      if (r?.status !== 'planned') throw new Error('not planned');
      expect(r.batch).toContain("set network.lan.ipaddr='10.8.3.1'");
      expect(r.files.map((f) => f.path)).toEqual([
        '/etc/waveshift/device-scanner.sh',
        '/etc/waveshift/scanner.conf',
      ]);
      expect(run.stdout).not.toContain(siteKeys.get(3)!.privateKey);
      expect(run.stdout).toContain('<redacted');
      expect(router.execs).toHaveLength(1);
      expect(await router.calls()).toEqual([]);
      expect((await readConfig()).sites[0].router).toBeUndefined();
      const human = await runCli(['configure-hub', ...hubArgs(3, router), '--dry-run'], {
        cwd: deployment.dir,
        env: { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' },
      });
      expect(human.stdout).toContain("set network.waveshift.private_key='<redacted>'");
      expect(human.stdout).toContain('# site 3: file /etc/waveshift/scanner.conf (mode 0600)');
    });

    it('configures a factory router: one batch, scanner, rollback safety net, new address, reboot, online', async () => {
      const before = router.execs.length;
      const run = await configureHub([...hubArgs(3, router)]);
      expect(run.stderr).not.toMatch(/wavectl:/);
      expect(run.code).toBe(0);
      const [r] = run.json<ConfigureHubResult>().results;
      expect(r).toMatchObject({
        status: 'changed',
        host: '127.8.3.1',
        rebooted: true,
        online: true,
        installed: ['nmap'],
        hostKey: router.fingerprint,
      });
      expect(router.host).toBe('127.8.3.1');
      // The new address, the pinned key and the choices applied are recorded.
      expect((await readConfig()).sites[0].router).toEqual({
        host: '127.8.3.1',
        port: router.port,
        user: 'root',
        hostKey: router.fingerprint,
        manageOverTunnel: false,
        scanIntervalMinutes: 5,
      });
      // read, install, apply, confirm (≥1), reboot, online (≥1)
      expect(router.execs.length - before).toBeGreaterThanOrEqual(6);
      const calls = await router.calls();
      expect(calls).toEqual(
        expect.arrayContaining([
          'opkg update',
          'opkg install nmap',
          'cron enable',
          'network reload',
          'ifup waveshift',
          'dnsmasq reload',
          'firewall reload',
          'reboot',
        ]),
      );
      // The confirmed change left no pending restore; the boot hook stays, idle, for the next apply.
      expect(
        await router.sh('ls /etc/waveshift/pending-restore 2>&1 | grep -c "No such"; ls /etc/rc.d'),
      ).toBe('1\nS12waveshift-restore\n');
      expect(calls.filter((c) => c === 'reboot')).toHaveLength(1);
      expect(
        await router.sh(
          'uci get network.lan.ipaddr; uci get network.waveshift.proto; uci get network.waveshift_server.endpoint_host; uci get dhcp.@dnsmasq[0].server',
        ),
      ).toBe('10.8.3.1\nwireguard\n203.0.113.10\n/corp.example/192.168.8.53 /internal/10.9.0.1\n');
      expect((await router.sh('uci get network.waveshift.private_key')).trim()).toBe(
        siteKeys.get(3)!.privateKey,
      );
      expect(await router.sh('uci changes network; uci changes dhcp; uci changes firewall')).toBe('');
      expect(await router.sh('wg show waveshift latest-handshakes | cut -f1')).toBe(
        `${deployment.server.publicKey}\n`,
      );
      expect(
        await router.sh(
          'ls -ln /etc/waveshift/scanner.conf | cut -c1-10; grep -c API_KEY= /etc/waveshift/scanner.conf; grep waveshift-device-scanner /etc/crontabs/root',
        ),
      ).toBe('-rw-------\n1\n*/5 * * * * /etc/waveshift/device-scanner.sh # waveshift-device-scanner\n');
      const script = await readFile(join(__dirname, '..', 'scripts', 'device-scanner.sh'), 'utf8');
      expect(await router.sh('cat /etc/waveshift/device-scanner.sh')).toBe(script);
      // No secret in what wavectl printed.
      expect(run.stdout + run.stderr).not.toContain(siteKeys.get(3)!.privateKey);
    });

    it('leaves a configured router alone: one round trip, no reboot', async () => {
      const before = router.execs.length;
      const callsBefore = (await router.calls()).length;
      const run = await configureHub(['--site', '3']);
      expect(run.code).toBe(0);
      const [r] = run.json<ConfigureHubResult>().results;
      expect(r).toMatchObject({ status: 'unchanged', online: true, roundTrips: 1, host: '127.8.3.1' });
      expect(router.execs.length - before).toBe(1);
      expect((await router.calls()).length).toBe(callsBefore);
    });

    it('applies only what changed when the site changes (new access server address), with reloads, no reboot', async () => {
      const callsBefore = (await router.calls()).length;
      const config = await readConfig();
      config.accessServers[0].publicIp = '203.0.113.77';
      config.accessServers[0].listenPort = 51999;
      await deployment.writeConfig(config);
      const run = await configureHub(['--site', '3', '--scan-interval', '10']);
      expect(run.code).toBe(0);
      const [r] = run.json<ConfigureHubResult>().results;
      if (r?.status !== 'changed') throw new Error(run.stderr);
      expect(r.changes.map((c) => c.resource).sort()).toEqual([
        'crontab:root',
        'network.waveshift_server.endpoint_host',
        'network.waveshift_server.endpoint_port',
      ]);
      expect(r.host).toBe('127.8.3.1');
      expect(r.rebooted).toBe(false);
      // Only the network (the tunnel's peer) changed: netifd reloads and the tunnel restarts, nothing else.
      expect((await router.calls()).slice(callsBefore)).toEqual([
        'cron restart',
        'network reload',
        'ifup waveshift',
      ]);
      expect(
        await router.sh(
          'uci get network.waveshift_server.endpoint_host; uci get network.waveshift_server.endpoint_port; grep -c waveshift-device-scanner /etc/crontabs/root',
        ),
      ).toBe('203.0.113.77\n51999\n1\n');
    });

    it('refuses a changed host key with a clear message and touches nothing', async () => {
      await router.regenerateHostKey();
      const before = router.execs.length;
      const run = await configureHub(['--site', '3', '--accept-new-host-key']);
      expect(run.code).toBe(1);
      const [r] = run.json<ConfigureHubResult>().results;
      expect(r).toMatchObject({ status: 'failed', step: 'host key' });
      if (r?.status !== 'failed') throw new Error('not failed');
      expect(r.reason).toMatch(/host key changed: pinned SHA256:.* offered SHA256:.*remove router\.hostKey/);
      expect(router.execs.length).toBe(before);
    });
  });

  it('keeps hostile site names and values inert on the router', async () => {
    const name = 'x\'; reboot; $(touch /etc/pwned) `id` "q" #';
    await addSite(5, name);
    const router = await sandbox();
    const run = await configureHub([...hubArgs(5, router)]);
    expect(run.code).toBe(0);
    expect(await router.sh('uci get network.waveshift_server.description')).toBe(
      `Waveshift access server 0 for site 5 ${name}\n`,
    );
    expect(await router.sh('ls /etc/pwned 2>/dev/null || echo absent')).toBe('absent\n');
    expect((await router.calls()).filter((c) => c === 'reboot')).toHaveLength(1);
  });

  it('rolls back by itself when wavectl cannot reach the new address in time', async () => {
    await addSite(6);
    const router = await sandbox();
    const run = await configureHub([
      ...hubArgs(6, router),
      '--reach',
      '127.9.{site}.1',
      '--rollback-timeout',
      '10',
    ]);
    expect(run.code).toBe(1);
    const [r] = run.json<ConfigureHubResult>().results;
    expect(r).toMatchObject({ status: 'failed', step: 'confirm' });
    // The router restores its old configuration and returns to its old address.
    await waitFor(
      'rollback',
      async () => {
        if (router.host !== '127.0.0.1') throw new Error(`still at ${router.host}`);
        if (!(await router.sh('cat /tmp/waveshift-apply/state')).includes('rolledback'))
          throw new Error('not rolled back yet');
      },
      20_000,
      200,
    );
    expect(await router.sh('uci get network.lan.ipaddr; cat /tmp/waveshift-apply/state')).toBe(
      '192.168.8.1\nrolledback\n',
    );
    expect((await readConfig()).sites.find((s: { number: number }) => s.number === 6).router.host).toBe(
      '127.0.0.1',
    );
  });

  it('reports an unreachable router as failed with the reason', async () => {
    await addSite(7);
    const port = await freePort();
    const run = await configureHub([
      '--site',
      '7',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--accept-new-host-key',
    ]);
    expect(run.code).toBe(1);
    const [r] = run.json<ConfigureHubResult>().results;
    expect(r).toMatchObject({ status: 'failed', step: 'connect' });
    if (r?.status !== 'failed') throw new Error('not failed');
    expect(r.reason).toMatch(/cannot reach the router at root@127\.0\.0\.1:\d+: connection refused/);
  });

  it('--sites configures many routers in parallel; one failure does not stop the others', async () => {
    const numbers = [20, 21, 22, 23, 24];
    const fleet: RouterSandbox[] = [];
    for (const n of numbers) {
      await addSite(n);
      const router = await sandbox({ packages: ['kmod-wireguard', 'wireguard-tools', 'curl', 'nmap'] });
      fleet.push(router);
      // Record each router's factory address, as an operator would before a one-shot run.
      const config = await readConfig();
      config.sites.find((s: { number: number }) => s.number === n).router = {
        host: router.host,
        port: router.port,
        user: 'root',
      };
      await deployment.writeConfig(config);
    }
    await fleet[2]!.stop();
    const run = await configureHub(['--sites', '20-24', '--accept-new-host-key', '--concurrency', '4']);
    expect(run.code).toBe(1);
    const result = run.json<ConfigureHubResult>();
    expect(result.summary).toEqual({ changed: 4, unchanged: 0, planned: 0, failed: 1 });
    expect(result.results.find((r) => r.site === 22)).toMatchObject({ status: 'failed', step: 'connect' });
    const config = await readConfig();
    for (const n of [20, 21, 23, 24]) {
      expect(config.sites.find((s: { number: number }) => s.number === n).router.host).toBe(`127.8.${n}.1`);
    }
    const again = await configureHub(['--sites', '20,21,23,24']);
    expect(again.code).toBe(0);
    expect(again.json<ConfigureHubResult>().summary).toMatchObject({ unchanged: 4, failed: 0 });
  });

  it('logs in with a key file (--identity) when no password is given', async () => {
    const key = generateEd25519();
    const file = join(deployment.dir, 'id_ed25519');
    await writeFile(file, key.private, { mode: 0o600 });
    await addSite(9);
    const router = await sandbox({ password: undefined, authorizedKey: key.public });
    const args = [
      'configure-hub',
      '--json',
      '--site',
      '9',
      '--host',
      router.host,
      '--port',
      String(router.port),
    ];
    const noKey = await runCli([...args, '--accept-new-host-key', '--dry-run'], {
      cwd: deployment.dir,
      env: { WAVECTL_ROUTER_PASSWORD: 'wrong', SSH_AUTH_SOCK: '' },
    });
    expect(noKey.code).toBe(1);
    expect(noKey.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'failed', step: 'connect' });
    expect(noKey.stdout).toMatch(/authentication failed/);
    const withKey = await runCli([...args, '--accept-new-host-key', '--dry-run', '--identity', file], {
      cwd: deployment.dir,
      env: { SSH_AUTH_SOCK: '' },
    });
    expect(withKey.code).toBe(0);
    expect(withKey.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'planned' });
  });

  it('says what is missing with --no-install instead of installing', async () => {
    await addSite(8);
    const router = await sandbox({ packages: ['wireguard-tools'] });
    const run = await configureHub([...hubArgs(8, router), '--no-install']);
    expect(run.code).toBe(1);
    const [r] = run.json<ConfigureHubResult>().results;
    expect(r).toMatchObject({ status: 'failed', step: 'packages' });
    if (r?.status !== 'failed') throw new Error('not failed');
    expect(r.reason).toContain('missing packages: kmod-wireguard, nmap, curl');
    expect(await router.calls()).toEqual([]);
  });

  it("fails with opkg's reason when a package cannot be installed, changing nothing", async () => {
    await addSite(10);
    const router = await sandbox({
      packages: ['wireguard-tools', 'curl', 'nmap'],
      unavailable: ['kmod-wireguard'],
    });
    const run = await configureHub([...hubArgs(10, router)]);
    expect(run.code).toBe(1);
    const [r] = run.json<ConfigureHubResult>().results;
    expect(r).toMatchObject({ status: 'failed', step: 'install' });
    if (r?.status !== 'failed') throw new Error('not failed');
    expect(r.reason).toContain("Unknown package 'kmod-wireguard'");
    expect(await router.calls()).toEqual(['opkg update', 'opkg install kmod-wireguard']);
    expect(await router.sh('uci get network.lan.ipaddr')).toBe('192.168.8.1\n');
  });

  it('--all reports each recorded router and names the sites it cannot reach', async () => {
    const run = await configureHub(['--all', '--dry-run']);
    expect(run.code).toBe(1);
    const result = run.json<ConfigureHubResult>();
    const bySite = new Map(result.results.map((r) => [r.site, r]));
    expect(bySite.get(3)).toMatchObject({ status: 'failed', step: 'host key' });
    expect(bySite.get(20)).toMatchObject({ status: 'unchanged' });
    expect(bySite.get(22)).toMatchObject({ status: 'failed', step: 'connect' });
    expect(bySite.get(7)).toMatchObject({ status: 'failed', step: 'config' });
    if (bySite.get(7)?.status !== 'failed') throw new Error('site 7 not failed');
    expect((bySite.get(7) as { reason: string }).reason).toMatch(/no router address recorded for site 7/);
  });

  it('asks a terminal for the password and the new host key, and pins only an approved key', async () => {
    await addSite(30);
    const refused = await sandbox();
    const atTerminal = (router: RouterSandbox, answers: string) =>
      runCli(
        ['configure-hub', '--json', '--reach', '127.8.{site}.1', '--timeout', '30', '--site', '30'].concat([
          '--host',
          router.host,
          '--port',
          String(router.port),
        ]),
        {
          cwd: deployment.dir,
          tty: true,
          stdin: answers,
          env: { WAVECTL_ROUTER_PASSWORD: undefined, SSH_AUTH_SOCK: '' },
        },
      );
    const no = await atTerminal(refused, `${PASSWORD}\nno\n`);
    expect(no.stderr).toContain('Router root password: ');
    expect(no.stderr).toContain(`offers the SSH host key ${refused.fingerprint}`);
    expect(no.code).toBe(1);
    expect(no.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'failed', step: 'host key' });
    expect(refused.execs).toEqual([]);

    const approved = await sandbox();
    const yes = await atTerminal(approved, `${PASSWORD}\nyes\n`);
    expect(yes.stderr).not.toContain(PASSWORD);
    expect(yes.code).toBe(0);
    expect(yes.json<ConfigureHubResult>().results[0]).toMatchObject({
      status: 'changed',
      hostKey: approved.fingerprint,
    });
    const site = (await readConfig()).sites.find((s: { number: number }) => s.number === 30);
    expect(site.router.hostKey).toBe(approved.fingerprint);
  });

  it('gives one clear line for bad usage', async () => {
    const both = await runCli(['configure-hub', '--site', '3', '--all'], { cwd: deployment.dir });
    expect(both.code).toBe(2);
    expect(both.stderr.trim().split('\n')).toEqual([
      'wavectl: choose the routers with exactly one of --site N, --sites 0-9,12 or --all',
    ]);
    const noAuth = await runCli(['configure-hub', '--site', '3'], {
      cwd: deployment.dir,
      env: { SSH_AUTH_SOCK: '' },
    });
    expect(noAuth.code).toBe(2);
    expect(noAuth.stderr).toMatch(/no way to log in to the router: set WAVECTL_ROUTER_PASSWORD/);
    const badInterval = await runCli(['configure-hub', '--site', '3', '--scan-interval', '0'], {
      cwd: deployment.dir,
    });
    expect(badInterval.code).toBe(2);
    expect(badInterval.stderr).toMatch(/--scan-interval must be a whole number from 1 to 60/);
  });
});
