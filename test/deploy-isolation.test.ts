import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import {
  census,
  FULL_DEPLOYMENT,
  initDeployment,
  motoWithManagedPolicies,
  PROFILE,
} from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

/** The oracle (raw describes written in the test helper, not wavectl's reading): every id, sorted. */
const ids = async (endpoint: string, deployment: string, region: string) =>
  (await census(endpoint, deployment, region)).found.map((f) => `${f.kind}/${f.id}`).sort();

describe('deployments side by side: two in one region, one in another', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const dirs: Record<string, string> = {};
  const cli = (key: string, ...args: string[]) =>
    runCli([...args, '--dir', dirs[key]!, '--endpoint-url', moto.endpoint], { cwd: dirs[key]! });

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-west-2'));
    dirs.a = await initDeployment(tmp.path, 'iso-a', 'us-west-2');
    dirs.b = await initDeployment(tmp.path, 'iso-b', 'us-west-2');
    dirs.eu = await initDeployment(tmp.path, 'iso-a', 'eu-west-2');
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  it('deployed concurrently, each has its own NAT gateway; destroying one leaves the others’ IDs unchanged', {
    timeout: 240_000,
  }, async () => {
    const runs = await Promise.all(['a', 'b', 'eu'].map((k) => cli(k, 'deploy', '--json')));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);

    const [a, b, eu] = await Promise.all([
      census(moto.endpoint, 'iso-a', 'us-west-2'),
      census(moto.endpoint, 'iso-b', 'us-west-2'),
      census(moto.endpoint, 'iso-a', 'eu-west-2'),
    ]);
    // Each deployment has every resource once — its own NAT gateway among them (none adopted another's).
    for (const each of [a, b, eu]) expect(each.counts).toEqual(FULL_DEPLOYMENT);
    const nats = [a, b, eu].map((each) => each.found.find((f) => f.kind === 'nat-gateway')!.id);
    expect(new Set(nats).size).toBe(3);
    const before = {
      b: await ids(moto.endpoint, 'iso-b', 'us-west-2'),
      eu: await ids(moto.endpoint, 'iso-a', 'eu-west-2'),
    };

    // Each sees only itself.
    for (const key of ['a', 'b', 'eu']) {
      const status = await cli(key, 'status', '--json');
      expect(status.code, status.stdout).toBe(0);
    }

    const gone = await cli('a', 'destroy', '--yes');
    expect(gone.code, gone.stderr).toBe(0);
    expect(await ids(moto.endpoint, 'iso-a', 'us-west-2')).toEqual([]);
    expect(await ids(moto.endpoint, 'iso-b', 'us-west-2')).toEqual(before.b);
    expect(await ids(moto.endpoint, 'iso-a', 'eu-west-2')).toEqual(before.eu);
    expect((await cli('b', 'deploy', '--json')).json<{ status: string }>().status).toBe('unchanged');
  });
});
