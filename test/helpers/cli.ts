import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli';
import type { OutputEvent } from '../../src/io/output';
import { captureOutput } from './child-output';
import { cliBundle } from './paths';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  events: OutputEvent[];
  /** stdout parsed as JSON (for --json runs). */
  json<T = unknown>(): T;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  return () => Buffer.concat(chunks).toString('utf8');
}

function finish(code: number, stdout: string, stderr: string, events: OutputEvent[]): CliRun {
  return { code, stdout, stderr, events, json: <T>() => JSON.parse(stdout) as T };
}

/**
 * Drives the real CLI entry in-process, output captured; `env` is added to process.env. With `tty`, stdin
 * says it is a terminal and CI is unset, so prompts are asked; each `stdin` line arrives as its own chunk,
 * as typed answers do.
 */
export async function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string; tty?: boolean },
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const events: OutputEvent[] = [];
  const stdin = options.tty
    ? Object.assign(Readable.from((options.stdin ?? '').split(/(?<=\n)/)), { isTTY: true })
    : Readable.from([options.stdin ?? '']);
  const code = await main(args, {
    stdout,
    stderr,
    stdin,
    env: { ...process.env, CI: options.tty ? '' : 'true', ...options.env },
    cwd: options.cwd,
    onEvent: (e) => events.push(e),
  });
  return finish(code, out(), err(), events);
}

/** The built binary (dist/wavectl.cjs) running in its own process; its output so far, as it arrives. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

/** Starts the built binary; stdin is a pipe, or /dev/null with `noStdin` (as `< /dev/null` does). */
export function spawnCliProcess(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; noStdin?: boolean },
): CliProcess {
  const child = spawn(process.execPath, [cliBundle, ...args], {
    cwd: options.cwd,
    env: { ...process.env, CI: 'true', ...options.env },
    stdio: [options.noStdin ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  return { child, stdout: () => output.stdout, stderr: () => output.stderr };
}

interface ProcessOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Text piped to stdin; `null` gives the process /dev/null as stdin, as `< /dev/null` does. */
  stdin?: string | null;
  timeoutMs?: number;
}

/** The built binary in its own process, and its result once it ends (a signal's death is code 128). */
export function startCliProcess(
  args: string[],
  options: ProcessOptions,
): { child: ChildProcess; done: Promise<CliRun> } {
  const run = spawnCliProcess(args, { cwd: options.cwd, env: options.env, noStdin: options.stdin === null });
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => run.child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    run.child.on('error', reject);
    run.child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(finish(code ?? (signal ? 128 : 1), run.stdout(), run.stderr(), []));
    });
  });
  run.child.stdin?.end(options.stdin ?? '');
  return { child: run.child, done };
}

/** Runs the built binary (dist/wavectl.cjs) as a separate process, as an operator would. */
export function runCliProcess(args: string[], options: ProcessOptions): Promise<CliRun> {
  return startCliProcess(args, options).done;
}
