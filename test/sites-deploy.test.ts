import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WavectlConfig } from '../src/config/schema';
import type { RunningController } from '../src/controller/server';
import type { StatusResult } from '../src/deploy/status';
import { census, rawClients } from './helpers/deploy-fixture';
import {
  type LocalControllerDeployment,
  startLocalControllerDeployment,
} from './helpers/local-controller-deployment';
import type { MotoServer } from './helpers/moto';

const REGION = 'us-east-1';
const API_KEY = 'sites-deploy-test-key-0123456789abcdef';

/**
 * Access servers and sites on a deployment made by the real `deploy`: routes land in deploy's route tables,
 * `status` counts the access-server resources as expected (not drift), and `destroy` removes them with the rest.
 */
describe('sites and access servers on a real `deploy` (moto)', () => {
  let bed: LocalControllerDeployment;
  let moto: MotoServer;
  let controller: RunningController;
  let dir: string;
  const cli = (...args: string[]) => bed.cli(...args);

  beforeAll(async () => {
    bed = await startLocalControllerDeployment('joint', REGION, API_KEY);
    ({ moto, controller, dir } = bed);
  }, 120_000);
  afterAll(async () => {
    await bed?.stop();
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
    expect(status.drift).toEqual([]);
    // With controller.url set, the controller's health is its own /health answer, not an SSM command status.
    expect(status.controller.health).toBe('healthy');
    expect(status.controller.detail).toContain(`${controller.url}/health: HTTP 200, database ok`);
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
