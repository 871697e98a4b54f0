import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors';
import { writeFileAtomic } from '../fs/atomic-write';
import { type WavectlConfig, WavectlConfigSchema } from './schema';

export const CONFIG_FILE = 'wavectl.json';
/** The previous good content of wavectl.json, kept by every write. */
export const BACKUP_FILE = 'wavectl.json.bak';

export function configPath(dir: string): string {
  return join(dir, CONFIG_FILE);
}

/** Formats a zod issue path as a JSON path: `sites[3].number`, or `(root)` for the document itself. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out.length === 0 ? String(part) : `.${String(part)}`;
  }
  return out.length === 0 ? '(root)' : out;
}

export function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: jsonPath([...issue.path, key]), message: 'unknown key; remove it' }))
      : [{ path: jsonPath(issue.path), message: issue.message }],
  );
}

export type ConfigCheck = { ok: true; config: WavectlConfig } | { ok: false; problems: ConfigProblem[] };

/** Validates a parsed document without throwing: every problem is reported, not just the first. */
export function checkConfig(document: unknown): ConfigCheck {
  const parsed = WavectlConfigSchema.safeParse(document);
  return parsed.success
    ? { ok: true, config: parsed.data }
    : { ok: false, problems: problemsOf(parsed.error) };
}

export function invalidConfigError(file: string, problems: ConfigProblem[]): ConfigError {
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
  return new ConfigError(`${file} is invalid; fix these and run again:\n${lines}`, { problems });
}

/** Reads the raw document; a missing file or broken JSON is a ConfigError that says what to do. */
export async function readConfigDocument(dir: string): Promise<unknown> {
  const file = configPath(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`no ${CONFIG_FILE} in ${dir}: run \`wavectl init\` there first, or pass --dir`, {
        cause: error,
      });
    }
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const { line, column, reason } = jsonErrorLocation(text, error as Error);
    const backup = join(dir, BACKUP_FILE);
    const restore = existsSync(backup)
      ? `; the previous good content is in ${backup} (\`cp ${backup} ${file}\` restores it)`
      : '';
    throw new ConfigError(
      `${file} is not valid JSON at line ${line}, column ${column} (${reason}); fix it there${restore}`,
      {
        cause: error,
        problems: [
          { path: '(root)', message: `not valid JSON at line ${line}, column ${column}: ${reason}` },
        ],
      },
    );
  }
}

/** Pure: where JSON.parse stopped in `text`, 1-based, from the position in its message (end if none). */
export function jsonErrorLocation(
  text: string,
  error: Error,
): { line: number; column: number; reason: string } {
  const at = /at position (\d+)/.exec(error.message);
  const position = Math.min(at ? Number(at[1]) : text.length, text.length);
  const before = text.slice(0, position).split('\n');
  const reason = error.message
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/ \(line \d+ column \d+\)$/, '');
  return { line: before.length, column: before.at(-1)!.length + 1, reason };
}

export async function readConfig(dir: string): Promise<WavectlConfig> {
  const document = await readConfigDocument(dir);
  const check = checkConfig(document);
  if (!check.ok) throw invalidConfigError(configPath(dir), check.problems);
  return check.config;
}

/** Serialises with `$schema` and the identifying keys first, so diffs of a committed file stay readable. */
export function serializeConfig(config: WavectlConfig): string {
  const { $schema, version, name, ...rest } = config;
  return `${JSON.stringify({ ...($schema === undefined ? {} : { $schema }), version, name, ...rest }, null, 2)}\n`;
}

/**
 * Validates, then replaces wavectl.json atomically; an invalid config is never written. The content it
 * replaces, when that was a valid config, is first kept as wavectl.json.bak (also written atomically).
 */
export async function writeConfig(dir: string, config: WavectlConfig): Promise<void> {
  const check = checkConfig(config);
  if (!check.ok) throw invalidConfigError(configPath(dir), check.problems);
  const previous = await readFile(configPath(dir), 'utf8').catch(() => undefined);
  if (previous !== undefined && isValidConfigText(previous)) {
    await writeFileAtomic(join(dir, BACKUP_FILE), previous);
  }
  await writeFileAtomic(configPath(dir), serializeConfig(check.config));
}

function isValidConfigText(text: string): boolean {
  try {
    return checkConfig(JSON.parse(text)).ok;
  } catch {
    return false;
  }
}
