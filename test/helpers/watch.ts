import { type ChildProcess, spawn } from 'node:child_process';
import { repoRoot } from './paths';

/** A long-running child process whose output we watch, stopped by signal. */
export interface Watched {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

export function watch(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = repoRoot): Watched {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c) => {
    out += c;
  });
  child.stderr?.on('data', (c) => {
    err += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}
