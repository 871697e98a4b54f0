import { readFileSync, rmSync } from 'node:fs';
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockError } from '../errors';

export const LOCK_FILE = 'wavectl.lock';

interface LockHolder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Locks this process holds now, so that an interrupt (Ctrl-C) can release them on its way out. */
const held = new Map<string, LockHolder>();

/**
 * Releases every lock this process holds, synchronously: for a signal handler that is about to exit, when
 * the `finally` of `withDirectoryLock` will never run.
 */
export function releaseHeldLocksSync(): void {
  for (const [file, me] of held) {
    try {
      const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
      if (holder.pid === me.pid && holder.startedAt === me.startedAt) rmSync(file, { force: true });
    } catch {
      // Already gone, or never fully written: nothing of ours to remove.
    }
    held.delete(file);
  }
}

/** Temporary files of atomic writes in a deployment directory: `.<file>.tmp-<pid>-<random>`. */
const TEMPORARY = /^\.wavectl\.(?:json|json\.bak|schema\.json)\.tmp-(\d+)-[0-9a-f]+$/;

/**
 * Removes the temporary files a process killed mid-write left behind. Called holding the lock, so the only
 * writer that could still own one is a process that is alive: those are left alone.
 */
async function removeStaleTemporaries(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = TEMPORARY.exec(name);
    if (m && !isAlive(Number(m[1]))) await rm(join(dir, name), { force: true });
  }
}

/**
 * Holds `wavectl.lock` in `dir` while `work` runs, so that two wavectl processes never interleave their
 * changes to one deployment. A lock whose holder process is gone (same host) is stale and taken over.
 */
export async function withDirectoryLock<T>(dir: string, command: string, work: () => Promise<T>): Promise<T> {
  const file = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await readHolder(file);
      // A holder that has not finished writing its record yet is alive by definition; look again shortly.
      if (holder === undefined && attempt < 20) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        continue;
      }
      const stale = holder !== undefined && holder.host === me.host && !isAlive(holder.pid);
      if ((stale || holder === undefined) && attempt < 21) {
        await rm(file, { force: true });
        continue;
      }
      const who = holder
        ? `pid ${holder.pid} on ${holder.host}, \`wavectl ${holder.command}\` since ${holder.startedAt}`
        : 'an unknown process';
      throw new LockError(
        `another wavectl is working in ${dir} (${who}); wait for it to finish, or delete ${file} if that process is gone`,
        holder?.pid ?? 0,
      );
    }
  }
  held.set(file, me);
  await removeStaleTemporaries(dir);
  try {
    return await work();
  } finally {
    held.delete(file);
    const holder = await readHolder(file);
    if (holder?.pid === me.pid && holder.startedAt === me.startedAt) await rm(file, { force: true });
  }
}
