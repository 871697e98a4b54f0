import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/fs/atomic-write';
import { runCliProcess } from './helpers/cli';
import { cliBundle } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';

const init = (name: string) => [
  'init',
  '--identity-provider',
  'local',
  '--profile',
  'p',
  '--region',
  'us-east-1',
  '--name',
  name,
  '--force',
];

describe('atomic writes and the directory lock', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('replaces a file whole, leaving no temporary file behind', async () => {
    const file = join(tmp.path, 'f.json');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readdir(tmp.path)).toEqual(['f.json']);
  });

  it('keeps a valid wavectl.json when processes are killed (SIGKILL) at random moments', async () => {
    expect((await runCliProcess(init('seed'), { cwd: tmp.path })).code).toBe(0);
    const names = new Set(['seed']);
    for (let i = 0; i < 12; i++) {
      const name = `kill-${i}`;
      names.add(name);
      await new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [cliBundle, ...init(name)], { cwd: tmp.path, stdio: 'ignore' });
        setTimeout(() => child.kill('SIGKILL'), 20 + ((i * 37) % 120));
        child.on('close', () => resolve());
      });
      const content = JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8'));
      expect(names.has(content.name)).toBe(true);
    }
    // A temporary file of a process killed mid-write (its PID gone), planted so that one surely exists.
    const gone = spawn('true');
    await new Promise((r) => gone.once('close', r));
    await writeFile(join(tmp.path, `.wavectl.json.tmp-${gone.pid}-0badcafe`), '{"half":');
    // A lock left by a killed process is stale and taken over; the next run succeeds and sweeps the
    // temporary files of dead writers.
    // The profile defined, so that the run has nothing at all to say on stderr.
    const awsConfig = await makeTempDir();
    try {
      await writeFile(join(awsConfig.path, 'config'), '[profile p]\nregion = us-east-1\n');
      const after = await runCliProcess(init('after'), {
        cwd: tmp.path,
        env: { AWS_CONFIG_FILE: join(awsConfig.path, 'config') },
      });
      expect(after.stderr).toBe('');
      expect(after.code).toBe(0);
    } finally {
      await awsConfig.remove();
    }
    const leftovers = (await readdir(tmp.path)).filter(
      (f) => !['wavectl.json', 'wavectl.json.bak', 'wavectl.schema.json'].includes(f),
    );
    expect(leftovers).toEqual([]);
  });

  it('refuses to run while a live process holds the lock, naming its PID, and takes over once it is gone', async () => {
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await writeFile(
        join(tmp.path, 'wavectl.lock'),
        JSON.stringify({
          pid: holder.pid,
          host: hostname(),
          command: 'deploy',
          startedAt: new Date().toISOString(),
        }),
      );
      const blocked = await runCliProcess(init('blocked'), { cwd: tmp.path });
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toContain(`pid ${holder.pid}`);
      expect(blocked.stderr).toMatch(/wavectl deploy/);
      expect(existsSync(join(tmp.path, 'wavectl.json'))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('close', r));
    }
    const freed = await runCliProcess(init('freed'), { cwd: tmp.path });
    expect(freed.code).toBe(0);
  });

  it('serialises concurrent wavectl processes: each succeeds or is refused cleanly', async () => {
    const runs = await Promise.all(
      Array.from({ length: 6 }, (_, i) => runCliProcess(init(`p${i}`), { cwd: tmp.path })),
    );
    const succeeded = runs.flatMap((r, i) => (r.code === 0 ? [`p${i}`] : []));
    expect(succeeded.length).toBeGreaterThan(0);
    for (const r of runs) {
      if (r.code !== 0) {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/another wavectl is working .* \(pid \d+/);
      }
    }
    const content = JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8'));
    expect(succeeded).toContain(content.name);
    expect(existsSync(join(tmp.path, 'wavectl.lock'))).toBe(false);
  });
});
