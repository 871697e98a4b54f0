import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPostmaster } from '../src/controller/embedded/orphan-postmaster';
import { accessServerInput, DEPLOYMENT, TEST_API_KEY } from './helpers/controller';
import { cliBundle } from './helpers/paths';
import { waitFor } from './helpers/ports';
import { makeTempDir } from './helpers/tmp';
import { type Watched, watch } from './helpers/watch';

interface Serving extends Watched {
  url: string;
}

/** `wavectl controller serve` from the built binary, on an embedded PostgreSQL in `dataDir`. */
async function serve(dir: string, dataDir: string): Promise<Serving> {
  const run = watch(
    process.execPath,
    [cliBundle, 'controller', 'serve', '--dir', dir, '--data-dir', dataDir, '--port', '0', '--json'],
    { ...process.env, WAVESHIFT_API_KEY: TEST_API_KEY, DATABASE_URL: '', CI: 'true' },
    dir,
  );
  const result = await waitFor(
    'the serve result',
    async () => {
      if (run.child.exitCode !== null) return { exited: run.child.exitCode };
      return JSON.parse(run.stdout()) as { url: string };
    },
    60_000,
  );
  if ('exited' in result) throw new Error(`serve exited early (${result.exited}): ${run.stderr()}`);
  return { ...run, url: result.url };
}

const postgresOf = (cluster: string) =>
  Number(readFileSync(join(cluster, 'postmaster.pid'), 'utf8').split('\n')[0]);
const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('controller serve survives its own SIGKILL, and stops when its database dies', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dataDir: string;
  let cluster: string;
  const started: ChildProcess[] = [];
  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-restart-');
    execFileSync('chmod', ['755', tmp.path]); // the embedded server's postgres user must get through
    dataDir = join(tmp.path, 'controller-data');
    cluster = join(dataDir, 'pgdata');
  });
  afterAll(async () => {
    for (const child of started) child.kill('SIGKILL');
    try {
      const pid = postgresOf(cluster);
      if (running(pid)) process.kill(pid, 'SIGINT');
      await waitFor('PostgreSQL to stop', async () => {
        if (running(pid)) throw new Error('still running');
      });
    } catch {
      // no server left
    }
    await tmp?.remove();
  });

  it('after SIGKILL, starts again on the same data directory with nothing lost; SIGHUP stops it', async () => {
    const first = await serve(tmp.path, dataDir);
    started.push(first.child);
    const put = await fetch(`${first.url}/api/access-servers/3`, {
      method: 'PUT',
      headers: { ...DEPLOYMENT, 'content-type': 'application/json' },
      body: JSON.stringify(accessServerInput(3)),
    });
    expect(put.status).toBe(200);
    const orphan = postgresOf(cluster);
    first.child.kill('SIGKILL');
    await first.exited;
    // The killed controller's PostgreSQL is still there, holding the data directory.
    expect(running(orphan)).toBe(true);

    const second = await serve(tmp.path, dataDir);
    started.push(second.child);
    expect(running(orphan)).toBe(false);
    const list = await fetch(`${second.url}/api/access-servers`, { headers: DEPLOYMENT });
    expect(
      ((await list.json()) as { accessServers: { index: number }[] }).accessServers.map((a) => a.index),
    ).toEqual([3]);
    const current = postgresOf(cluster);
    second.child.kill('SIGHUP');
    expect(await second.exited).toBe(0);
    expect(running(current)).toBe(false);
  });

  it('exits non-zero when its embedded PostgreSQL dies', async () => {
    const third = await serve(tmp.path, dataDir);
    started.push(third.child);
    process.kill(postgresOf(cluster), 'SIGKILL');
    expect(await third.exited).toBe(1);
    expect(third.stderr()).toMatch(/wavectl: PostgreSQL in .*pgdata exited \(SIGKILL\).*start it again/);
  });

  it('recognises only a postgres serving this data directory as its orphan (pure)', () => {
    const lock = '4242\n/data/pgdata\n1700000000\n5432\n';
    const args = (argv: string[] | undefined) => () => argv;
    expect(classifyPostmaster(undefined, '/data/pgdata', args(undefined))).toEqual({ state: 'none' });
    expect(classifyPostmaster(lock, '/data/pgdata', args(undefined))).toEqual({ state: 'dead', pid: 4242 });
    expect(
      classifyPostmaster(
        lock,
        '/data/pgdata',
        args(['/opt/pg/bin/postgres', '-D', '/data/pgdata', '-p', '1']),
      ),
    ).toEqual({ state: 'orphan', pid: 4242 });
    expect(
      classifyPostmaster(lock, '/data/pgdata', args(['/opt/pg/bin/postgres', '-D', '/other/pgdata'])),
    ).toEqual({ state: 'reused', pid: 4242 });
    expect(classifyPostmaster(lock, '/data/pgdata', args(['/usr/bin/sleep', '60']))).toEqual({
      state: 'reused',
      pid: 4242,
    });
  });
});
