import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WavectlConfig } from '../src/config/schema';
import { type RunningController, startController } from '../src/controller/server';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { runCli } from './helpers/cli';
import { motoWithManagedPolicies, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { describeWithNetns } from './helpers/netns';
import { freePort } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { hubArgs, type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';
import { makeTempDir } from './helpers/tmp';

const NAME = 'seed';
const PASSWORD = 'router-password';

/**
 * The seed's recovery script, verbatim, after the region is lost (a fresh moto) and the controller with it:
 *   cp backup-wavectl.json wavectl.json; wavectl deploy; wavectl access-servers --add N;
 *   wavectl sites --add N; for site in {0..N}; do wavectl configure-hub --site $site; done
 * over sandboxed routers that were configured before the loss.
 */
describeWithNetns('the seed recovery script after a region is lost', () => {
  let moto: MotoServer;
  let postgres: PostgresServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let controller: RunningController | undefined;
  let port: number;
  let source: string;
  const routers: RouterSandbox[] = [];
  const hub = ['--reach', '127.8.{site}.1', '--rollback-timeout', '20', '--timeout', '30', '--json'];
  const env = { WAVECTL_ROUTER_PASSWORD: PASSWORD, SSH_AUTH_SOCK: '' };

  const wavectl = (dir: string, ...args: string[]) =>
    runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir, env });
  const ok = async (run: ReturnType<typeof wavectl>) => {
    const done = await run;
    expect(done.code, done.stderr).toBe(0);
    return done;
  };
  const config = async (dir: string) =>
    JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
  /** The operator's local controller, as `controller serve --api-key-from-ssm` runs it after `deploy`. */
  const serveController = async (db: string) => {
    const ssm = rawClients(moto.endpoint, 'us-east-1').ssm;
    const key = await ssm.send(
      new GetParameterCommand({ Name: `/waveshift/${NAME}/api-key`, WithDecryption: true }),
    );
    ssm.destroy();
    controller = await startController({
      host: '127.0.0.1',
      port,
      databaseUrl: await postgres.createDatabase(db),
      apiKey: key.Parameter!.Value!,
      logger: false,
    });
    return key.Parameter!.Value!;
  };

  beforeAll(async () => {
    motoWithManagedPolicies();
    [moto, postgres, tmp, port] = await Promise.all([
      startMoto(),
      startPostgres(),
      makeTempDir(),
      freePort(),
    ]);
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-east-1'));
    source = join(tmp.path, 'source');
    await mkdir(source);
    const init = await runCli(
      ['init', '--identity-provider', 'local', '--profile', PROFILE, '--region', 'us-east-1', '--name', NAME],
      { cwd: source },
    );
    expect(init.code, init.stderr).toBe(0);
    const file = await config(source);
    await (await import('node:fs/promises')).writeFile(
      join(source, 'wavectl.json'),
      JSON.stringify({ ...file, controller: { url: `http://127.0.0.1:${port}` } }),
    );
  }, 120_000);
  afterAll(async () => {
    for (const r of routers) await r.stop();
    await controller?.close();
    await postgres?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('runs as written and ends with every site online, nothing doubled', async () => {
    // Before: a deployment with one access server and three configured routers.
    await ok(wavectl(source, 'deploy'));
    await serveController('before');
    await ok(wavectl(source, 'access-servers', '--add', '1'));
    await ok(wavectl(source, 'sites', '--add', '3'));
    for (const n of [0, 1, 2]) {
      const router = await startRouterSandbox({ password: PASSWORD, rebootDownMs: 200 });
      routers.push(router);
      const run = await ok(wavectl(source, 'configure-hub', ...hubArgs(n, router), ...hub));
      expect(run.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'changed', online: true });
    }
    const before = await config(source);
    const recovery = join(tmp.path, 'recovery');
    await mkdir(recovery);
    await copyFile(join(source, 'wavectl.json'), join(recovery, 'backup-wavectl.json'));

    // The region is lost, and the controller with it.
    await moto.reset();
    await controller!.close();
    controller = undefined;

    // cp backup-wavectl.json wavectl.json; wavectl deploy
    await copyFile(join(recovery, 'backup-wavectl.json'), join(recovery, 'wavectl.json'));
    await ok(wavectl(recovery, 'deploy'));
    const apiKey = await serveController('after');
    // wavectl access-servers --add N: the recorded server again, under its index (its key was lost: a new one).
    const servers = await ok(wavectl(recovery, 'access-servers', '--add', '1', '--json'));
    expect(servers.json()).toMatchObject({ recreated: [0], renewed: [0] });
    // wavectl sites --add N: the recorded sites again, new keys (SSM lost theirs), nothing added.
    const sites = await ok(wavectl(recovery, 'sites', '--add', '3', '--json'));
    expect(sites.json()).toMatchObject({ added: [], renewed: [0, 1, 2], finished: [0, 1, 2] });
    const after = await config(recovery);
    expect(after.accessServers.map((a) => a.index)).toEqual([0]);
    expect(after.accessServers[0]!.instanceId).not.toBe(before.accessServers[0]!.instanceId);
    expect(after.sites.map((s) => [s.number, s.registered, s.router?.host])).toEqual([
      [0, true, '127.8.0.1'],
      [1, true, '127.8.1.1'],
      [2, true, '127.8.2.1'],
    ]);
    const listed = await fetch(`${controller!.url}/api/sites`, { headers: { 'X-API-Key': apiKey } });
    expect(((await listed.json()) as { sites: { number: number }[] }).sites.map((s) => s.number)).toEqual([
      0, 1, 2,
    ]);

    // for site in {0..N}; do wavectl configure-hub --site $site; done — {0..3} is one more than there are.
    for (const n of [0, 1, 2, 3]) {
      const run = await wavectl(recovery, 'configure-hub', '--site', String(n), ...hub);
      if (n === 3) {
        expect(run.code).not.toBe(0);
        expect(
          run.stderr
            .split('\n')
            .filter((l) => l.startsWith('wavectl:'))
            .join('\n'),
        ).toMatch(/site 3 is not in wavectl.json/);
        continue;
      }
      expect(run.code, run.stderr).toBe(0);
      const [r] = run.json<ConfigureHubResult>().results;
      expect(r).toMatchObject({ status: 'changed', online: true });
      expect((await routers[n]!.sh('uci get network.waveshift.private_key')).trim()).not.toBe('');
    }
    expect((await config(recovery)).sites.map((s) => s.number)).toEqual([0, 1, 2]);
    // Every router now matches the rebuilt deployment: a second pass changes nothing.
    const again = await ok(wavectl(recovery, 'configure-hub', '--all', ...hub));
    expect(
      again.json<ConfigureHubResult>().results.map((r) => [r.site, r.status, 'online' in r && r.online]),
    ).toEqual([
      [0, 'unchanged', true],
      [1, 'unchanged', true],
      [2, 'unchanged', true],
    ]);
  }, 300_000);
});
