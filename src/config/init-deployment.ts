import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import type { Context } from '../context';
import { ConfigError, UsageError } from '../errors';
import { writeFileAtomic } from '../fs/atomic-write';
import { plainHttpWarning } from './controller-url';
import { configPath, problemsOf, readConfigDocument, serializeConfig } from './file';
import { profileDefined, profileFiles } from './profile-files';
import { describeRecords } from './records';
import { assertKnownRegion } from './regions';
import {
  configJsonSchema,
  IDENTITY_PROVIDERS,
  IDP_CLIENT_SECRET_ENV,
  type WavectlConfig,
  WavectlConfigSchema,
} from './schema';

export interface InitOptions {
  identityProvider?: string;
  profile?: string;
  region?: string;
  name?: string;
  force?: boolean;
  controllerInstanceType?: string;
  kasmInstanceType?: string;
  accessServerInstanceType?: string;
  controllerUrl?: string;
  /** The upstream OpenID provider (identity providers other than local). */
  issuerUrl?: string;
  clientId?: string;
  groupsClaim?: string;
  allowedEmailDomain?: string;
  /** A PEM file of the upstream's CA (a private provider); read by initDeployment into `upstreamCa`. */
  upstreamCaFile?: string;
  upstreamCa?: string;
}

/** A deployment name from a directory name: `~/Waveshift US` → `waveshift-us`. */
export function deriveDeploymentName(dir: string): string {
  return basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/g, '');
}

const OPTION_OF_PATH: Record<string, string> = {
  name: '--name',
  identityProvider: '--identity-provider',
  'aws.profile': '--profile',
  'aws.region': '--region',
  'instances.controller.type': '--controller-instance-type',
  'instances.kasm.type': '--kasm-instance-type',
  'instances.accessServer.type': '--access-server-instance-type',
  'controller.url': '--controller-url',
  upstream: '--issuer-url',
  'upstream.issuerUrl': '--issuer-url',
  'upstream.clientId': '--client-id',
  'upstream.groupsClaim': '--groups-claim',
  'upstream.allowedEmailDomain': '--allowed-email-domain',
  'upstream.caCertificate': '--upstream-ca-file',
};

const UPSTREAM_FLAGS = {
  issuerUrl: '--issuer-url',
  clientId: '--client-id',
  groupsClaim: '--groups-claim',
  allowedEmailDomain: '--allowed-email-domain',
  upstreamCaFile: '--upstream-ca-file',
} as const;

/** Pure: the `upstream` section for these options, or why they do not fit the identity provider. */
function upstreamOf(options: InitOptions): Record<string, unknown> | undefined {
  const given = (Object.keys(UPSTREAM_FLAGS) as (keyof typeof UPSTREAM_FLAGS)[]).filter(
    (k) => options[k] !== undefined,
  );
  if (options.identityProvider === 'local') {
    if (given.length === 0) return undefined;
    throw new UsageError(
      `${given.map((k) => UPSTREAM_FLAGS[k]).join(', ')}: only for an upstream identity provider, not local`,
    );
  }
  const missing = (['issuerUrl', 'clientId'] as const).filter((k) => !options[k]);
  if (missing.length > 0) {
    throw new UsageError(
      `missing ${missing.map((k) => UPSTREAM_FLAGS[k]).join(', ')} for --identity-provider ${options.identityProvider}; e.g. --issuer-url https://acme.okta.com --client-id 0oa1b2c3 (the client secret comes from ${IDP_CLIENT_SECRET_ENV} or a prompt at \`wavectl deploy\`)`,
    );
  }
  return {
    issuerUrl: options.issuerUrl,
    clientId: options.clientId,
    ...(options.groupsClaim !== undefined ? { groupsClaim: options.groupsClaim } : {}),
    ...(options.allowedEmailDomain !== undefined ? { allowedEmailDomain: options.allowedEmailDomain } : {}),
    ...(options.upstreamCa !== undefined ? { caCertificate: options.upstreamCa } : {}),
  };
}

/** Pure: the config `init` writes for these options in `dir`, or every problem, named by option. */
export function buildInitialConfig(
  dir: string,
  options: InitOptions,
  schemaRef: string | undefined,
): WavectlConfig {
  const missing = (['identityProvider', 'profile', 'region'] as const).filter((k) => !options[k]);
  if (missing.length > 0) {
    const flags = missing.map(
      (k) => ({ identityProvider: '--identity-provider', profile: '--profile', region: '--region' })[k],
    );
    throw new UsageError(
      `missing ${flags.join(', ')}; e.g. wavectl init --identity-provider local --profile default --region us-east-1 (identity providers: ${IDENTITY_PROVIDERS.join(', ')})`,
    );
  }
  const name = options.name ?? deriveDeploymentName(dir);
  const known = (IDENTITY_PROVIDERS as readonly string[]).includes(options.identityProvider!);
  const upstream = known ? upstreamOf(options) : undefined;
  const document = {
    ...(schemaRef ? { $schema: schemaRef } : {}),
    version: 1,
    name,
    identityProvider: options.identityProvider,
    ...(upstream ? { upstream } : {}),
    aws: { profile: options.profile, region: options.region },
    instances: {
      controller: { ...(options.controllerInstanceType ? { type: options.controllerInstanceType } : {}) },
      kasm: { ...(options.kasmInstanceType ? { type: options.kasmInstanceType } : {}) },
      accessServer: {
        ...(options.accessServerInstanceType ? { type: options.accessServerInstanceType } : {}),
      },
    },
    controller: options.controllerUrl ? { url: options.controllerUrl } : {},
  };
  const parsed = WavectlConfigSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const problems = problemsOf(parsed.error).map((p) => {
    const option = OPTION_OF_PATH[p.path];
    if (p.path === 'name' && options.name === undefined) {
      return {
        path: p.path,
        message: `${p.message} (derived from the directory name "${basename(dir)}"; pass --name)`,
      };
    }
    return option ? { path: option, message: p.message } : p;
  });
  throw new ConfigError(`invalid options: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, {
    problems,
  });
}

/**
 * `$schema` names a copy of the schema beside wavectl.json: it resolves wherever the directory is moved,
 * committed or cloned, with or without wavectl installed there.
 */
const SCHEMA_FILE = 'wavectl.schema.json';
const SCHEMA_REFERENCE = `./${SCHEMA_FILE}`;

export interface InitResult {
  file: string;
  overwritten: boolean;
  config: WavectlConfig;
}

export async function initDeployment(ctx: Context, options: InitOptions): Promise<InitResult> {
  const dir = ctx.options.dir;
  if (options.region) assertKnownRegion('--region', options.region);
  const upstreamCa = options.upstreamCaFile ? await readCaFile(dir, options.upstreamCaFile) : undefined;
  const config = buildInitialConfig(dir, { ...options, upstreamCa }, SCHEMA_REFERENCE);
  const file = configPath(dir);
  if (!existsSync(dir))
    throw new UsageError(`directory ${dir} does not exist; create it or pass another --dir`);
  if (existsSync(file) && options.force) await consentToOverwrite(ctx, file);
  await warnAboutSettings(ctx, config);
  return ctx.withLock(async () => {
    const exists = existsSync(file);
    if (exists && !options.force) {
      throw new ConfigError(
        `${file} already exists; to change one setting use \`wavectl config set <path> <value>\`; --force overwrites it`,
      );
    }
    await writeFileAtomic(join(dir, SCHEMA_FILE), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    await ctx.saveConfig(config);
    return { file, overwritten: exists, config };
  });
}

async function readCaFile(dir: string, file: string): Promise<string> {
  try {
    return (await readFile(resolve(dir, file), 'utf8')).trim();
  } catch (error) {
    throw new UsageError(
      `--upstream-ca-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

const SETTING_HINT = 'to change one setting, use `wavectl config set <path> <value>` instead';

/**
 * Settings that are valid but probably wrong: a profile the shared AWS files do not define (it may still
 * come from SSO or the environment), a controller URL that would carry the API key in clear.
 */
export async function warnAboutSettings(
  ctx: Context,
  config: Pick<WavectlConfig, 'aws' | 'controller'>,
): Promise<void> {
  if (!ctx.env.AWS_ACCESS_KEY_ID && !(await profileDefined(config.aws.profile, ctx.env))) {
    ctx.io.warn(
      `AWS profile "${config.aws.profile}" is not defined in ${profileFiles(ctx.env)}; AWS calls will fail unless it comes from SSO or the environment`,
    );
  }
  const insecure = config.controller.url ? plainHttpWarning(config.controller.url) : undefined;
  if (insecure) ctx.io.warn(insecure);
}

/** Overwriting records (or a file that cannot be read to know) is destructive: it needs consent. */
async function consentToOverwrite(ctx: Context, file: string): Promise<void> {
  let records: string[];
  try {
    records = describeRecords(await readConfigDocument(ctx.options.dir));
  } catch {
    records = ['records that cannot be read'];
  }
  if (records.length === 0) return;
  await ctx.confirm(
    `${file} records ${records.join(', ')}; overwriting loses them (${SETTING_HINT}).`,
    'overwrite',
    `overwrite ${file}, which records ${records.join(', ')},`,
    SETTING_HINT,
  );
}

export function renderInitResult(result: InitResult): string {
  return `${result.overwritten ? 'Overwrote' : 'Wrote'} ${result.file}:\n${serializeConfig(result.config)}`;
}
