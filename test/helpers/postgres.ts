import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  /** Stops the server (fast shutdown: sessions are terminated) and keeps its data, for `start()`. */
  halt(): Promise<void>;
  /** Starts a halted server again, on the same port and data. */
  start(): Promise<void>;
  /** Sends a signal to the postmaster and every backend (SIGSTOP freezes the whole server, SIGCONT thaws). */
  signalAll(signal: 'SIGSTOP' | 'SIGCONT'): void;
  stop(): Promise<void>;
}

/** The process and its descendants, from /proc (the backends are children of the postmaster). */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the ppid is the second field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
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
  let child: ChildProcess | undefined;
  let log = '';
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
  const launch = async () => {
    const server = spawn(
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
    child = server;
    server.stderr?.on('data', (c) => {
      log = (log + c).slice(-4000);
    });
    await waitFor('PostgreSQL', async () => {
      if (server.exitCode !== null) throw new Error(`postgres exited: ${log}`);
      await query('select 1');
    });
  };
  const halt = async () => {
    const server = child;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGINT');
      setTimeout(() => server.kill('SIGKILL'), 5000).unref();
    });
  };
  const signalAll = (signal: 'SIGSTOP' | 'SIGCONT') => {
    const postmaster = child?.pid;
    if (postmaster === undefined || child?.exitCode !== null) return;
    for (const pid of processTree(postmaster)) {
      try {
        process.kill(pid, signal);
      } catch {
        // ended meanwhile
      }
    }
  };
  await launch();
  return {
    url,
    port,
    dataDir,
    async createDatabase(name) {
      await query(`create database "${name.replace(/"/g, '')}"`);
      return `postgres://${superuser}@127.0.0.1:${port}/${name}`;
    },
    halt,
    start: launch,
    signalAll,
    async stop() {
      signalAll('SIGCONT'); // a frozen server cannot shut down
      await halt();
      await rm(root, { recursive: true, force: true });
    },
  };
}
