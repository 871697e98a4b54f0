import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError, Option } from 'commander';
import type { Runner } from './commands/command';
import { commands } from './commands/index';
import { type Context, createContext, type GlobalOptions } from './context';
import { AwsError, ExitCode, WavectlError } from './errors';
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
  /** Called once the command is known, before it runs (the binary installs its Ctrl-C handling here). */
  onCommand?: (command: { name: string; json: boolean }) => void;
}

function isTty(stream: unknown): boolean {
  return Boolean((stream as { isTTY?: boolean }).isTTY);
}

function globalOptions(raw: Record<string, unknown>, run: RunEnvironment): GlobalOptions {
  const env = run.env;
  const ci = env.CI === 'true' || env.CI === '1';
  const yes = raw.yes === true;
  return {
    dir: resolve(run.cwd, typeof raw.dir === 'string' ? raw.dir : '.'),
    json: raw.json === true,
    verbose: raw.verbose === true,
    yes,
    terminal: !ci && isTty(run.stdin),
    prompts: !yes && !ci && isTty(run.stdin),
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
    .option(
      '-y, --yes',
      'consent to destructive acts without asking, and ask nothing else; without it, CI=true or a stdin that is not a terminal refuses destructive acts',
    )
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option(
      '--endpoint-url <url>',
      'send AWS calls to this endpoint (an emulator); overrides AWS_ENDPOINT_URL',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => run.stdout.write(s),
      writeErr: (s) => run.stderr.write(s),
      // Reported by `report` like every other failure: one `wavectl:` line, or JSON under --json.
      outputError: () => {},
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
      run.onCommand?.({ name: ctx.commandName, json: global.json });
      // biome-ignore lint/suspicious/noExplicitAny: each command declares its own option type
      await handler(ctx, options as any, positional);
    };

  for (const definition of commands) definition.register(program, runner);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    return report(await withProfileNamed(error, active?.ctx), active?.io ?? fallbackOutput(argv, run));
  } finally {
    active?.ctx.close();
  }
}

/** A credentials failure names the profile it tried: the SDK's own message does not. */
async function withProfileNamed(error: unknown, ctx: Context | undefined): Promise<unknown> {
  if (!(error instanceof AwsError) || error.awsCode !== 'CredentialsProviderError' || !ctx) return error;
  const profile = await ctx.loadConfig().then(
    (c) => c.aws.profile,
    () => undefined,
  );
  if (!profile) return error;
  return new AwsError(`${error.message} [AWS profile "${profile}"]`, {
    cause: error.cause,
    awsCode: error.awsCode,
    requestId: error.requestId,
  });
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
    io.failure({ name: 'UsageError', message: commanderMessage(error), exitCode: ExitCode.usage });
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

/** Commander's message as one line: "error: " dropped, its "(Did you mean …?)" hint kept. */
function commanderMessage(error: CommanderError): string {
  // Without a command commander prints the help (on stderr) and says only "(outputHelp)".
  if (error.code === 'commander.help')
    return 'no command given; the commands are listed above (wavectl --help)';
  const text = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
  return `${text} (run with --help for usage)`;
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
