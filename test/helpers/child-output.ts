import type { ChildProcess } from 'node:child_process';

/** What a child process has written so far to its piped stdout and stderr. */
export function captureOutput(child: ChildProcess): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (c) => {
    output.stdout += c;
  });
  child.stderr?.on('data', (c) => {
    output.stderr += c;
  });
  return output;
}
