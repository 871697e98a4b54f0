import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from '../errors';
import { writeFileAtomic } from '../fs/atomic-write';
import { type WavectlConfig, WavectlConfigSchema } from './schema';

export const CONFIG_FILE = 'wavectl.json';

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
    throw new ConfigError(
      `${file} is not valid JSON (${(error as Error).message}); fix it or run \`wavectl init --force\``,
      {
        cause: error,
        problems: [{ path: '(root)', message: 'not valid JSON' }],
      },
    );
  }
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

/** Validates, then replaces wavectl.json atomically; an invalid config is never written. */
export async function writeConfig(dir: string, config: WavectlConfig): Promise<void> {
  const check = checkConfig(config);
  if (!check.ok) throw invalidConfigError(configPath(dir), check.problems);
  await writeFileAtomic(configPath(dir), serializeConfig(check.config));
}
