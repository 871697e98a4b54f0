import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WavectlConfig } from '../src/config/schema';
import { type RunningController, startController } from '../src/controller/server';
import type { StatusResult } from '../src/deploy/status';
import { runCli } from './helpers/cli';
import {
  census,
  initDeployment,
  motoWithManagedPolicies,
  PROFILE,
  rawClients,
} from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

const REGION = 'us-east-1';
const API_KEY = 'sites-deploy-test-key-0123456789abcdef';

/**
 * Access servers and sites on a deployment made by the real `deploy`: routes land in deploy's route tables,
 * `status` counts the access-server resources as expected (not drift), and `destroy` removes them with the rest.
 */
describe('sites and access servers on a real `deploy` (moto)', () => {
  let moto: MotoServer;
  let postgres: PostgresServer;
  let controller: RunningController;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  const cli = (...args: string[]) =>
    runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], {
      cwd: dir,
      env: { WAVESHIFT_API_KEY: API_KEY },
    });

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    postgres = await startPostgres();
    controller = await startController({
      host: '127.0.0.1',
      port: 0,
      databaseUrl: await postgres.createDatabase('sites_deploy'),
      apiKey: API_KEY,
      logger: false,
    });
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, REGION));
    dir = await initDeployment(tmp.path, 'joint', REGION);
    const file = join(dir, 'wavectl.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as WavectlConfig;
    await writeFile(file, JSON.stringify({ ...config, controller: { url: controller.url } }, null, 2));
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await postgres?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('deploys, then adds an access server and sites routed in deploy’s route tables', async () => {
    const deploy = await cli('deploy');
    expect(deploy.code, deploy.stderr).toBe(0);
    expect((await cli('access-servers', '--add', '1')).code).toBe(0);
    const sites = await cli('sites', '--add', '2');
    expect(sites.code, sites.stderr).toBe(0);
    const { ec2 } = rawClients(moto.endpoint, REGION);
    const tables = await ec2.send(
      new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:waveshift:deployment', Values: ['joint'] }] }),
    );
    const components = (tables.RouteTables ?? []).map((t) => [
      t.Tags?.find((tag) => tag.Key === 'waveshift:component')?.Value,
      (t.Routes ?? []).filter((r) => r.DestinationCidrBlock === '10.8.0.0/16').length,
    ]);
    expect(components.sort()).toEqual([
      ['private-route-table', 1],
      ['public-route-table', 1],
    ]);
    ec2.destroy();
  });

  it('is not drift for `status`, and `destroy` removes it with the rest', async () => {
    const status = (await cli('status', '--json')).json<StatusResult>();
    // The access server's instance, Elastic IP, security group, role and instance profile are all found…
    const mine = status.resources
      .filter((r) => r.component.startsWith('access-server'))
      .map((r) => `${r.kind}/${r.component}`);
    expect(mine.sort()).toEqual([
      'elastic-ip/access-server-0-eip',
      'iam-role/access-server',
      'instance-profile/access-server',
      'instance/access-server-0',
      'parameter/access-servers/0/wireguard-private-key',
      'security-group/access-server',
    ]);
    // …and none of them is drift.
    expect(status.drift.extra).toEqual([]);
    // With controller.url set, the controller's health is its own /health answer, not an SSM command status.
    expect(status.controller.health).toBe('healthy');
    expect(status.controller.detail).toContain(`${controller.url}/health: HTTP 200, database ok`);
    expect(status.drift.duplicates).toEqual([]);
    const { counts } = await census(moto.endpoint, 'joint', REGION);
    expect(counts['instance/access-server-0']).toBe(1);
    expect(counts['elastic-ip/access-server-0-eip']).toBe(1);
    await controller.close();
    const downRun = await cli('status', '--json');
    // An unhealthy controller fails the gate: exit 1, with the verdict in the JSON.
    expect(downRun.code).toBe(1);
    expect(downRun.json<{ verdict: { ok: boolean } }>().verdict.ok).toBe(false);
    const down = downRun.json<StatusResult>();
    expect(down.controller.health).toBe('unhealthy');
    expect(down.controller.detail).toMatch(/no answer/);
    const gone = await cli('destroy', '--yes');
    expect(gone.code, gone.stderr).toBe(0);
    expect((await census(moto.endpoint, 'joint', REGION)).found).toEqual([]);
    // wavectl.json keeps its settings but no longer claims live sites, access servers or resource IDs.
    expect((await cli('sites', '--list', '--json')).json()).toEqual({ sites: [] });
    expect((await cli('access-servers', '--list', '--json')).json()).toEqual({ accessServers: [] });
    const kept = JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
    expect(kept).toMatchObject({ name: 'joint', controller: { url: controller.url }, resources: {} });
  });
});
