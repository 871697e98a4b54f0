import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError, Option } from 'commander';
import type { Runner } from './commands/command';
import { commands } from './commands/index';
import { type Context, createContext, type GlobalOptions } from './context';
import { ExitCode, WavectlError } from './errors';
import { Output, type OutputEvent } from './io/output';
import { VERSION } from './version';

export interface RunEnvironment {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Tests observe progress events here. */
  onEvent?: (event: OutputEvent) => void;
}

function isTty(stream: unknown): boolean {
  return Boolean((stream as { isTTY?: boolean }).isTTY);
}

function globalOptions(raw: Record<string, unknown>, run: RunEnvironment): GlobalOptions {
  const env = run.env;
  const ci = env.CI === 'true' || env.CI === '1';
  return {
    dir: resolve(run.cwd, typeof raw.dir === 'string' ? raw.dir : '.'),
    json: raw.json === true,
    verbose: raw.verbose === true,
    yes: raw.yes === true || ci || !isTty(run.stdin),
    color: raw.color !== false && env.NO_COLOR === undefined && isTty(run.stderr),
    endpointUrl: typeof raw.endpointUrl === 'string' ? raw.endpointUrl : undefined,
  };
}

/**
 * Runs wavectl with `argv` (without node and script) and returns the exit code; never calls process.exit,
 * so tests drive it in-process.
 */
export async function main(argv: string[], run: RunEnvironment): Promise<number> {
  let active: { io: Output; ctx: Context } | undefined;
  const program = new Command('wavectl')
    .description('Stand up and run a Waveshift private network on AWS.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--dir <path>', 'deployment directory holding wavectl.json').default('.'))
    .option('--json', 'print a machine-readable result on stdout, and nothing else there')
    .option('-v, --verbose', 'more detail, and stack traces of errors')
    .option('-y, --yes', 'never prompt (implied when CI=true or stdin is not a terminal)')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option(
      '--endpoint-url <url>',
      'send AWS calls to this endpoint (an emulator); overrides AWS_ENDPOINT_URL',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => run.stdout.write(s),
      writeErr: (s) => run.stderr.write(s),
      outputError: (s, write) => write(s),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 operation failed, 2 bad usage or bad configuration.\nDocumentation: README.md',
    );

  const runner: Runner =
    (handler) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = args[args.length - 2] as Record<string, unknown>;
      const positional = args
        .slice(0, -2)
        .flat()
        .filter((a) => a !== undefined)
        .map(String);
      const global = globalOptions(command.optsWithGlobals(), run);
      const io = new Output({
        stdout: run.stdout,
        stderr: run.stderr,
        json: global.json,
        color: global.color,
        verbose: global.verbose,
        onEvent: run.onEvent,
      });
      const names: string[] = [];
      for (let c: Command | null = command; c && c !== program; c = c.parent) names.unshift(c.name());
      const ctx = createContext({
        options: global,
        io,
        env: run.env,
        stdin: run.stdin,
        stderr: run.stderr,
        commandName: names.join(' '),
      });
      active = { io, ctx };
      // biome-ignore lint/suspicious/noExplicitAny: each command declares its own option type
      await handler(ctx, options as any, positional);
    };

  for (const definition of commands) definition.register(program, runner);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    return report(error, active?.io ?? fallbackOutput(argv, run));
  } finally {
    active?.ctx.close();
  }
}

function fallbackOutput(argv: string[], run: RunEnvironment): Output {
  return new Output({
    stdout: run.stdout,
    stderr: run.stderr,
    json: argv.includes('--json'),
    verbose: argv.includes('--verbose') || argv.includes('-v'),
    color: false,
  });
}

function report(error: unknown, io: Output): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander's exitOverride but successes to the user.
    if (error.exitCode === 0) return ExitCode.ok;
    return ExitCode.usage;
  }
  if (error instanceof WavectlError) {
    const details = 'problems' in error ? (error as { problems: unknown }).problems : undefined;
    io.failure(
      { name: error.name, message: error.message, exitCode: error.exitCode, details },
      stackWithCauses(error),
    );
    return error.exitCode;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  io.failure(
    {
      name: 'InternalError',
      message: `internal error (a bug in wavectl): ${e.message}; run again with --verbose and report the output`,
      exitCode: ExitCode.failed,
    },
    stackWithCauses(e),
  );
  return ExitCode.failed;
}

function stackWithCauses(error: Error): string {
  let text = error.stack ?? String(error);
  let cause = error.cause;
  while (cause instanceof Error) {
    text += `\ncaused by: ${cause.stack ?? cause.message}`;
    cause = cause.cause;
  }
  return text;
}
