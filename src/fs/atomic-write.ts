import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `file` with `content` so that a reader, or a process killed at any instant, sees either the old
 * content or the new one, never a mix: write a sibling temporary file, fsync it, rename it over the target,
 * then fsync the directory so that the rename itself survives a power cut.
 */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  options?: { mode?: number },
): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await open(temp, 'wx', options?.mode ?? 0o644);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
