import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli';
import type { OutputEvent } from '../../src/io/output';
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

export interface CliProcess {
  child: ChildProcess;
  /** Resolves when the process ends (a signal's death is code 128). */
  done: Promise<CliRun>;
}

interface ProcessOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Text piped to stdin; `null` gives the process /dev/null as stdin, as `< /dev/null` does. */
  stdin?: string | null;
  timeoutMs?: number;
}

/** Starts the built binary (dist/wavectl.cjs) as a separate process, as an operator would. */
export function startCliProcess(args: string[], options: ProcessOptions): CliProcess {
  const child = spawn(process.execPath, [cliBundle, ...args], {
    cwd: options.cwd,
    env: { ...process.env, CI: 'true', ...options.env },
    stdio: [options.stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => {
      stdout += c;
    });
    child.stderr?.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(finish(code ?? (signal ? 128 : 1), stdout, stderr, []));
    });
  });
  child.stdin?.end(options.stdin ?? '');
  return { child, done };
}

/** Runs the built binary (dist/wavectl.cjs) as a separate process, as an operator would. */
export function runCliProcess(args: string[], options: ProcessOptions): Promise<CliRun> {
  return startCliProcess(args, options).done;
}
