import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliProcess } from './helpers/cli';
import { makeTempDir } from './helpers/tmp';

interface ErrorDocument {
  error: { kind: string; message: string; exitCode: number };
}

/** What a script can rely on: exit 2 for bad usage, `wavectl:` error lines, and JSON for every failure. */
describe('the command-line contract for scripts', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    tmp = await makeTempDir();
  });
  afterAll(() => tmp?.remove());

  it.each([
    [['sites', '--lisst'], "unknown option '--lisst'"],
    [['sitez', '--list'], "unknown command 'sitez' (Did you mean sites?)"],
    [['config', 'set', 'controller.url'], "missing required argument 'value'"],
    [['init', '--region'], "option '--region <region>' argument missing"],
  ])(
    '%j: one JSON error document on stdout with --json, exit 2 (the built binary)',
    async (args, message) => {
      const run = await runCliProcess(['--json', ...args], { cwd: tmp.path });
      expect(run.code).toBe(2);
      const doc = run.json<ErrorDocument>();
      expect(doc.error.kind).toBe('UsageError');
      expect(doc.error.exitCode).toBe(2);
      expect(doc.error.message).toContain(message);
      expect(run.stderr.trim()).toBe(`wavectl: ${doc.error.message}`);
    },
  );

  it('wraps commander’s messages as one wavectl: line, keeping the hint', async () => {
    const run = await runCli(['sitez'], { cwd: tmp.path });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      "wavectl: unknown command 'sitez' (Did you mean sites?) (run with --help for usage)",
    );
  });

  it('without a command: the help, then one wavectl: line; JSON with --json', async () => {
    const bare = await runCli([], { cwd: tmp.path });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^Usage: wavectl/);
    expect(bare.stderr.trim().split('\n').at(-1)).toMatch(/^wavectl: no command given/);
    const json = await runCli(['--json'], { cwd: tmp.path });
    expect(json.json<ErrorDocument>().error.exitCode).toBe(2);
  });

  it('help and version stay successes', async () => {
    expect((await runCli(['--help'], { cwd: tmp.path })).code).toBe(0);
    expect((await runCli(['--version'], { cwd: tmp.path })).code).toBe(0);
  });
});
