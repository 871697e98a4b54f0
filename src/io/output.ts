import type { Writable } from 'node:stream';

/**
 * The one place wavectl writes for people or scripts. Modules report progress through `step` and
 * `info`/`warn`; a command ends by handing its result to `result`. With --json, stdout receives only the
 * final JSON document; progress goes to stderr as one JSON object per line (the events below), so that a
 * person watching a CI log still sees it and a script can follow it.
 */
export type OutputEvent =
  | {
      kind: 'step';
      id: string;
      state: 'started' | 'done' | 'failed' | 'skipped';
      detail?: string;
      elapsedMs?: number;
    }
  | { kind: 'info'; message: string }
  | { kind: 'warn'; message: string };

export interface OutputOptions {
  stdout: Writable;
  stderr: Writable;
  json: boolean;
  color: boolean;
  verbose: boolean;
  /** Tests subscribe here to assert on events instead of scraping text. */
  onEvent?: (event: OutputEvent) => void;
}

const paint = (on: boolean, code: number, text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  private readonly options: OutputOptions;
  private readonly startedAt = new Map<string, number>();
  private resultWritten = false;

  constructor(options: OutputOptions) {
    this.options = options;
    this.json = options.json;
    this.verbose = options.verbose;
  }

  /** Notifies subscribers; under --json, also writes the event to stderr as one JSON line. */
  private emit(event: OutputEvent): void {
    this.options.onEvent?.(event);
    if (this.json) this.err(JSON.stringify(event));
  }

  private err(line: string): void {
    this.options.stderr.write(`${line}\n`);
  }

  info(message: string): void {
    this.emit({ kind: 'info', message });
    if (!this.json) this.err(message);
  }

  warn(message: string): void {
    this.emit({ kind: 'warn', message });
    if (!this.json) this.err(paint(this.options.color, 33, `warning: ${message}`));
  }

  debug(message: string): void {
    if (this.verbose) this.err(paint(this.options.color, 2, message));
  }

  /** Marks a step as started, done, failed or skipped; done/failed lines carry the elapsed time. */
  step(id: string, state: 'started' | 'done' | 'failed' | 'skipped', detail?: string): void {
    const now = Date.now();
    let elapsedMs: number | undefined;
    if (state === 'started') this.startedAt.set(id, now);
    else {
      const began = this.startedAt.get(id);
      if (began !== undefined) elapsedMs = now - began;
    }
    this.emit({ kind: 'step', id, state, detail, elapsedMs });
    if (this.json) return;
    const mark = { started: '…', done: '✓', failed: '✗', skipped: '-' }[state];
    const colour = { started: 36, done: 32, failed: 31, skipped: 2 }[state];
    const time = elapsedMs === undefined ? '' : ` (${formatElapsed(elapsedMs)})`;
    this.err(`${paint(this.options.color, colour, mark)} ${id}${detail ? `: ${detail}` : ''}${time}`);
  }

  /** Runs `work` as a step: started, then done with its detail, or failed with the error's message. */
  async track<T>(
    id: string,
    work: () => Promise<T>,
    describe?: (value: T) => string | undefined,
  ): Promise<T> {
    this.step(id, 'started');
    try {
      const value = await work();
      this.step(id, 'done', describe?.(value));
      return value;
    } catch (error) {
      this.step(id, 'failed', error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  /** The command's final result: JSON on stdout with --json, else the human rendering on stdout. */
  result<T>(value: T, render: (value: T) => string): void {
    if (this.resultWritten) throw new Error('a command may write only one result');
    this.resultWritten = true;
    if (this.json) this.options.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = render(value);
      if (text.length > 0) this.options.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** Error report: one line for people, or a JSON error document on stdout with --json. */
  failure(
    error: { name: string; message: string; exitCode: number; details?: unknown },
    stack?: string,
  ): void {
    if (this.json && !this.resultWritten) {
      this.resultWritten = true;
      this.options.stdout.write(
        `${JSON.stringify({ error: { kind: error.name, message: error.message, exitCode: error.exitCode, details: error.details } }, null, 2)}\n`,
      );
    }
    this.err(paint(this.options.color, 31, `wavectl: ${error.message}`));
    if (stack && this.verbose) this.err(stack);
  }
}

export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** Renders rows as an aligned text table for people. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
