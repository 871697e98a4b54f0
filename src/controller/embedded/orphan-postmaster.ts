import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * A controller killed with SIGKILL leaves its embedded PostgreSQL running (a postmaster does not die with its
 * parent), holding `postmaster.pid` in the data directory, so the next start fails on the lock file. This
 * recognises that server, and only that one, and stops it cleanly: its data is flushed, nothing is lost.
 */

export type PostmasterLock =
  | { state: 'none' }
  /** The recorded process is gone: PostgreSQL itself takes over such a lock file. */
  | { state: 'dead'; pid: number }
  /** A live postgres serving this very data directory: ours, orphaned. */
  | { state: 'orphan'; pid: number }
  /** The PID now belongs to some other process: the lock file is stale, though PostgreSQL would refuse it. */
  | { state: 'reused'; pid: number };

/** Pure: reads a lock file's PID and data directory, and a process's argv (NUL-separated, as in /proc). */
export function classifyPostmaster(
  lockText: string | undefined,
  clusterDir: string,
  processArgs: (pid: number) => string[] | undefined,
): PostmasterLock {
  if (lockText === undefined) return { state: 'none' };
  const [pidLine, dirLine] = lockText.split('\n');
  const pid = Number(pidLine?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { state: 'none' };
  const args = processArgs(pid);
  if (args === undefined) return { state: 'dead', pid };
  const isPostgres = /(^|\/)postgres$/.test(args[0] ?? '');
  const dataDirArg = args[args.indexOf('-D') + 1];
  const serves =
    resolve(dirLine?.trim() ?? '') === resolve(clusterDir) &&
    args.includes('-D') &&
    dataDirArg !== undefined &&
    resolve(dataDirArg) === resolve(clusterDir);
  return isPostgres && serves ? { state: 'orphan', pid } : { state: 'reused', pid };
}

function processArgs(pid: number): string[] | undefined {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => processArgs(pid) !== undefined;

/**
 * Before starting PostgreSQL in `clusterDir`: stops an orphaned server of this directory with a fast
 * shutdown (SIGINT: transactions in flight roll back, committed data is checkpointed), and removes a lock
 * file whose PID another process has taken since. Returns what it found.
 */
export async function clearOrphanPostmaster(
  clusterDir: string,
  log: (line: string) => void,
  timeoutMs = 60_000,
): Promise<PostmasterLock> {
  const lockFile = join(clusterDir, 'postmaster.pid');
  const text = existsSync(lockFile) ? readFileSync(lockFile, 'utf8') : undefined;
  const found = classifyPostmaster(text, clusterDir, processArgs);
  if (found.state === 'reused') {
    log(`removing the stale ${lockFile}: PID ${found.pid} is no longer PostgreSQL`);
    await rm(lockFile, { force: true });
  }
  if (found.state !== 'orphan') return found;
  log(`stopping PostgreSQL (PID ${found.pid}) left running in ${clusterDir} by a controller that was killed`);
  process.kill(found.pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (alive(found.pid)) {
    if (Date.now() > deadline) {
      throw new Error(
        `PostgreSQL (PID ${found.pid}) left running in ${clusterDir} did not stop within ${timeoutMs / 1000}s; stop it (kill -INT ${found.pid}) and start again`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return found;
}
