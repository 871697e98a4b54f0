import { getEventListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine } from '../src/io/interrupt';
import { interruptibleSleep, interruptSignal } from '../src/io/interruptible-wait';
import { initDeployment, PROFILE } from './helpers/deploy-fixture';
import { writeAwsProfile } from './helpers/moto';
import { cliBundle } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';
import { watch } from './helpers/watch';

/** Ctrl-C during a command: one line saying how to finish, exit 130, and the directory lock released. */
describe('interrupting a command (SIGINT, the built binary)', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  let awsEnv: Record<string, string>;
  // An "AWS endpoint" that accepts connections and never answers: the command waits there, holding the lock.
  let silent: Server;
  const sockets: Socket[] = [];
  let reached = 0;
  let endpoint: string;

  beforeAll(async () => {
    tmp = await makeTempDir();
    awsEnv = await writeAwsProfile(`${tmp.path}/aws`, PROFILE, 'eu-west-2');
    dir = await initDeployment(tmp.path, 'hush', 'eu-west-2');
    silent = createServer((s) => {
      sockets.push(s);
      reached++;
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent?.close(r));
    await tmp?.remove();
  });

  const interrupted = async (args: string[]) => {
    const { child, stdout, stderr, exited } = watch(
      process.execPath,
      [cliBundle, ...args],
      { ...process.env, ...awsEnv, CI: 'true' },
      dir,
    );
    const lock = join(dir, 'wavectl.lock');
    const deadline = Date.now() + 30_000;
    reached = 0;
    while (!existsSync(lock) || reached === 0) {
      if (Date.now() > deadline) throw new Error(`the command never reached AWS: ${stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const code = await exited;
    return { code, stdout: stdout(), stderr: stderr(), lockLeft: existsSync(lock) };
  };

  it('prints how to finish, exits 130 and releases the lock', async () => {
    const args = ['destroy', '--yes', '--endpoint-url', endpoint];
    const run = await interrupted(args);
    expect(run.code).toBe(130);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `wavectl: interrupted: run \`wavectl destroy --yes --endpoint-url ${endpoint}\` again to finish`,
    );
    expect(run.lockLeft).toBe(false);
  });

  it('with --json, stdout holds one JSON error document', async () => {
    const run = await interrupted(['destroy', '--yes', '--json', '--endpoint-url', endpoint]);
    expect(run.code).toBe(130);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { kind: 'Interrupted', exitCode: 130 } });
  });

  it('quotes only what the shell needs quoted', () => {
    expect(commandLine(['sites', '--remove', '3,5-7', '--dir', '/tmp/a b', "it's"])).toBe(
      `wavectl sites --remove 3,5-7 --dir '/tmp/a b' 'it'\\''s'`,
    );
  });
});

describe('waits that Ctrl-C ends (devices watch, logs --follow)', () => {
  it('leave no listener on the signal, whether they run out or are cut short', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) await interruptibleSleep(1, stop.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    const began = Date.now();
    const long = interruptibleSleep(60_000, stop.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    stop.abort();
    await long;
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('hear SIGINT and SIGTERM until released, and leave no handler behind', () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const interrupt = interruptSignal();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(
      before.map((n) => n + 1),
    );
    interrupt.release();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
    expect(interrupt.signal.aborted).toBe(false);
  });
});
