import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parameterNames } from '../src/aws/naming';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { runCliProcess } from '../test/helpers/cli';
import {
  type RouterDeployment,
  startRouterDeployment,
  wireGuardKeyPair,
} from '../test/helpers/router-deployment';
import { type RouterSandbox, startRouterSandbox } from '../test/helpers/router-sandbox';

/**
 * `wavectl configure-hub` over a fleet of sandboxed GL.iNet routers (each a real SSH server with its own
 * namespaces), run as an operator would (the built binary, one process per command):
 * - `--all` first configuration, then the unchanged re-run;
 * - with DR=1, the disaster-recovery loop as the seed wrote it: the sites' WireGuard keys changed, then one
 *   `wavectl configure-hub --site $site` process per site, in sequence.
 * For each phase: wall time, reboots, SSH round trips per router, and where the time goes: the routers'
 * own work (the sum of their exec times, by kind) against the client's time (wall × routers at once).
 */
const ROUTERS = Number(process.env.ROUTERS ?? 64);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
const DR = process.env.DR === '1';
const PASSWORD = 'bench-password';
let deployment: RouterDeployment;
const routers: RouterSandbox[] = [];
const rows: string[] = [];
/** CPU seconds of one node start (user + sys), what each sandboxed uci call costs. */
let nodeStartCpu = 0;
const CORES = 2;

const kindOf = (command: string) =>
  command.startsWith('echo @@wavectl:board')
    ? 'read'
    : command.includes('mktemp /tmp/wavectl.')
      ? 'apply'
      : command.startsWith('D=/tmp/waveshift-apply')
        ? 'confirm'
        : command.includes('reboot')
          ? 'reboot'
          : 'online';

const reboots = async () =>
  (
    await Promise.all(routers.map(async (r) => (await r.calls()).filter((c) => c === 'reboot').length))
  ).reduce((a, b) => a + b, 0);

async function measure(phase: string, parallel: number, run: () => Promise<void>) {
  const before = routers.map((r) => r.execs.length);
  const uciBefore = await Promise.all(routers.map((r) => r.uciCalls()));
  const rebootsBefore = await reboots();
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const trips = routers.map((r, i) => r.execs.length - before[i]!).sort((a, b) => a - b);
  const work = new Map<string, number>();
  for (const [i, r] of routers.entries())
    for (let e = before[i]!; e < r.execs.length; e++) {
      const kind = kindOf(r.execs[e]!);
      work.set(kind, (work.get(kind) ?? 0) + (r.execMs[e] ?? 0) / 1000);
    }
  const routerWork = [...work.values()].reduce((a, b) => a + b, 0);
  const uci = (await Promise.all(routers.map((r) => r.uciCalls()))).map((n, i) => n - uciBefore[i]!);
  const uciTotal = uci.reduce((a, b) => a + b, 0);
  const clientSlots = seconds * Math.min(parallel, ROUTERS);
  rows.push(
    `${phase.padEnd(34)} wall ${seconds.toFixed(1).padStart(6)} s  reboots ${String((await reboots()) - rebootsBefore).padStart(3)}  round trips/router min ${trips[0]} median ${trips[Math.floor(trips.length / 2)]} max ${trips.at(-1)}`,
    `${''.padEnd(34)} uci calls ${uciTotal} (${(uciTotal / ROUTERS).toFixed(1)}/router) x ${(nodeStartCpu * 1000).toFixed(0)} ms CPU each = ${(uciTotal * nodeStartCpu).toFixed(1)} CPU s: a floor of ${((uciTotal * nodeStartCpu) / CORES).toFixed(1)} s on ${CORES} cores (load average ${loadavg()[0]!.toFixed(1)})`,
    `${''.padEnd(34)} router exec time ${routerWork.toFixed(1)} s (${[...work].map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}) of ${clientSlots.toFixed(0)} client router-slot s: the client waits ${(100 - (100 * routerWork) / clientSlots).toFixed(0)}% of its time`,
  );
}

const hub = (args: string[]) =>
  runCliProcess(['configure-hub', '--json', '--accept-new-host-key', '--reach', '127.8.{site}.1', ...args], {
    cwd: deployment.dir,
    env: { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' },
    timeoutMs: 1_200_000,
  });

beforeAll(async () => {
  deployment = await startRouterDeployment('fleet');
  const started = Date.now();
  for (let n = 0; n < ROUTERS; n++) {
    const router = await startRouterSandbox({
      password: PASSWORD,
      rebootDownMs: 500,
      watchMs: ROUTERS > 64 ? 200 : 50,
      packages: ['kmod-wireguard', 'wireguard-tools', 'curl', 'nmap'],
    });
    routers.push(router);
    await deployment.addSite(n, `site-${n}`, { host: router.host, port: router.port });
  }
  rows.push(`${ROUTERS} sandboxed routers started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The floor of a sandboxed router's work: its uci is node, whose start dominates each call.
  const t = performance.now();
  for (let i = 0; i < 5; i++) await routers[0]!.sh('uci -q get network.lan.ipaddr');
  const times = spawnSync(
    'bash',
    ['-c', `TIMEFORMAT='%U %S'; time (for i in 1 2 3 4 5 6 7 8 9 10; do ${process.execPath} -e 0; done)`],
    { encoding: 'utf8' },
  ).stderr;
  const [user, sys] = times.trim().split(/\s+/).map(Number);
  nodeStartCpu = ((user ?? 0) + (sys ?? 0)) / 10;
  rows.push(
    `one sandbox uci call: ${((performance.now() - t) / 5).toFixed(0)} ms wall; one node start: ${(nodeStartCpu * 1000).toFixed(0)} ms CPU`,
  );
}, 1_800_000);

afterAll(async () => {
  for (const r of routers) await r.stop();
  await deployment?.stop();
});

it(`configure-hub over ${ROUTERS} routers`, async () => {
  const all = ['--all', '--concurrency', String(CONCURRENCY)];
  for (const phase of ['first configuration', 'unchanged re-run']) {
    await measure(`--all ${phase}`, CONCURRENCY, async () => {
      const run = await hub(all);
      expect(run.code, run.stderr).toBe(0);
      rows.push(`${''.padEnd(34)} ${JSON.stringify(run.json<ConfigureHubResult>().summary)}`);
    });
  }
  if (DR) {
    // Disaster recovery: every site got a new WireGuard key (SSM and wavectl.json).
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: deployment.moto.endpoint, profile: 'fleet' });
    const config = await deployment.readConfig();
    for (const site of config.sites) {
      const keys = wireGuardKeyPair();
      site.publicKey = keys.publicKey;
      await ssm.send(
        new PutParameterCommand({
          Name: parameterNames('fleet').sitePrivateKey(site.number),
          Value: keys.privateKey,
          Type: 'SecureString',
          Overwrite: true,
        }),
      );
    }
    ssm.destroy();
    await deployment.writeConfig(config);
    await measure('DR loop: one process per site', 1, async () => {
      const summary = { changed: 0, unchanged: 0, failed: 0, rebooted: 0 };
      for (const site of config.sites) {
        const run = await hub(['--site', String(site.number)]);
        const [r] = run.json<ConfigureHubResult>().results;
        if (r?.status === 'changed') summary.changed++;
        else if (r?.status === 'unchanged') summary.unchanged++;
        else summary.failed++;
        if (r && 'rebooted' in r && r.rebooted) summary.rebooted++;
      }
      rows.push(`${''.padEnd(34)} ${JSON.stringify(summary)}`);
      expect(summary.failed).toBe(0);
    });
  }
  console.log(
    `\nconfigure-hub, ${ROUTERS} sandboxed routers, --all at concurrency ${CONCURRENCY} (built binary)\n${rows.join('\n')}\n`,
  );
});
