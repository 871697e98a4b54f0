import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCliProcess } from '../test/helpers/cli';
import { type SiteBed, startSiteBed } from '../test/helpers/site-bed';

/**
 * `sites --add 64` against moto and a local controller (real PostgreSQL), run as an operator would (the
 * built binary in its own process). Prints wall time and the controller round trips (each would be one SSM
 * relay call when the controller is reached through SSM).
 */
let bed: SiteBed;
beforeAll(async () => {
  bed = await startSiteBed();
}, 120_000);
afterAll(() => bed?.stop());

it('sites --add 64', async () => {
  const cli = (args: string[]) =>
    runCliProcess([...args, '--dir', bed.dir], { cwd: bed.dir, env: bed.env, timeoutMs: 600_000 });
  const server = await cli(['access-servers', '--add', '2']);
  expect(server.code, server.stderr).toBe(0);
  const rows: string[] = [];
  for (const round of [1, 2, 3, 4]) {
    bed.seen.length = 0;
    const started = process.hrtime.bigint();
    const run = await cli(['sites', '--add', '64', '--json']);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<{ added: number[]; controllerRoundTrips: number }>();
    rows.push(
      `round ${round}: sites ${result.added[0]}-${result.added.at(-1)}  wall ${(ms / 1000).toFixed(2)} s  controller round trips ${result.controllerRoundTrips}  controller requests seen ${bed.seen.length}`,
    );
  }
  console.log(`\nsites --add 64 (moto + local controller, built binary)\n${rows.join('\n')}\n`);
});
