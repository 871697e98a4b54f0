import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { runCliProcess } from '../test/helpers/cli';
import { type RouterDeployment, startRouterDeployment } from '../test/helpers/router-deployment';
import { type RouterSandbox, startRouterSandbox } from '../test/helpers/router-sandbox';

/**
 * `wavectl configure-hub --all` over 64 sandboxed GL.iNet routers (each a real SSH server with its own
 * namespaces), run as an operator would (the built binary in its own process): first configuration, then
 * the unchanged re-run. Prints wall times and the SSH round trips (exec requests) each router received.
 */
const ROUTERS = Number(process.env.ROUTERS ?? 64);
const PASSWORD = 'bench-password';
let deployment: RouterDeployment;
const routers: RouterSandbox[] = [];

beforeAll(async () => {
  deployment = await startRouterDeployment('fleet');
  for (let n = 0; n < ROUTERS; n++) {
    const router = await startRouterSandbox({
      password: PASSWORD,
      rebootDownMs: 500,
      packages: ['kmod-wireguard', 'wireguard-tools', 'curl', 'nmap'],
    });
    routers.push(router);
    await deployment.addSite(n, `site-${n}`, { host: router.host, port: router.port });
  }
}, 600_000);
afterAll(async () => {
  for (const r of routers) await r.stop();
  await deployment?.stop();
});

it(`configure-hub --all over ${ROUTERS} routers`, async () => {
  const rows: string[] = [];
  for (const round of ['first configuration', 'unchanged re-run']) {
    const before = routers.map((r) => r.execs.length);
    const started = process.hrtime.bigint();
    const run = await runCliProcess(
      [
        'configure-hub',
        '--all',
        '--json',
        '--accept-new-host-key',
        '--reach',
        '127.8.{site}.1',
        '--concurrency',
        '16',
      ],
      {
        cwd: deployment.dir,
        env: { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' },
        timeoutMs: 600_000,
      },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<ConfigureHubResult>();
    const trips = routers.map((r, i) => r.execs.length - before[i]!);
    const sorted = [...trips].sort((a, b) => a - b);
    rows.push(
      `${round.padEnd(20)} wall ${seconds.toFixed(1)} s  ${JSON.stringify(result.summary)}  SSH round trips per router: min ${sorted[0]} median ${sorted[Math.floor(sorted.length / 2)]} max ${sorted.at(-1)}`,
    );
  }
  console.log(
    `\nconfigure-hub --all, ${ROUTERS} sandboxed routers, concurrency 16 (built binary)\n${rows.join('\n')}\n`,
  );
});
