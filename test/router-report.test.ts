import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningController, startController } from '../src/controller/server';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { hashScannerKey } from '../src/sites/scanner-key';
import { runCli } from './helpers/cli';
import { accessServerInput, DEPLOYMENT, TEST_API_KEY } from './helpers/controller';
import { describeWithNetns } from './helpers/netns';
import { waitFor } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { type RouterDeployment, startRouterDeployment } from './helpers/router-deployment';
import { hubArgs, type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

/**
 * The other evidence that a site is online: its first scanner report in the controller (real controller,
 * real PostgreSQL, reached over HTTP through controller.url), for a router whose tunnel shows no handshake.
 */
describeWithNetns('configure-hub confirms a site online by its first scanner report', () => {
  let pg: PostgresServer;
  let controller: RunningController;
  let deployment: RouterDeployment;
  const routers: RouterSandbox[] = [];
  const scannerKey = (n: number) => Buffer.alloc(32, n + 1).toString('base64url');

  const api = async (
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = DEPLOYMENT,
  ) => {
    const res = await fetch(`${controller.url}${path}`, {
      method,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };

  const addRegisteredSite = async (n: number) => {
    await deployment.addSite(n);
    await api('PUT', `/api/sites/${n}`, {
      name: `site-${n}`,
      cidr: `10.8.${n}.0/24`,
      publicKey: deployment.siteKeys.get(n)!.publicKey,
      accessServer: 0,
      scannerKeyHash: hashScannerKey(scannerKey(n)),
    });
  };

  const configureHub = (router: RouterSandbox, site: number, timeout: number) =>
    runCli(
      [
        'configure-hub',
        '--json',
        ...hubArgs(site, router),
        '--reach',
        '127.8.{site}.1',
        '--timeout',
        String(timeout),
      ],
      {
        cwd: deployment.dir,
        env: { WAVECTL_ROUTER_PASSWORD: 'pw', SSH_AUTH_SOCK: '', WAVESHIFT_API_KEY: TEST_API_KEY },
      },
    );

  beforeAll(async () => {
    pg = await startPostgres();
    controller = await startController({
      host: '127.0.0.1',
      port: 0,
      databaseUrl: await pg.createDatabase('online'),
      apiKey: TEST_API_KEY,
      logger: false,
    });
    deployment = await startRouterDeployment('online');
    const config = await deployment.readConfig();
    config.controller = { url: controller.url };
    await deployment.writeConfig(config);
    await api('PUT', '/api/access-servers/0', accessServerInput(0));
  });

  afterAll(async () => {
    for (const r of routers) await r.stop();
    await deployment?.stop();
    await controller?.close();
    await pg?.stop();
  });

  it('is online once the scanner reports after the reboot, though no handshake is seen', async () => {
    await addRegisteredSite(30);
    const router = await startRouterSandbox({ password: 'pw', tunnel: 'down', rebootDownMs: 200 });
    routers.push(router);
    const running = configureHub(router, 30, 30);
    // What the router's scanner does on its first cron run after the reboot.
    await waitFor(
      'the reboot',
      async () => {
        if (!(await router.calls()).includes('reboot')) throw new Error('not yet');
      },
      30_000,
      100,
    );
    await api(
      'POST',
      '/api/sites/30/devices',
      {
        scannedAt: new Date().toISOString(),
        devices: [{ ip: '10.8.30.1' }, { ip: '10.8.30.100', mac: '02:00:00:00:00:01' }],
      },
      { 'x-api-key': scannerKey(30) },
    );
    const run = await running;
    expect(run.stderr).not.toMatch(/wavectl:/);
    expect(run.code).toBe(0);
    expect(run.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'changed', online: true });
    expect(run.events).toContainEqual(
      expect.objectContaining({
        kind: 'step',
        id: 'site 30: online',
        state: 'done',
        detail: 'scanner report received',
      }),
    );
  });

  it('fails at the time limit when neither a handshake nor a report arrives', async () => {
    await addRegisteredSite(31);
    const router = await startRouterSandbox({ password: 'pw', tunnel: 'down', rebootDownMs: 200 });
    routers.push(router);
    const run = await configureHub(router, 31, 8);
    expect(run.code).toBe(1);
    const [r] = run.json<ConfigureHubResult>().results;
    expect(r).toMatchObject({ status: 'failed', step: 'online' });
    if (r?.status !== 'failed') throw new Error('not failed');
    expect(r.reason).toMatch(/no tunnel handshake and no scanner report within 8s/);
  });
});
