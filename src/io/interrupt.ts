import type { Writable } from 'node:stream';
import { releaseHeldLocksSync } from '../config/lock';

const INTERRUPTED_EXIT_CODE = 130;

/** Pure: the command line an operator types again, each argument quoted only where the shell needs it. */
export function commandLine(argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`);
  return ['wavectl', ...argv.map(quote)].join(' ');
}

/**
 * Ctrl-C (SIGINT) during a command: say how to finish (every command is safe to run again), release the
 * directory lock, exit 130. A command that handles signals itself (a server) is not given this handler.
 */
export function exitOnInterrupt(
  argv: readonly string[],
  out: { stdout: Writable; stderr: Writable; json: boolean },
  exit: (code: number) => never,
): void {
  process.once('SIGINT', () => {
    const message = `interrupted: run \`${commandLine(argv)}\` again to finish`;
    if (out.json) {
      out.stdout.write(
        `${JSON.stringify({ error: { kind: 'Interrupted', message, exitCode: INTERRUPTED_EXIT_CODE } }, null, 2)}\n`,
      );
    }
    out.stderr.write(`wavectl: ${message}\n`);
    releaseHeldLocksSync();
    exit(INTERRUPTED_EXIT_CODE);
  });
}
