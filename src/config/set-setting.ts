import type { Context } from '../context';
import { ConfigError, UsageError } from '../errors';
import { checkConfig, configPath, readConfigDocument } from './file';

/**
 * Keys that are records of what exists, or that bind the file to its resources: changing them by hand
 * would orphan resources or lose records, so `config set` refuses them and says what to do instead.
 */
const NOT_SETTINGS: Record<string, string> = {
  version: 'the format version is not a setting',
  name: 'every AWS resource is tagged and named with it; make a new deployment directory instead',
  'aws.region': 'the resources live in this region; make a new deployment directory for another region',
  resources: 'a record kept by deploy and destroy',
  sites: 'records kept by `wavectl sites`',
  accessServers: 'records kept by `wavectl access-servers`',
};

/** A value as typed: JSON where it parses (30, true, "x"), else the text itself (t3.small, https://…). */
export function parseSettingValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Pure: `document` with `path` (dotted, e.g. `controller.url`) set to `value`; the input is not changed. */
export function withSetting(document: unknown, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  if (keys.some((k) => k.length === 0))
    throw new UsageError(`"${path}" is not a setting path such as controller.url`);
  const root = keys[0]!;
  const refusal = NOT_SETTINGS[path] ?? NOT_SETTINGS[root];
  if (refusal) throw new UsageError(`config set: ${path} cannot be set (${refusal})`);
  const copy = structuredClone((document ?? {}) as Record<string, unknown>);
  let node = copy;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next))
      throw new UsageError(`config set: ${key} in ${path} is not an object`);
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
  return copy;
}

export interface SetSettingResult {
  file: string;
  path: string;
  before: unknown;
  after: unknown;
}

function valueAt(document: unknown, path: string): unknown {
  let node = document;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** `config set PATH VALUE`: validated by the schema and written atomically under the lock. */
export async function setSetting(ctx: Context, path: string, text: string): Promise<SetSettingResult> {
  return ctx.withLock(async () => {
    const dir = ctx.options.dir;
    const document = await readConfigDocument(dir);
    const value = parseSettingValue(text);
    const next = withSetting(document, path, value);
    const check = checkConfig(next);
    if (!check.ok) {
      const lines = check.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      throw new ConfigError(`config set ${path}: ${lines}; ${configPath(dir)} was not changed`, {
        problems: check.problems,
      });
    }
    if (path === 'aws.profile' || path === 'controller.url') {
      const { warnAboutSettings } = await import('./init-deployment');
      await warnAboutSettings(ctx, check.config);
    }
    await ctx.saveConfig(check.config);
    return {
      file: configPath(dir),
      path,
      before: valueAt(document, path) ?? null,
      after: valueAt(check.config, path),
    };
  });
}

export function renderSetSetting(r: SetSettingResult): string {
  return `${r.path}: ${JSON.stringify(r.before)} → ${JSON.stringify(r.after)} (${r.file})`;
}
