import { open, readFile, rm } from 'node:fs/promises';
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
  try {
    return await work();
  } finally {
    const holder = await readHolder(file);
    if (holder?.pid === me.pid && holder.startedAt === me.startedAt) await rm(file, { force: true });
  }
}
