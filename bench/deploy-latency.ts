/**
 * Deploy with a fixed latency added to every AWS call (a loopback proxy in front of moto that sleeps), then
 * prints the wall time against the longest dependency chain, and counts the API calls of a no-op re-deploy.
 * Run: bash bench/deploy-latency.sh [latency-ms]   (default 100 ms)
 */
import { join } from 'node:path';
import { DEPLOY_GRAPH, type DeployResult } from '../src/deploy/deploy';
import { criticalPath } from '../src/deploy/graph';
import { runCliProcess } from '../test/helpers/cli';
import { startAwsProxy } from '../test/helpers/deploy-aws-proxy';
import { initDeployment, motoWithManagedPolicies, PROFILE } from '../test/helpers/deploy-fixture';
import { applyEnv, startMoto, writeAwsProfile } from '../test/helpers/moto';
import { makeTempDir } from '../test/helpers/tmp';

type Applied = Extract<DeployResult, { mode: 'apply' }>;

const latencyMs = Number(process.argv[2] ?? process.env.BENCH_LATENCY_MS ?? 100);
motoWithManagedPolicies();
const moto = await startMoto();
const proxy = await startAwsProxy(moto.endpoint, { latencyMs });
const tmp = await makeTempDir('wavectl-bench-');
try {
  applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-east-1'));
  const dir = await initDeployment(tmp.path, 'bench', 'us-east-1');
  const args = ['deploy', '--json', '--dir', dir, '--endpoint-url', proxy.endpoint];
  // Warm moto's lazily built backends (first calls take seconds there, not on AWS) without the proxy's delay.
  await runCliProcess(['deploy', '--dry-run', '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir });

  proxy.resetCounts();
  const began = Date.now();
  const first = await runCliProcess(args, { cwd: dir, timeoutMs: 600_000 });
  const wallMs = Date.now() - began;
  if (first.code !== 0) throw new Error(`deploy failed: ${first.stderr}`);
  const result = JSON.parse(first.stdout) as Applied;
  const calls = Object.values(proxy.counts).reduce((a, b) => a + b, 0);
  const elapsed = new Map(result.steps.map((s) => [s.step, s.elapsedMs]));
  // Every step's plan needs the read phase first: it is the first link of the chain.
  const graph = [
    { id: 'read', needs: [] },
    ...DEPLOY_GRAPH.map((s) => ({ ...s, needs: [...s.needs, 'read'] })),
  ];
  elapsed.set('read', result.readMs);
  const chain = criticalPath(graph, (id) => elapsed.get(id) ?? 0);
  const serial = result.steps.reduce((sum, s) => sum + s.elapsedMs, 0);
  const chainCalls = chain.path.map((id) => Math.round((elapsed.get(id) ?? 0) / latencyMs));

  proxy.resetCounts();
  const again = await runCliProcess(args, { cwd: dir, timeoutMs: 600_000 });
  if (again.code !== 0) throw new Error(`re-deploy failed: ${again.stderr}`);
  const noop = JSON.parse(again.stdout) as Applied;
  const noopCalls = Object.values(proxy.counts).reduce((a, b) => a + b, 0);

  console.log(`latency added per AWS call: ${latencyMs} ms`);
  console.log(
    `first deploy: wall ${(wallMs / 1000).toFixed(1)} s (wavectl's own measure ${(result.elapsedMs / 1000).toFixed(1)} s), ${calls} API calls`,
  );
  console.log(
    `longest dependency chain: ${(chain.total / 1000).toFixed(1)} s ≈ ${chainCalls.reduce((a, b) => a + b, 0)} sequential calls × ${latencyMs} ms`,
  );
  console.log(
    `wavectl's own measure / chain: ${(result.elapsedMs / chain.total).toFixed(2)}×; wall / chain: ${(wallMs / chain.total).toFixed(2)}×`,
  );
  console.log(`  ${chain.path.map((id, i) => `${id} (${chainCalls[i]})`).join(' → ')}`);
  console.log(`sum of all steps if run one after another: ${(serial / 1000).toFixed(1)} s`);
  console.log(
    `no-op re-deploy: status ${noop.status}, ${noopCalls} API calls (${Object.entries(proxy.counts)
      .sort()
      .map(([s, n]) => `${s} ${n}`)
      .join(', ')}), wall ${(noop.elapsedMs / 1000).toFixed(1)} s`,
  );
} finally {
  await proxy.stop();
  await moto.stop();
  await tmp.remove();
}
