import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import type { RouterResult } from '../src/router/configure-router';
import { CONFIRM_SCRIPT, RUN_STDIN_SCRIPT } from '../src/router/remote-scripts';
import { type CliRun, startCliProcess } from './helpers/cli';
import { describeWithNetns } from './helpers/netns';
import { waitFor } from './helpers/ports';
import { type ConfigJson, type RouterDeployment, startRouterDeployment } from './helpers/router-deployment';
import type { LinkState } from './helpers/router-link';
import { hubArgs, type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';
import { makeTempDir } from './helpers/tmp';

const PASSWORD = 'faults';
/** The rollback window where a test waits for the router to roll back (seconds). */
const ROLLBACK = 10;
const FACTORY = '127.0.0.1';
const configured = (n: number) => `127.8.${n}.1`;

/** The moments of a LAN move at which a test cuts the link or kills wavectl. */
type Moment = 'apply started' | 'LAN moved' | 'confirming';

/**
 * `configure-hub` (the built CLI, a process of its own) against sandbox routers whose link is reset or
 * black-holed, or killed itself, at each moment of a LAN move, with a 10 s rollback window. Whatever
 * happens, the router ends on its old configuration or confirmed on the new one, wavectl's result says
 * which, and wavectl.json records the address the router really answers at.
 */
describeWithNetns('configure-hub under connection faults', () => {
  let deployment: RouterDeployment;
  const routers: RouterSandbox[] = [];
  const dirs: { remove(): Promise<void> }[] = [];
  // Sites 40-52: each test has its own router and its own deployment directory, so tests run in parallel.
  const SITES = Array.from({ length: 13 }, (_, i) => 40 + i);

  beforeAll(async () => {
    deployment = await startRouterDeployment('faults');
    for (const n of SITES) await deployment.addSite(n);
  });
  afterAll(async () => {
    for (const r of routers) await r.stop();
    for (const d of dirs) await d.remove();
    await deployment?.stop();
  });

  /**
   * A factory router with its packages, and a copy of the deployment for site `n` alone. A window of
   * `rollback` seconds: short where a test waits for the rollback, generous where it must not happen on
   * a loaded machine (a confirmed run never waits for it).
   */
  const scene = async (
    n: number,
    options: Parameters<typeof startRouterSandbox>[0] = {},
    rollback = ROLLBACK + 10,
  ) => {
    const router = await startRouterSandbox({
      password: PASSWORD,
      rebootDownMs: 200,
      packages: ['kmod-wireguard', 'wireguard-tools', 'curl', 'uclient-fetch', 'nmap'],
      ...options,
    });
    routers.push(router);
    const tmp = await makeTempDir(`wavectl-faults-${n}-`);
    dirs.push(tmp);
    await copyFile(join(deployment.dir, 'wavectl.json'), join(tmp.path, 'wavectl.json'));
    const hub = (args: string[], json = true) =>
      startCliProcess(
        [
          'configure-hub',
          ...(json ? ['--json'] : []),
          '--reach',
          '127.8.{site}.1',
          '--rollback-timeout',
          String(rollback),
          '--timeout',
          '40',
          ...args,
        ],
        { cwd: tmp.path, env: { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' }, timeoutMs: 90_000 },
      );
    const file = join(tmp.path, 'wavectl.json');
    return {
      router,
      edit: async (change: (config: ConfigJson) => void) => {
        const config = JSON.parse(await readFile(file, 'utf8')) as ConfigJson;
        change(config);
        await writeFile(file, JSON.stringify(config, null, 2));
      },
      /** The first run: the factory address given on the command line. */
      first: (json = true) => hub(hubArgs(n, router), json),
      /** A later run: the address and pin recorded in wavectl.json. */
      again: () => hub(['--site', String(n)]),
      recorded: async () =>
        JSON.parse(await readFile(file, 'utf8')).sites.find((s: { number: number }) => s.number === n)
          ?.router as { host: string; hostKey: string } | undefined,
    };
  };

  /** Resolves at `moment`, seen from the router: the apply exec arrived, the LAN moved, a confirm after it. */
  const reached = async (router: RouterSandbox, moment: Moment) => {
    const seen = (command: string, from = 0) => router.execs.slice(from).includes(command);
    if (moment === 'apply started') {
      return waitFor(moment, async () => expect(seen(RUN_STDIN_SCRIPT)).toBe(true), 30_000, 5);
    }
    await waitFor('LAN moved', async () => expect(router.host).not.toBe(FACTORY), 30_000, 5);
    if (moment === 'confirming') {
      const from = router.execs.length;
      await waitFor(moment, async () => expect(seen(CONFIRM_SCRIPT, from)).toBe(true), 30_000, 5);
    }
  };

  const resultOf = (run: CliRun): RouterResult => {
    const result = run.json<ConfigureHubResult>().results[0];
    if (!result) throw new Error(`no result: ${run.stderr}`);
    return result;
  };

  /** What the router itself runs and where it answers: the truth a result and the record must match. */
  const truth = async (router: RouterSandbox) => ({
    lan: (await router.sh('uci get network.lan.ipaddr')).trim(),
    state: (await router.sh('cat /tmp/waveshift-apply/state 2>/dev/null; true')).trim(),
    staged: await router.sh('uci changes network; uci changes dhcp; uci changes firewall'),
    host: router.host,
  });

  /** A run that failed at `step`, leaving the router on `configuration`, for `reason`; returns the reason. */
  const expectFailed = (
    run: CliRun,
    expected: { step: string; configuration: RouterResult['configuration'] },
    reason: RegExp,
  ): string => {
    expect(run.code).toBe(1);
    const result = resultOf(run);
    expect(result).toMatchObject({ status: 'failed', ...expected });
    if (result.status !== 'failed') throw new Error('not failed');
    expect(result.reason).toMatch(reason);
    return result.reason;
  };

  /** The router confirmed on the new configuration, the result and wavectl.json saying so. */
  const expectConfirmed = async (
    n: number,
    s: Awaited<ReturnType<typeof scene>>,
    run: CliRun,
  ): Promise<RouterResult> => {
    expect(run.stderr).not.toMatch(/at .*\.(ts|js|cjs):\d+/); // no stack trace
    const result = resultOf(run);
    expect(result, run.stderr).toMatchObject({ configuration: 'applied', host: configured(n) });
    expect(['changed', 'unchanged']).toContain(result.status);
    expect(run.code).toBe(0);
    // Confirmed, or its record gone with the reboot that follows a LAN move: nothing pending either way.
    expect(await truth(s.router)).toMatchObject({ lan: `10.8.${n}.1`, staged: '', host: configured(n) });
    expect(['confirmed', '']).toContain((await truth(s.router)).state);
    expect(await s.recorded()).toMatchObject({ host: configured(n), hostKey: s.router.fingerprint });
    return result;
  };

  /** The router back on its old configuration at its old address, and wavectl.json saying so. */
  const expectRolledBack = async (s: Awaited<ReturnType<typeof scene>>) => {
    expect(await truth(s.router)).toEqual({
      lan: '192.168.8.1',
      state: 'rolledback',
      staged: '',
      host: FACTORY,
    });
    expect(await s.recorded()).toMatchObject({ host: FACTORY, hostKey: s.router.fingerprint });
  };

  const blips: [LinkState, Moment, number][] = [
    ['reset', 'apply started', 40],
    ['reset', 'LAN moved', 41],
    ['reset', 'confirming', 42],
    ['blackhole', 'apply started', 43],
    ['blackhole', 'LAN moved', 44],
    ['blackhole', 'confirming', 45],
  ];

  it.concurrent.each(blips)(
    'a %s blip of the link at "%s", shorter than the rollback window, ends confirmed',
    async (state, moment, n) => {
      const s = await scene(n);
      const run = s.first();
      await reached(s.router, moment);
      s.router.link.set(state);
      await new Promise((r) => setTimeout(r, 1500));
      s.router.link.set('up');
      const result = await expectConfirmed(n, s, await run.done);
      expect(result.status).toBe('changed');
    },
  );

  const kills: [Moment, number][] = [
    ['apply started', 46],
    ['LAN moved', 47],
    ['confirming', 48],
  ];

  it.concurrent.each(kills)(
    'wavectl killed at "%s" and run again at once: the re-run confirms (or applies anew), never passes over it',
    async (moment, n) => {
      const s = await scene(n);
      const run = s.first();
      await reached(s.router, moment);
      run.child.kill('SIGKILL');
      expect((await run.done).code).toBe(128);
      // The killed run left its pin and the address it read the router at, before anything moved.
      expect(await s.recorded()).toMatchObject({ host: FACTORY, hostKey: s.router.fingerprint });
      const again = await s.again().done;
      const result = await expectConfirmed(n, s, again);
      // Killed after the LAN moved, the apply was surely pending when the re-run read the router.
      if (moment === 'LAN moved') expect(result).toMatchObject({ status: 'changed', resumed: true });
      if (result.status === 'changed' && result.resumed) expect(result.changes).toEqual([]);
      // The pending apply was confirmed within its window: the router never rolled back.
      expect(await s.router.sh('cat /etc/.sandbox/syslog 2>/dev/null; true')).not.toMatch(/restored/);
    },
  );

  it.concurrent('a re-run inside the window with another plan refuses, and the router rolls back by itself', async () => {
    const n = 49;
    const s = await scene(n, {}, ROLLBACK);
    const run = s.first();
    await reached(s.router, 'LAN moved');
    run.child.kill('SIGKILL');
    await run.done;
    // Meanwhile the access server moved to another port: the pending apply is not this plan.
    await s.edit((config) => {
      config.accessServers[0].listenPort = 51999;
    });
    expectFailed(
      await s.again().done,
      { step: 'read', configuration: 'unconfirmed' },
      /an earlier apply of another configuration is waiting for its confirmation; the router restores its previous configuration by itself/,
    );
    await waitFor('rollback', async () => expect(s.router.host).toBe(FACTORY), (ROLLBACK + 10) * 1000, 200);
    // The record still names where the router answers after its rollback.
    await expectRolledBack(s);
  });

  it.concurrent('a black hole longer than the rollback window: the router rolls back, wavectl says so and records its old address', async () => {
    const n = 50;
    const s = await scene(n, {}, ROLLBACK);
    const run = s.first(false);
    await reached(s.router, 'LAN moved');
    s.router.link.set('blackhole');
    await new Promise((r) => setTimeout(r, (ROLLBACK + 4) * 1000));
    s.router.link.set('up');
    const done = await run.done;
    expect(done.code).toBe(1);
    // Text output: the table names the step and what the router runs now.
    expect(done.stdout).toMatch(
      /confirm: the router rolled back the configuration before it was confirmed; it runs its previous configuration at 127\.0\.0\.1: run again/,
    );
    expect(done.stderr).toMatch(/^wavectl: 1 of 1 router\(s\) failed: site 50$/m);
    await expectRolledBack(s);
    // The next run applies again and confirms.
    await expectConfirmed(n, s, await s.again().done);
  });

  it.concurrent('a reboot inside the window: wavectl reports what the router runs after it, at the address it answers', async () => {
    const n = 51;
    const s = await scene(n);
    const run = s.first();
    await reached(s.router, 'LAN moved');
    await s.router.sh('reboot');
    const done = await run.done;
    const result = resultOf(done);
    const after = await truth(s.router);
    // Whatever the firmware does at boot (keep the committed configuration, or restore the previous one),
    // the result and the record follow the router.
    if (after.lan === `10.8.${n}.1`) {
      await expectConfirmed(n, s, done);
    } else {
      expect(after).toMatchObject({ lan: '192.168.8.1', host: FACTORY, staged: '' });
      expect(result).toMatchObject({ status: 'failed', configuration: 'previous', host: FACTORY });
      expect(await s.recorded()).toMatchObject({ host: FACTORY });
    }
    if (result.status === 'failed') expect(result.reason).not.toMatch(/did not answer/);
  });

  it.concurrent('names the signal when the out-of-memory killer stops opkg, and changes nothing', async () => {
    const n = 52;
    const s = await scene(n, {
      packages: ['kmod-wireguard', 'wireguard-tools', 'curl'],
      oomKilled: ['nmap'],
    });
    const reason = expectFailed(
      await s.first().done,
      { step: 'install', configuration: 'previous' },
      /opkg install nmap was killed by SIGKILL \(on a router usually the out-of-memory killer.*\); nothing was changed/,
    );
    expect(reason).not.toMatch(/connection dropped/);
    expect((await truth(s.router)).lan).toBe('192.168.8.1');
  });
});
