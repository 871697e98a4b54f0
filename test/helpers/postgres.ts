import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

export interface PostgresServer {
  /** postgres://… URL of the `postgres` database, superuser, trust auth on loopback. */
  url: string;
  port: number;
  dataDir: string;
  /** Creates a fresh database and returns its URL, so test files never share tables. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Directory of the newest installed PostgreSQL server binaries (Debian: /usr/lib/postgresql/N/bin). */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  throw new Error(
    'PostgreSQL server binaries not found; run scripts/setup-test-bed.sh (installs postgresql)',
  );
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` system user that Debian's package makes. */
function serverUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid, name: 'postgres' };
}

/** Starts a real PostgreSQL server from initdb in a temporary directory, on a free loopback port. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const user = serverUser();
  // mkdtemp under /tmp: every parent is traversable by the unprivileged server user.
  const root = await mkdtemp(join(tmpdir(), 'wavectl-pg-'));
  const dataDir = join(root, 'data');
  if (user) await chown(root, user.uid, user.gid);
  await chmod(root, 0o700);
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const superuser = user?.name ?? userInfo().username;
  execFileSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', superuser, '-A', 'trust', '-E', 'UTF8', '--no-sync'],
    {
      ...as,
      stdio: 'pipe',
    },
  );
  await writeFile(
    join(dataDir, 'postgresql.auto.conf'),
    'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n',
  );
  if (user) await chown(join(dataDir, 'postgresql.auto.conf'), user.uid, user.gid);
  const port = await freePort();
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${root}`,
      '-c',
      'max_connections=300',
    ],
    { ...as, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (c) => {
    log = (log + c).slice(-4000);
  });
  const url = `postgres://${superuser}@127.0.0.1:${port}/postgres`;
  const pg = await import('pg');
  const query = async (sql: string) => {
    const client = new pg.default.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await waitFor('PostgreSQL', async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${log}`);
    await query('select 1');
  });
  return {
    url,
    port,
    dataDir,
    async createDatabase(name) {
      await query(`create database "${name.replace(/"/g, '')}"`);
      return `postgres://${superuser}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (child.exitCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGINT');
          setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        });
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}
