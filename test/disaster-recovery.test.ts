import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetParameterCommand, GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BackupResult } from '../src/backup/backup';
import type { RestoreResult } from '../src/backup/restore';
import type { WavectlConfig } from '../src/config/schema';
import { type RunningController, startController } from '../src/controller/server';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { runCli } from './helpers/cli';
import { initDeployment, motoWithManagedPolicies, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { describeWithNetns } from './helpers/netns';
import { freePort } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';
import { makeTempDir } from './helpers/tmp';

const NAME = 'dr';
const PASSPHRASE = 'a long backup passphrase';
const ROUTER_PASSWORD = 'router-password';

/**
 * Disaster recovery end to end against moto, a real controller on a real PostgreSQL and sandboxed routers:
 * a deployment with one access server and three configured sites, devices reported and a user; a backup;
 * the region lost (moto reset). Then both ways back: a restore into another region (same keys, the
 * database loaded), and the seed's recovery script run verbatim from a copy of wavectl.json.
 */
describeWithNetns('disaster recovery: backup and restore, or the seed script', () => {
  let moto: MotoServer;
  let postgres: PostgresServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let controller: RunningController;
  let port: number;
  let source: string;
  let archive: string;
  const routers: RouterSandbox[] = [];
  const hub = ['--reach', '127.8.{site}.1', '--rollback-timeout', '20', '--timeout', '30', '--json'];
  const before: { config?: WavectlConfig; secrets?: Record<string, string>; sites?: unknown[] } = {};

  const cli = (dir: string, args: string[], env: Record<string, string> = {}, stdin?: string) =>
    runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], {
      cwd: tmp.path,
      env: {
        WAVECTL_BACKUP_PASSPHRASE: PASSPHRASE,
        WAVECTL_ROUTER_PASSWORD: ROUTER_PASSWORD,
        SSH_AUTH_SOCK: '',
        ...env,
      },
      stdin,
    });
  const ok = async (run: ReturnType<typeof cli>) => {
    const done = await run;
    expect(done.code, done.stderr).toBe(0);
    return done;
  };
  const ssmOf = (region: string): SSMClient => rawClients(moto.endpoint, region).ssm;
  const secretsOf = async (region: string, name: string) => {
    const ssm = ssmOf(region);
    const out: Record<string, string> = {};
    let NextToken: string | undefined;
    do {
      const page = await ssm.send(
        new GetParametersByPathCommand({
          Path: `/waveshift/${name}/`,
          Recursive: true,
          WithDecryption: true,
          NextToken,
        }),
      );
      for (const p of page.Parameters ?? []) out[p.Name!] = p.Value!;
      NextToken = page.NextToken;
    } while (NextToken);
    ssm.destroy();
    return out;
  };
  const apiKey = async (region: string) => {
    const ssm = ssmOf(region);
    const out = await ssm.send(
      new GetParameterCommand({ Name: `/waveshift/${NAME}/api-key`, WithDecryption: true }),
    );
    ssm.destroy();
    return out.Parameter!.Value!;
  };
  const api = async <T>(path: string, key: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${controller.url}${path}`, {
      ...init,
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json', ...(init?.headers ?? {}) },
    });
    expect(res.status, `${path}: ${res.status}`).toBeLessThan(300);
    return (await res.json()) as T;
  };
  const config = async (dir: string) =>
    JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
  const databaseUrl = (db: string) => postgres.url.replace(/\/postgres$/, `/${db}`);
  const startLocalController = async (db: string, region: string) => {
    controller = await startController({
      host: '127.0.0.1',
      port,
      databaseUrl: await postgres.createDatabase(db),
      apiKey: await apiKey(region),
      logger: false,
    });
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
    source = await initDeployment(tmp.path, NAME, 'us-east-1', `http://127.0.0.1:${port}`);
  }, 120_000);
  afterAll(async () => {
    for (const r of routers) await r.stop();
    await controller?.close();
    await postgres?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('builds the source: deploy, one access server, three configured sites, a device report and a user', async () => {
    await ok(cli(source, ['deploy']));
    await startLocalController('source', 'us-east-1');
    await ok(cli(source, ['access-servers', '--add', '1']));
    await ok(cli(source, ['sites', '--add', '3']));
    // Three factory routers, configured in one parallel `--all` from their recorded addresses.
    routers.push(
      ...(await Promise.all(
        [0, 1, 2].map(() => startRouterSandbox({ password: ROUTER_PASSWORD, rebootDownMs: 200 })),
      )),
    );
    const recorded = await config(source);
    recorded.sites = recorded.sites.map((s, n) => ({
      ...s,
      router: { host: routers[n]!.host, port: routers[n]!.port, user: 'root' },
    }));
    await writeFile(join(source, 'wavectl.json'), JSON.stringify(recorded));
    const configured = await ok(cli(source, ['configure-hub', '--all', '--accept-new-host-key', ...hub]));
    expect(
      configured.json<ConfigureHubResult>().results.map((r) => [r.status, 'online' in r && r.online]),
    ).toEqual([
      ['changed', true],
      ['changed', true],
      ['changed', true],
    ]);
    const secrets = await secretsOf('us-east-1', NAME);
    const scannerKey = secrets[`/waveshift/${NAME}/sites/1/scanner-key`]!;
    await api('/api/sites/1/devices', scannerKey, {
      method: 'POST',
      body: JSON.stringify({
        scannedAt: new Date().toISOString(),
        devices: [{ ip: '10.8.1.23', mac: '00:11:22:33:44:55' }],
      }),
    });
    await api('/users', await apiKey('us-east-1'), {
      method: 'POST',
      body: JSON.stringify({ username: 'ada', password: 'correct horse battery', role: 'admin' }),
    });
    before.config = await config(source);
    before.secrets = secrets;
    before.sites = (await api<{ sites: unknown[] }>('/api/sites', await apiKey('us-east-1'))).sites;
    expect(before.config.sites.map((s) => s.number)).toEqual([0, 1, 2]);
    // The API key, the Kasm admin password and OpenID client secret, the CA key, the controller's TLS key and
    // certificate, the access server's key, and each site's two keys.
    expect(Object.keys(secrets)).toHaveLength(1 + 2 + 3 + 1 + 3 * 2);
  }, 180_000);

  it('backs up into one sealed archive with a manifest, and verifies it without restoring', async () => {
    archive = join(tmp.path, 'dr.wsb');
    const run = await ok(
      cli(source, ['backup', '--out', archive, '--json'], { DATABASE_URL: databaseUrl('source') }),
    );
    const result = run.json<BackupResult>();
    expect(result.manifest).toMatchObject({ deployment: NAME, region: 'us-east-1', missing: [] });
    expect(result.manifest.contents.map((e) => e.name)).toEqual(['wavectl.json', 'secrets', 'database']);
    expect(result.manifest.contents[1]!.detail).toBe('13 SSM parameters');
    // Table by table (the listing's order is the tables' dependency order, which new tables shift).
    const rowCounts = result.manifest.contents[2]!.detail.split(': ')[1]!.split(', ');
    expect(rowCounts).toEqual(
      expect.arrayContaining(['sites 3', 'users 1', 'api_keys 3', 'devices 1', 'scan_reports 1']),
    );
    const bytes = await readFile(archive);
    for (const value of Object.values(before.secrets!)) {
      expect(bytes.includes(Buffer.from(value))).toBe(false);
      expect(run.stdout + run.stderr).not.toContain(value);
    }
    expect((await import('node:fs')).statSync(archive).mode & 0o777).toBe(0o600);
    const again = await cli(source, ['backup', '--out', archive]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^wavectl: .*exists; choose another --out/);

    const verify = await ok(cli(source, ['backup', '--verify', archive]));
    expect(verify.stdout).toMatch(/dr\.wsb: valid/);
    expect(verify.stdout).toMatch(/secrets: 13 SSM parameters/);
  }, 60_000);

  it('refuses a wrong passphrase, a truncated or tampered archive and a non-empty target: one line, nothing changed', async () => {
    const bytes = await readFile(archive);
    const truncated = join(tmp.path, 'truncated.wsb');
    const tampered = join(tmp.path, 'tampered.wsb');
    await writeFile(truncated, bytes.subarray(0, bytes.length - 100));
    const changed = Buffer.from(bytes);
    changed[bytes.length - 300] = (changed[bytes.length - 300] ?? 0) ^ 0x20;
    await writeFile(tampered, changed);
    const cases: [string, string[], Record<string, string>, RegExp][] = [
      [
        'wrong',
        ['restore', archive],
        { WAVECTL_BACKUP_PASSPHRASE: 'not the passphrase' },
        /wrong passphrase/,
      ],
      ['truncated', ['restore', truncated], {}, /truncated/],
      ['tampered', ['restore', tampered], {}, /corrupt or was tampered with/],
      ['no-passphrase', ['restore', archive], { WAVECTL_BACKUP_PASSPHRASE: '' }, /passphrase is empty/],
    ];
    for (const [label, args, env, message] of cases) {
      const dir = join(tmp.path, `refused-${label}`);
      const run = await cli(dir, [...args, '--region', 'eu-west-1'], env);
      expect(run.code, label).not.toBe(0);
      // Progress lines may precede it; the failure itself is one line, without a stack.
      expect(
        run.stderr.split('\n').filter((l) => l.startsWith('wavectl:')),
        label,
      ).toHaveLength(1);
      expect(run.stderr, label).not.toMatch(/\n\s+at /);
      expect(run.stderr, label).toMatch(message);
      await expect(readdir(dir), label).rejects.toThrow(/ENOENT/);
    }
    const verify = await cli(source, ['backup', '--verify', tampered]);
    expect(verify.code).toBe(1);
    const full = join(tmp.path, 'occupied');
    await mkdir(full);
    await writeFile(join(full, 'notes.txt'), 'mine');
    const occupied = await cli(full, ['restore', archive]);
    expect(occupied.code).toBe(2);
    expect(occupied.stderr.trim()).toMatch(
      /^wavectl: .*occupied is not empty; restore into an empty directory/,
    );
    expect(await readdir(full)).toEqual(['notes.txt']);
    expect(await secretsOf('eu-west-1', NAME)).toEqual({});
  }, 60_000);

  it('after the region is lost, restores into eu-west-1: same keys, same registrations, nothing doubled', async () => {
    await controller.close();
    await moto.reset();
    expect(await secretsOf('us-east-1', NAME)).toEqual({});

    const target = join(tmp.path, 'restored');
    const restore = await ok(cli(target, ['restore', archive, '--region', 'eu-west-1', '--json']));
    expect(restore.json<RestoreResult>()).toMatchObject({
      region: 'eu-west-1',
      secrets: 13,
      sites: 3,
      databasePending: true,
    });
    const restoredSecrets = await secretsOf('eu-west-1', NAME);
    expect(restoredSecrets).toEqual(before.secrets);
    expect(await readdir(target)).toEqual(['wavectl.json', 'wavectl.restore.json']);
    // A restore into a path SSM already holds is refused.
    const twice = await cli(join(tmp.path, 'twice'), ['restore', archive, '--region', 'eu-west-1']);
    expect(twice.stderr).toMatch(/already holds 13 secrets under \/waveshift\/dr\//);

    await ok(cli(target, ['deploy']));
    await startLocalController('restored', 'eu-west-1');
    const db = await ok(
      cli(target, ['restore', '--database', archive], { DATABASE_URL: databaseUrl('restored') }),
    );
    expect(db.stdout).toMatch(/devices 1/);
    expect(await readdir(target)).not.toContain('wavectl.restore.json');
    await ok(cli(target, ['access-servers', '--add', '1']));
    await ok(cli(target, ['sites', '--add', '3']));

    const after = await config(target);
    expect(after.aws.region).toBe('eu-west-1');
    expect(after.sites.map((s) => [s.number, s.publicKey, s.registered])).toEqual(
      before.config!.sites.map((s) => [s.number, s.publicKey, true]),
    );
    expect(after.accessServers.map((a) => [a.index, a.publicKey])).toEqual(
      before.config!.accessServers.map((a) => [a.index, a.publicKey]),
    );
    expect(after.accessServers[0]!.instanceId).not.toBe(before.config!.accessServers[0]!.instanceId);
    expect(await secretsOf('eu-west-1', NAME)).toEqual(before.secrets);
    const key = await apiKey('eu-west-1');
    const strip = (sites: unknown[]) =>
      (sites as Record<string, unknown>[]).map(({ updatedAt: _u, ...s }) => s);
    expect(strip((await api<{ sites: unknown[] }>('/api/sites', key)).sites)).toEqual(strip(before.sites!));
    const devices = await api<{ devices: { mac: string }[] }>('/api/devices?site=1', key);
    expect(devices.devices.map((d) => d.mac)).toEqual(['00:11:22:33:44:55']);
    const users = await api<{ users: { username: string }[] }>('/users', key);
    expect(users.users.map((u) => u.username)).toEqual(['ada']);

    // Routers keep their keys: only the access server's address moved with the region.
    const hubRun = await ok(cli(target, ['configure-hub', '--all', ...hub]));
    for (const r of hubRun.json<ConfigureHubResult>().results) {
      if (r.status !== 'changed') throw new Error(`site ${r.site}: ${r.status}`);
      expect(r.changes.map((c) => c.resource)).toEqual(['network.waveshift_server.endpoint_host']);
      expect(r).toMatchObject({ online: true });
    }
    for (const [n, router] of routers.entries()) {
      expect((await router.sh('uci get network.waveshift.private_key')).trim()).toBe(
        before.secrets![`/waveshift/${NAME}/sites/${n}/wireguard-private-key`],
      );
    }
    const again = await ok(cli(target, ['configure-hub', '--all', ...hub]));
    expect(again.json<ConfigureHubResult>().results.map((r) => r.status)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
  }, 300_000);

  it('says plainly what an archive of a deployed controller lacks under the emulator', async () => {
    const target = join(tmp.path, 'restored');
    const file = await config(target);
    await writeFile(join(target, 'wavectl.json'), JSON.stringify({ ...file, controller: {} }));
    const run = await ok(cli(target, ['backup', '--out', join(tmp.path, 'no-db.wsb'), '--json']));
    const result = run.json<BackupResult>();
    expect(result.manifest.contents.map((e) => e.name)).toEqual(['wavectl.json', 'secrets']);
    expect(result.manifest.missing.join()).toMatch(
      /^database: not included — under an AWS emulator no SSM command runs/,
    );
    expect(run.stderr).toMatch(/lacks users, sessions, devices/);
    const load = await cli(target, ['restore', '--database', join(tmp.path, 'no-db.wsb')]);
    expect(load.code).toBe(1);
    expect(load.stderr).toMatch(/holds no controller database \(database: not included/);
  }, 60_000);

  it('or: the seed script, verbatim, from a copy of wavectl.json after the region is lost', async () => {
    // The restored deployment is lost too; only backup-wavectl.json, a copy of the source's file, is left.
    await moto.reset();
    await controller.close();
    const recovery = join(tmp.path, 'seed');
    await mkdir(recovery);
    await writeFile(join(recovery, 'backup-wavectl.json'), JSON.stringify(before.config));

    // cp backup-wavectl.json wavectl.json; wavectl deploy
    await copyFile(join(recovery, 'backup-wavectl.json'), join(recovery, 'wavectl.json'));
    // deploy launches the recorded access server again under its index; SSM lost its key, so a new one.
    const deployed = await ok(cli(recovery, ['deploy']));
    expect(deployed.stderr).toMatch(/access server 0 recorded but gone: launching again \(new keys for 0/);
    const relaunched = (await config(recovery)).accessServers;
    expect(relaunched.map((a) => [a.index, a.registered])).toEqual([[0, false]]);
    expect(relaunched[0]!.publicKey).not.toBe(before.config!.accessServers[0]!.publicKey);
    await startLocalController('seed', 'us-east-1');
    // wavectl access-servers --add N: finishes (registers) the recorded server; nothing is added.
    const servers = await ok(cli(recovery, ['access-servers', '--add', '1', '--json']));
    expect(servers.json()).toMatchObject({ accessServers: [{ index: 0, registered: true }], recreated: [] });
    const dryRun = await ok(cli(recovery, ['sites', '--add', '3', '--dry-run', '--json']));
    expect(dryRun.json()).toMatchObject({ renewKeys: [0, 1, 2], finish: [0, 1, 2], add: [] });
    // wavectl sites --add N: the recorded sites again with new keys, nothing added.
    const sites = await ok(cli(recovery, ['sites', '--add', '3', '--json']));
    expect(sites.json()).toMatchObject({ added: [], renewed: [0, 1, 2], finished: [0, 1, 2] });
    const after = await config(recovery);
    expect(after.accessServers.map((a) => a.index)).toEqual([0]);
    expect(after.sites.map((s) => [s.number, s.registered, s.router?.host])).toEqual([
      [0, true, '127.8.0.1'],
      [1, true, '127.8.1.1'],
      [2, true, '127.8.2.1'],
    ]);
    const key = await apiKey('us-east-1');
    const listed = await api<{ sites: { number: number }[] }>('/api/sites', key);
    expect(listed.sites.map((s) => s.number)).toEqual([0, 1, 2]);

    // for site in {0..N}; do wavectl configure-hub --site $site; done — {0..3} is one more than there are.
    for (const n of [0, 1, 2, 3]) {
      const run = await cli(recovery, ['configure-hub', '--site', String(n), ...hub]);
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
      expect(run.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'changed', online: true });
      expect((await routers[n]!.sh('uci get network.waveshift_server.public_key')).trim()).toBe(
        after.accessServers[0]!.publicKey,
      );
    }
    expect((await config(recovery)).sites.map((s) => s.number)).toEqual([0, 1, 2]);
    const again = await ok(cli(recovery, ['configure-hub', '--all', ...hub]));
    expect(again.json<ConfigureHubResult>().results.map((r) => [r.site, r.status])).toEqual([
      [0, 'unchanged'],
      [1, 'unchanged'],
      [2, 'unchanged'],
    ]);
  }, 300_000);
});
