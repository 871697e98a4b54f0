import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/controller/app';
import { MigrationError, migrate } from '../src/controller/db/migrate';
import { MIGRATIONS } from '../src/controller/db/migrations';
import { loadProviderKeys } from '../src/controller/oidc/keys';
import { startController } from '../src/controller/server';
import { runCli } from './helpers/cli';
import { asScanner, DEPLOYMENT, siteInput, TEST_API_KEY } from './helpers/controller';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { cliBundle, repoRoot } from './helpers/paths';
import { freePort, waitFor } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';
import { watch } from './helpers/watch';

const VERSIONS = MIGRATIONS.map((m) => m.version);
const LATEST = VERSIONS.at(-1)!;
const TABLES = [
  'access_servers',
  'api_keys',
  'audit_log',
  'device_events',
  'devices',
  'group_members',
  'groups',
  'oidc_keys',
  'oidc_payloads',
  'oidc_pending_second_factor',
  'scan_reports',
  'schema_migrations',
  'sessions',
  'sites',
  'users',
];

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => server?.stop());

describe('migrations', () => {
  const withPool = async <T>(name: string, work: (pool: pg.Pool) => Promise<T>) => {
    const pool = new pg.Pool({ connectionString: await server.createDatabase(name) });
    try {
      return await work(pool);
    } finally {
      await pool.end();
    }
  };

  it('build the schema from an empty database, and a re-run applies nothing', async () => {
    await withPool('mig_empty', async (pool) => {
      expect(await migrate(pool)).toEqual({ applied: VERSIONS, current: LATEST });
      const { rows } = await pool.query(
        "select tablename from pg_tables where schemaname = 'public' order by 1",
      );
      expect(rows.map((r) => r.tablename)).toEqual(TABLES);
      expect(await migrate(pool)).toEqual({ applied: [], current: LATEST });
    });
  });

  it('give the OpenID provider an RS256 key once, also where an earlier controller made ES256 only', async () => {
    await withPool('mig_oidc_keys', async (pool) => {
      await migrate(pool);
      await pool.query(
        `insert into oidc_keys (id, jwks, cookie_keys) values (1, '{"keys":[{"kty":"EC","alg":"ES256","kid":"old"}]}', '["c"]')`,
      );
      const other = new pg.Pool({ connectionString: pool.options.connectionString });
      try {
        const [a, b] = await Promise.all([loadProviderKeys(pool), loadProviderKeys(other)]);
        expect(a).toEqual(b);
        expect(a.jwks.keys.map((k) => k.alg)).toEqual(['RS256', 'ES256']);
        expect(a.jwks.keys[1]!.kid).toBe('old');
        expect((await loadProviderKeys(pool)).jwks).toEqual(a.jwks);
      } finally {
        await other.end();
      }
    });
  });

  it('apply once when two controllers start at the same moment', async () => {
    await withPool('mig_race', async (pool) => {
      const other = new pg.Pool({ connectionString: pool.options.connectionString });
      try {
        const results = await Promise.all([migrate(pool), migrate(other)]);
        expect(results.flatMap((r) => r.applied)).toEqual(VERSIONS);
      } finally {
        await other.end();
      }
    });
  });

  it('roll back every step of a failing run', async () => {
    await withPool('mig_fail', async (pool) => {
      const broken = [
        ...MIGRATIONS,
        {
          version: LATEST + 1,
          name: 'broken',
          sql: 'create table later (id int); select nonsense from nowhere;',
        },
      ];
      await expect(migrate(pool, broken)).rejects.toThrow(/nowhere/);
      const { rows } = await pool.query(
        "select count(*)::int as n from pg_tables where schemaname = 'public'",
      );
      expect(rows[0].n).toBe(0);
    });
  });

  it('refuse a database migrated by a newer controller, or an edited migration', async () => {
    await withPool('mig_guard', async (pool) => {
      const newer = [
        ...MIGRATIONS,
        { version: LATEST + 1, name: 'next', sql: 'create table next_thing (id int);' },
      ];
      await migrate(pool, newer);
      await expect(migrate(pool)).rejects.toThrow(MigrationError);
      await expect(migrate(pool)).rejects.toThrow(new RegExp(`migration ${LATEST + 1}, unknown`));
      const edited = [
        ...MIGRATIONS,
        { version: LATEST + 1, name: 'next', sql: 'create table next_thing (id bigint);' },
      ];
      await expect(migrate(pool, edited)).rejects.toThrow(/changed after it was applied/);
    });
  });

  it('buildApp fails with the database error when PostgreSQL cannot be reached', async () => {
    const port = await freePort();
    await expect(
      buildApp({ databaseUrl: `postgres://nobody@127.0.0.1:${port}/none`, apiKey: TEST_API_KEY }),
    ).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

describe('embedded PostgreSQL', () => {
  it('boots in a data directory, keeps data across a restart, and runs the server as an unprivileged user', async () => {
    const tmp = await makeTempDir('wavectl-embedded-');
    try {
      execFileSync('chmod', ['755', tmp.path]); // mkdtemp's 700 would keep the postgres user out
      const dataDir = join(tmp.path, 'controller data');
      const first = await startController({ host: '127.0.0.1', port: 0, apiKey: TEST_API_KEY, dataDir });
      try {
        const put = await fetch(`${first.url}/api/sites/7`, {
          method: 'PUT',
          headers: { ...DEPLOYMENT, 'content-type': 'application/json' },
          body: JSON.stringify(siteInput(7)),
        });
        expect(put.status).toBe(200);
        if (process.getuid?.() === 0) {
          const postgresUid = Number(execFileSync('id', ['-u', 'postgres']).toString());
          expect(statSync(join(dataDir, 'pgdata')).uid).toBe(postgresUid);
          const owners = execFileSync('ps', ['-o', 'user=', '-C', 'postgres']).toString();
          expect(owners).toMatch(/postgres/);
          expect(owners).not.toMatch(/root/);
        }
        expect(statSync(join(dataDir, 'postgres-password')).mode & 0o777).toBe(0o600);
      } finally {
        await first.close();
      }
      const second = await startController({ host: '127.0.0.1', port: 0, apiKey: TEST_API_KEY, dataDir });
      try {
        const res = await fetch(`${second.url}/api/sites/7`, { headers: DEPLOYMENT });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { site: { name: string } }).site.name).toBe('site-7');
      } finally {
        await second.close();
      }
    } finally {
      await tmp.remove();
    }
  });

  it('explains when the postgres user cannot reach the data directory', async () => {
    if (process.getuid?.() !== 0) return; // only root hands the cluster to another user
    const tmp = await makeTempDir('wavectl-embedded-');
    try {
      execFileSync('chmod', ['700', tmp.path]);
      await expect(
        startController({
          host: '127.0.0.1',
          port: 0,
          apiKey: TEST_API_KEY,
          dataDir: join(tmp.path, 'sub', 'data'),
        }),
      ).rejects.toThrow(/cannot enter .*choose a --data-dir/);
    } finally {
      await tmp.remove();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a request in flight, refuses new ones, then closes the pool', async () => {
    const databaseUrl = await server.createDatabase('shutdown');
    const controller = await startController({
      host: '127.0.0.1',
      port: 0,
      apiKey: TEST_API_KEY,
      databaseUrl,
    });
    const blocker = new pg.Client({ connectionString: databaseUrl });
    const observer = new pg.Client({ connectionString: databaseUrl });
    await blocker.connect();
    await observer.connect();
    try {
      const put = await fetch(`${controller.url}/api/sites/9`, {
        method: 'PUT',
        headers: { ...DEPLOYMENT, 'content-type': 'application/json' },
        body: JSON.stringify(siteInput(9)),
      });
      expect(put.status).toBe(200);
      // Hold the site's row: the report below waits for it, in flight, while the controller is asked to stop.
      await blocker.query('begin');
      await blocker.query('select * from sites where number = 9 for update');
      const inFlight = fetch(`${controller.url}/api/sites/9/devices`, {
        method: 'POST',
        headers: { ...asScanner(9), 'content-type': 'application/json' },
        body: JSON.stringify({ scannedAt: '2026-01-01T00:00:00Z', devices: [{ ip: '10.8.9.10' }] }),
      });
      await waitFor('the report to wait on the lock', async () => {
        // Outside the blocker's transaction: pg_stat_activity is a snapshot taken once per transaction.
        const { rows } = await observer.query(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'",
        );
        if (rows[0].n < 1) throw new Error('not waiting yet');
      });
      let closed = false;
      const closing = controller.close().then(() => {
        closed = true;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(closed).toBe(false);
      await expect(fetch(`${controller.url}/health`)).rejects.toThrow();
      await blocker.query('commit');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { created: number }).created).toBe(1);
      await closing;
      expect(controller.app.db.totalCount).toBe(0);
    } finally {
      await blocker.end();
      await observer.end();
      await controller.close();
    }
  });
});

describe('dist/controller.cjs, the bundle systemd runs', () => {
  it('runs with plain node against PostgreSQL over its Unix socket, logs no key, and stops on SIGTERM', async () => {
    const bundle = join(repoRoot, 'dist', 'controller.cjs');
    const source = readFileSync(bundle, 'utf8');
    expect(source).not.toMatch(/require\("(fastify|pg|oui-data|@fastify\/swagger)"\)/);
    await server.createDatabase('bundle');
    const port = await freePort();
    const socketDir = dirname(server.dataDir);
    const run = watch(
      process.execPath,
      [bundle],
      {
        PATH: process.env.PATH,
        WAVESHIFT_API_KEY: TEST_API_KEY,
        DATABASE_URL: `postgresql://postgres@/bundle?host=${socketDir}&port=${server.port}`,
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      '/',
    );
    try {
      await waitFor('the bundled controller', async () => {
        if (run.child.exitCode !== null) throw new Error(`exited: ${run.stderr()}`);
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        if (!res.ok) throw new Error(String(res.status));
      });
      const put = await fetch(`http://127.0.0.1:${port}/api/sites/4`, {
        method: 'PUT',
        headers: {
          ...DEPLOYMENT,
          'content-type': 'application/json',
          authorization: 'Bearer should-not-be-logged-0000',
        },
        body: JSON.stringify(siteInput(4)),
      });
      expect(put.status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      const logs = run.stdout();
      expect(logs).toMatch(/"msg":"controller listening"/);
      expect(logs).toMatch(/"reqId"/);
      expect(logs).not.toContain(TEST_API_KEY);
      expect(logs).not.toContain('should-not-be-logged');
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('refuses to start without WAVESHIFT_API_KEY, with one clear line', () => {
    const bundle = join(repoRoot, 'dist', 'controller.cjs');
    try {
      execFileSync(process.execPath, [bundle], { env: { PATH: process.env.PATH }, stdio: 'pipe' });
      expect.unreachable();
    } catch (error) {
      const e = error as { status: number; stderr: Buffer };
      expect(e.status).toBe(2);
      expect(e.stderr.toString()).toBe(
        'waveshift-controller: WAVESHIFT_API_KEY is not set: the controller refuses to start without its deployment API key\n',
      );
    }
  });
});

describe('wavectl controller serve', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-serve-');
    execFileSync('chmod', ['755', tmp.path]); // the embedded server's postgres user must get through
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  it('refuses to start without an API key', async () => {
    const run = await runCli(['controller', 'serve', '--dir', tmp.path], {
      cwd: tmp.path,
      env: { WAVESHIFT_API_KEY: '' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^wavectl: WAVESHIFT_API_KEY is not set/m);
  });

  it('refuses a key shorter than the bundled service accepts, and names a generator', async () => {
    const run = await runCli(['controller', 'serve', '--dir', tmp.path], {
      cwd: tmp.path,
      env: { WAVESHIFT_API_KEY: 'k' },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^wavectl: WAVESHIFT_API_KEY is too short \(at least 16 characters\); generate one with `openssl rand -base64 32`$/m,
    );
  });

  it('serves from the built binary on an embedded PostgreSQL with the key from SSM, and stops on SIGINT', async () => {
    const profileEnv = await writeAwsProfile(join(tmp.path, 'aws'), 'serve-test', 'eu-west-1');
    applyEnv(profileEnv);
    const deployment = join(tmp.path, 'deployment');
    await mkdir(deployment);
    const init = await runCli(
      [
        'init',
        '--identity-provider',
        'local',
        '--profile',
        'serve-test',
        '--region',
        'eu-west-1',
        '--name',
        'servetest',
        '--dir',
        deployment,
      ],
      { cwd: tmp.path },
    );
    expect(init.code, init.stderr).toBe(0);
    const { SSMClient, PutParameterCommand } = await import('@aws-sdk/client-ssm');
    const ssm = new SSMClient({
      region: 'eu-west-1',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const key = 'key-from-ssm-0123456789abcdefghij';
    await ssm.send(
      new PutParameterCommand({ Name: '/waveshift/servetest/api-key', Type: 'SecureString', Value: key }),
    );
    ssm.destroy();

    const run = watch(
      process.execPath,
      [
        cliBundle,
        'controller',
        'serve',
        '--dir',
        deployment,
        '--port',
        '0',
        '--api-key-from-ssm',
        '--json',
        '--endpoint-url',
        moto.endpoint,
      ],
      { ...process.env, WAVESHIFT_API_KEY: '', DATABASE_URL: '', CI: 'true' },
    );
    try {
      const result = await waitFor(
        'the serve result',
        async () => {
          // An early exit ends the wait too (waitFor retries on any throw), and fails the assertion below.
          if (run.child.exitCode !== null) return { exited: run.child.exitCode, stderr: run.stderr() };
          return JSON.parse(run.stdout()) as { url: string; database: string; dataDir: string };
        },
        40_000,
      );
      if ('exited' in result) expect.fail(`serve exited early: ${result.stderr}`);
      expect(result).toEqual({
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        database: 'embedded',
        dataDir: join(deployment, '.waveshift-controller'),
        tls: 'none',
      });
      const sites = await fetch(`${result.url}/api/sites`, { headers: { 'x-api-key': key } });
      expect(sites.status).toBe(200);
      expect((await fetch(`${result.url}/api/sites`, { headers: DEPLOYMENT })).status).toBe(401);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      // The embedded PostgreSQL stopped with it.
      expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(join(result.dataDir, 'pgdata'));
      expect(run.stdout() + run.stderr()).not.toContain(key);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});

describe('EC2 install script and unit', () => {
  const dir = join(repoRoot, 'src', 'controller', 'install');
  const script = readFileSync(join(dir, 'install-controller.sh'), 'utf8');
  const unit = readFileSync(join(dir, 'waveshift-controller.service'), 'utf8');

  it('is valid bash that shellcheck accepts', () => {
    execFileSync('bash', ['-n', join(dir, 'install-controller.sh')]);
    execFileSync('shellcheck', [join(dir, 'install-controller.sh')]);
  });

  it('uses the contract variables and files', () => {
    for (const needle of [
      'WAVESHIFT_BUNDLE',
      'WAVESHIFT_API_KEY_PARAMETER',
      'aws ssm get-parameter --with-decryption --name "$WAVESHIFT_API_KEY_PARAMETER" --region "$AWS_REGION"',
      'NODE_MAJOR=22',
      'dnf install -y -q "nodejs$NODE_MAJOR"',
      'dnf install -y -q postgresql15-server',
      '/opt/waveshift/controller.cjs',
      '/etc/waveshift/controller.env',
      'api-key-header',
      'X-API-Key: $API_KEY',
      'WAVESHIFT_API_KEY=$API_KEY',
      'DATABASE_URL=',
      'PORT=$PORT',
      '/health',
    ]) {
      expect(script, needle).toContain(
        needle
          .replace('/etc/waveshift/controller.env', '$CONFIG_DIR/controller.env')
          .replace('/opt/waveshift/controller.cjs', '$INSTALL_DIR/controller.cjs'),
      );
    }
    expect(script).toContain('CONFIG_DIR=/etc/waveshift');
    expect(script).toContain('INSTALL_DIR=/opt/waveshift');
    expect(unit).toContain('EnvironmentFile=/etc/waveshift/controller.env');
    expect(unit).toContain('ExecStart=/opt/waveshift/node /opt/waveshift/controller.cjs');
  });

  it('embeds exactly the unit file it installs by default', () => {
    const embedded = /<<'UNIT_FILE'\n([\s\S]*?)UNIT_FILE\n/.exec(script)?.[1];
    expect(embedded).toBe(unit);
  });

  it('stops before touching the system when an input is missing', () => {
    try {
      execFileSync('bash', [join(dir, 'install-controller.sh')], {
        env: { PATH: process.env.PATH },
        stdio: 'pipe',
      });
      expect.unreachable();
    } catch (error) {
      const e = error as { status: number; stderr: Buffer };
      expect(e.status).not.toBe(0);
      expect(e.stderr.toString()).toMatch(/WAVESHIFT_BUNDLE must name the controller bundle/);
    }
  });
});
