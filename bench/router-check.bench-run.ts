import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckHubResult } from '../src/router/check-hub';
import { runCliProcess } from '../test/helpers/cli';
import { type RouterDeployment, startRouterDeployment } from '../test/helpers/router-deployment';
import { type RouterSandbox, startRouterSandbox } from '../test/helpers/router-sandbox';

/**
 * `wavectl configure-hub --check --all` over 64 sandboxed GL.iNet routers that configure-hub has set up,
 * run as an operator would (the built binary). Three rounds in sync, then one with every 8th router edited
 * by hand. Prints wall times and the SSH round trips each router received (one per check).
 */
const ROUTERS = Number(process.env.ROUTERS ?? 64);
const PASSWORD = 'bench-password';
const ENV = { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' };
let deployment: RouterDeployment;
const routers: RouterSandbox[] = [];

beforeAll(async () => {
  deployment = await startRouterDeployment('check-fleet');
  for (let n = 0; n < ROUTERS; n++) {
    const router = await startRouterSandbox({
      password: PASSWORD,
      rebootDownMs: 500,
      packages: ['kmod-wireguard', 'wireguard-tools', 'curl', 'nmap'],
    });
    routers.push(router);
    await deployment.addSite(n, `site-${n}`, { host: router.host, port: router.port });
  }
  const setUp = await runCliProcess(
    ['configure-hub', '--all', '--json', '--accept-new-host-key', '--reach', '127.8.{site}.1'],
    { cwd: deployment.dir, env: ENV, timeoutMs: 900_000 },
  );
  expect(setUp.code, setUp.stderr).toBe(0);
}, 900_000);
afterAll(async () => {
  for (const r of routers) await r.stop();
  await deployment?.stop();
});

it(`configure-hub --check --all over ${ROUTERS} routers`, async () => {
  const rows: string[] = [];
  for (const round of ['in sync 1', 'in sync 2', 'in sync 3', 'every 8th edited']) {
    if (round === 'every 8th edited') {
      for (let n = 0; n < ROUTERS; n += 8)
        await routers[n]!.sh("uci set dhcp.lan.leasetime='1h' && uci commit dhcp");
    }
    const before = routers.map((r) => r.execs.length);
    const started = process.hrtime.bigint();
    const run = await runCliProcess(['configure-hub', '--check', '--all', '--json', '--concurrency', '16'], {
      cwd: deployment.dir,
      env: ENV,
      timeoutMs: 600_000,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const result = run.json<CheckHubResult>();
    const edited = round === 'every 8th edited';
    expect(run.code, run.stderr).toBe(edited ? 1 : 0);
    expect(result.summary.drifted).toBe(edited ? Math.ceil(ROUTERS / 8) : 0);
    const trips = routers.map((r, i) => r.execs.length - before[i]!);
    rows.push(
      `${round.padEnd(17)} wall ${seconds.toFixed(2)} s  ${JSON.stringify(result.summary)}  SSH round trips per router: min ${Math.min(...trips)} max ${Math.max(...trips)}`,
    );
  }
  console.log(
    `\nconfigure-hub --check --all, ${ROUTERS} sandboxed routers, concurrency 16 (built binary)\n${rows.join('\n')}\n`,
  );
});
