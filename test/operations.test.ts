import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGrace } from '../src/api-key/rotate';
import { DeploymentKeyRing } from '../src/controller/auth/deployment-keys';
import { hashScannerKey } from '../src/controller/auth/scanner-key';
import { type RunningController, startController } from '../src/controller/server';
import { UsageError } from '../src/errors';
import { runCli } from './helpers/cli';
import { initDeployment, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

const hash = (k: string) => hashScannerKey(k);

describe('the deployment key ring', () => {
  it('accepts the previous key only within its grace period', () => {
    let now = 1_000_000;
    const ring = new DeploymentKeyRing(hash('old'), () => now);
    expect(ring.accepts(hash('old'))).toBe(true);
    expect(ring.rotate(hash('new'), 60)).toEqual({ previousValidUntil: new Date(1_060_000).toISOString() });
    expect([ring.accepts(hash('old')), ring.accepts(hash('new')), ring.accepts(hash('other'))]).toEqual([
      true,
      true,
      false,
    ]);
    now += 59_999;
    expect(ring.accepts(hash('old'))).toBe(true);
    now += 1;
    expect(ring.accepts(hash('old'))).toBe(false);
    expect(ring.previousValidUntil()).toBeNull();
  });

  it('refuses the old key at once with no grace, and a repeated rotation to the same key changes nothing', () => {
    const ring = new DeploymentKeyRing(hash('a'), () => 0);
    ring.rotate(hash('b'), 0);
    expect(ring.accepts(hash('a'))).toBe(false);
    ring.rotate(hash('b'), 100);
    expect(ring.accepts(hash('a'))).toBe(false);
    expect(ring.accepts(hash('b'))).toBe(true);
  });

  it('parses grace durations', () => {
    expect([parseGrace('0'), parseGrace('90s'), parseGrace('10m'), parseGrace('2h')]).toEqual([
      0, 90, 600, 7200,
    ]);
    for (const bad of ['', '1d', '-1m', '10 m', '200h'])
      expect(() => parseGrace(bad), bad).toThrow(UsageError);
  });
});

describe('api-key rotate against moto and the real controller, a scanner reporting throughout', () => {
  const NAME = 'rot';
  const OLD = 'the-old-deployment-key-0123456789abcdef';
  let moto: MotoServer;
  let postgres: PostgresServer;
  let controller: RunningController;
  let ssm: SSMClient;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let databaseUrl: string;

  const ssmKey = async () =>
    (await ssm.send(new GetParameterCommand({ Name: `/waveshift/${NAME}/api-key`, WithDecryption: true })))
      .Parameter!.Value!;
  const status = async (key: string, path = '/api/sites') =>
    (await fetch(`${controller.url}${path}`, { headers: { 'X-API-Key': key } })).status;

  beforeAll(async () => {
    [moto, postgres, tmp] = await Promise.all([startMoto(), startPostgres(), makeTempDir()]);
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-east-1'));
    ssm = rawClients(moto.endpoint, 'us-east-1').ssm;
    // As `deploy` leaves it: the deployment key in SSM, the controller started with it.
    await ssm.send(
      new PutParameterCommand({ Name: `/waveshift/${NAME}/api-key`, Value: OLD, Type: 'SecureString' }),
    );
    databaseUrl = await postgres.createDatabase('rotate');
    controller = await startController({
      host: '127.0.0.1',
      port: 0,
      databaseUrl,
      apiKey: OLD,
      logger: false,
    });
    dir = await initDeployment(tmp.path, NAME, 'us-east-1', controller.url);
    const site = await fetch(`${controller.url}/api/sites`, {
      method: 'PUT',
      headers: { 'X-API-Key': OLD, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        sites: [
          {
            number: 0,
            name: 'site-0',
            cidr: '10.8.0.0/24',
            publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
            accessServer: 0,
            scannerKeyHash: hash('scanner-key-of-site-0-0123456789abcdef'),
          },
        ],
      }),
    });
    expect(site.status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    ssm?.destroy();
    await controller?.close();
    await postgres?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('refuses at once under the emulator without controller.url, changing nothing', async () => {
    const other = await initDeployment(join(tmp.path, 'relay'), NAME, 'us-east-1');
    const run = await runCli(['api-key', 'rotate', '--dir', other, '--endpoint-url', moto.endpoint], {
      cwd: other,
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(
      /^wavectl: under an AWS emulator no SSM command runs.*controller\.url.*nothing was changed$/,
    );
    expect(await ssmKey()).toBe(OLD);
  });

  it('moves to a new key with a grace period; no report is lost, wavectl follows SSM, the old key is refused after', async () => {
    let reporting = true;
    const reports: { status: number; at: number }[] = [];
    const wavectlView: number[] = [];
    let scan = Date.parse('2026-01-01T00:00:00Z');
    const reporter = (async () => {
      while (reporting) {
        scan += 60_000;
        const res = await fetch(`${controller.url}/api/sites/0/devices`, {
          method: 'POST',
          headers: {
            'X-API-Key': 'scanner-key-of-site-0-0123456789abcdef',
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ scannedAt: new Date(scan).toISOString(), devices: [{ ip: '10.8.0.10' }] }),
        });
        reports.push({ status: res.status, at: Date.now() });
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    // What wavectl does on each run: read the deployment key from SSM, then call the controller.
    const operator = (async () => {
      while (reporting) {
        wavectlView.push(await status(await ssmKey()));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    // The first report warms the controller's ingest up (vendor table); rotate once reports are flowing.
    while (reports.length < 2 || wavectlView.length < 2) await new Promise((r) => setTimeout(r, 20));

    const run = await runCli(
      ['api-key', 'rotate', '--grace', '3s', '--json', '--dir', dir, '--endpoint-url', moto.endpoint],
      {
        cwd: dir,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<{ previousValidUntil: string; controllerFiles: string }>();
    expect(result.controllerFiles).toBe('not-applicable');
    const NEW = await ssmKey();
    expect(NEW).not.toBe(OLD);
    expect(run.stdout + run.stderr).not.toContain(NEW);
    // Within the grace period both keys work.
    expect([await status(OLD), await status(NEW)]).toEqual([200, 200]);
    await new Promise((r) =>
      setTimeout(r, Math.max(0, Date.parse(result.previousValidUntil) - Date.now()) + 200),
    );
    expect([await status(OLD), await status(NEW)]).toEqual([401, 200]);
    await new Promise((r) => setTimeout(r, 200));
    reporting = false;
    await Promise.all([reporter, operator]);

    // Reports went on before the rotation, during the grace period and after it: all accepted.
    const rotatedAt = Date.parse(result.previousValidUntil) - 3000;
    expect(reports.some((r) => r.at < rotatedAt)).toBe(true);
    expect(reports.some((r) => r.at > rotatedAt && r.at < rotatedAt + 3000)).toBe(true);
    expect(reports.some((r) => r.at > rotatedAt + 3000)).toBe(true);
    expect(reports.filter((r) => r.status !== 200)).toEqual([]);
    expect(wavectlView.filter((s) => s !== 200)).toEqual([]);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const stored = await client.query('select count(*)::int as n from scan_reports where site = 0');
    const audit = await client.query("select actor from audit_log where action = 'deployment-key.rotate'");
    await client.end();
    expect(stored.rows[0].n).toBe(reports.length);
    expect(audit.rows).toEqual([{ actor: 'deployment-key' }]);
    await expect(
      ssm.send(new GetParameterCommand({ Name: `/waveshift/${NAME}/api-key-next` })),
    ).rejects.toThrow(/ParameterNotFound|not found/i);
  }, 60_000);

  it('exports sites, users and devices as JSON, CSV and files', async () => {
    const cli = (...args: string[]) =>
      runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir });
    await fetch(`${controller.url}/users`, {
      method: 'POST',
      headers: { 'X-API-Key': await ssmKey(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'ada', password: 'correct horse battery', role: 'admin' }),
    });
    const json = await cli('export', '--sites', '--users', '--devices', '--json');
    expect(json.code, json.stderr).toBe(0);
    const data = json.json<{
      sites: unknown[];
      users: { username: string }[];
      devices: { ip: string; site: number }[];
    }>();
    // wavectl.json records no site here (they were registered straight with the controller): none to join.
    expect(data.sites).toEqual([]);
    expect(data.users.map((u) => u.username)).toEqual(['ada']);
    expect(data.devices.map((d) => [d.site, d.ip])).toEqual([[0, '10.8.0.10']]);
    expect(json.stdout).not.toMatch(/scrypt|password/);

    const csv = await cli('export', '--devices', '--csv');
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\r\n')[0]).toBe(
      'site,ip,mac,hostname,vendor,online,firstSeen,lastSeen,missedScans',
    );
    expect(csv.stdout.split('\r\n')[1]).toMatch(/^0,10\.8\.0\.10,,,,true,/);

    const out = join(tmp.path, 'export');
    const files = await cli('export', '--users', '--devices', '--csv', '--out', out);
    expect(files.code, files.stderr).toBe(0);
    expect((await readFile(join(out, 'users.csv'), 'utf8')).split('\r\n')[1]).toMatch(
      /^\d+,ada,,admin,false,/,
    );

    const mixed = await cli('export', '--users', '--devices', '--csv');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr.trim()).toMatch(/^wavectl: CSV holds one table/);
    const none = await cli('export');
    expect(none.code).toBe(2);
  });

  it('backs up two regions of one account and restores them concurrently, each into its own place', async () => {
    const regions = ['us-east-1', 'eu-west-1'] as const;
    const env = { WAVECTL_BACKUP_PASSPHRASE: 'two regions, one passphrase' };
    const secrets = (region: string) => ({
      '/waveshift/twin/api-key': `api-key-of-${region}-0123456789`,
      '/waveshift/twin/sites/0/scanner-key': `scanner-key-of-${region}-0123456789`,
    });
    const dirs = await Promise.all(
      regions.map(async (region) => {
        const ssmOfRegion = rawClients(moto.endpoint, region).ssm;
        for (const [Name, Value] of Object.entries(secrets(region))) {
          await ssmOfRegion.send(new PutParameterCommand({ Name, Value, Type: 'SecureString' }));
        }
        ssmOfRegion.destroy();
        return initDeployment(join(tmp.path, 'twins'), 'twin', region);
      }),
    );
    const backups = await Promise.all(
      dirs.map((d, i) =>
        runCli(
          [
            'backup',
            '--out',
            join(tmp.path, `twin-${i}.wsb`),
            '--json',
            '--dir',
            d,
            '--endpoint-url',
            moto.endpoint,
          ],
          {
            cwd: d,
            env,
          },
        ),
      ),
    );
    for (const b of backups) expect(b.code, b.stderr).toBe(0);
    // Each restored under a new name in the other region, at once.
    const restores = await Promise.all(
      regions.map((_, i) =>
        runCli(
          [
            'restore',
            join(tmp.path, `twin-${i}.wsb`),
            '--name',
            `twin-${i}`,
            '--region',
            regions[1 - i]!,
            '--dir',
            join(tmp.path, `twin-restored-${i}`),
            '--endpoint-url',
            moto.endpoint,
          ],
          { cwd: tmp.path, env },
        ),
      ),
    );
    for (const r of restores) expect(r.code, r.stderr).toBe(0);
    for (const [i, region] of regions.entries()) {
      const target = rawClients(moto.endpoint, regions[1 - i]!).ssm;
      for (const [name, value] of Object.entries(secrets(region))) {
        const renamed = name.replace('/waveshift/twin/', `/waveshift/twin-${i}/`);
        const got = await target.send(new GetParameterCommand({ Name: renamed, WithDecryption: true }));
        expect(got.Parameter?.Value).toBe(value);
      }
      target.destroy();
      const restored = JSON.parse(
        await readFile(join(tmp.path, `twin-restored-${i}`, 'wavectl.json'), 'utf8'),
      );
      expect([restored.name, restored.aws.region]).toEqual([`twin-${i}`, regions[1 - i]]);
    }
  });

  it('two restores racing for one name: at most one wins, the loser removes only what it wrote', async () => {
    const env = { WAVECTL_BACKUP_PASSPHRASE: 'two regions, one passphrase' };
    const runs = await Promise.all(
      [0, 1].map((i) =>
        runCli(
          [
            'restore',
            join(tmp.path, 'twin-0.wsb'),
            '--name',
            'race',
            '--dir',
            join(tmp.path, `race-${i}`),
            '--endpoint-url',
            moto.endpoint,
          ],
          { cwd: tmp.path, env },
        ),
      ),
    );
    const winners = runs.filter((r) => r.code === 0);
    expect(winners.length).toBeLessThanOrEqual(1);
    const ssmUs = rawClients(moto.endpoint, 'us-east-1').ssm;
    const stored = await Promise.all(
      ['api-key', 'sites/0/scanner-key'].map((p) =>
        ssmUs.send(new GetParameterCommand({ Name: `/waveshift/race/${p}`, WithDecryption: true })).then(
          (o) => o.Parameter?.Value,
          () => undefined,
        ),
      ),
    );
    ssmUs.destroy();
    expect(stored).toEqual(
      winners.length === 1
        ? ['api-key-of-us-east-1-0123456789', 'scanner-key-of-us-east-1-0123456789']
        : [undefined, undefined],
    );
  });
});
