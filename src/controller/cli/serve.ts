import { resolve } from 'node:path';
import type { Context } from '../../context';
import { ConfigError, ControllerError, UsageError, WavectlError } from '../../errors';
import { CONTROLLER_PORT } from '../../network/service-names';
import { apiKeyProblem } from '../auth/api-key-policy';
import { ControllerConfigError, oidcEnv } from '../config';
import { DEFAULT_DATA_DIR, startController } from '../server';
import { closeOnSignal } from '../shutdown';
import { readTlsFiles, type ServingTls, TlsSourceError } from '../tls-source';

export interface ServeOptions {
  host?: string;
  port?: string;
  dataDir?: string;
  apiKeyFromSsm?: boolean;
  offlineAfter?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Serve HTTPS with a certificate issued now from the deployment CA (its key read from SSM). */
  tls?: boolean;
}

export interface ServeResult {
  url: string;
  database: 'embedded' | 'external';
  /** Where the served certificate came from (none: plain HTTP). */
  tls: 'none' | 'files' | 'deployment-ca';
  dataDir: string | null;
}

function port(raw: string | undefined): number {
  if (raw === undefined) return CONTROLLER_PORT;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new UsageError(`--port must be 0-65535, not "${raw}"`);
  return value;
}

function missedScans(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 1000) {
    throw new UsageError(`--offline-after must be an integer from 1 to 1000, not "${raw}"`);
  }
  return value;
}

/**
 * The deployment key `deploy` stored in SSM, read through the deployment's AWS profile (or the emulator), so
 * that a local controller accepts the same key as the real one without the key touching argv or output.
 */
async function apiKeyFromSsm(ctx: Context): Promise<string> {
  const config = await ctx.loadConfig();
  const [{ GetParameterCommand }, { parameterNames }, { toAwsError }] = await Promise.all([
    import('@aws-sdk/client-ssm'),
    import('../../aws/naming'),
    import('../../aws/aws-error'),
  ]);
  const name = parameterNames(config.name).apiKey;
  const ssm = await (await ctx.aws()).ssm();
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    if (!Parameter?.Value) throw new ControllerError(`SSM parameter ${name} is empty`);
    return Parameter.Value;
  } catch (error) {
    if (error instanceof WavectlError) throw error;
    if ((error as { name?: string }).name === 'ParameterNotFound') {
      throw new ConfigError(
        `no API key in SSM at ${name}; run \`wavectl deploy\` first, or set WAVESHIFT_API_KEY`,
        {
          cause: error,
        },
      );
    }
    throw toAwsError('SSM GetParameter', error);
  }
}

/** --tls-cert/--tls-key files, or with --tls a certificate for the listening host issued from the deployment CA. */
async function servingTls(ctx: Context, options: ServeOptions): Promise<ServingTls | undefined> {
  if (options.tls && (options.tlsCert || options.tlsKey))
    throw new UsageError('--tls issues a certificate itself: give it, or --tls-cert and --tls-key, not both');
  if (!options.tls) {
    try {
      return await readTlsFiles(
        options.tlsCert && resolve(ctx.options.dir, options.tlsCert),
        options.tlsKey && resolve(ctx.options.dir, options.tlsKey),
      );
    } catch (error) {
      if (error instanceof TlsSourceError) throw new UsageError(error.message, { cause: error });
      throw new ConfigError(`cannot read the TLS files: ${(error as Error).message}`, { cause: error });
    }
  }
  const config = await ctx.loadConfig();
  if (!config.tls)
    throw new ConfigError('no deployment CA recorded in wavectl.json: run `wavectl deploy` first');
  const [{ readStoredTls }, { issueServerCertificate }] = await Promise.all([
    import('../../aws/tls-parameters'),
    import('../../tls/certificates'),
  ]);
  const stored = await readStoredTls(await (await ctx.aws()).ssm(), config.name);
  if (!stored.caKeyPem) throw new ConfigError('the deployment CA key is not in SSM: run `wavectl deploy`');
  const host = options.host ?? '127.0.0.1';
  const isIp = /^[\d.]+$|:/.test(host);
  return issueServerCertificate(
    { certificatePem: config.tls.caCertificate, keyPem: stored.caKeyPem },
    {
      names: ['waveshift.internal', 'localhost', ...(isIp ? [] : [host])],
      ips: isIp ? [host] : ['127.0.0.1'],
    },
    new Date(),
  );
}

/** The OpenID provider from WAVESHIFT_OIDC_ISSUER and WAVESHIFT_KASM_CLIENT_SECRET, as on the instance. */
function openIdProvider(ctx: Context) {
  try {
    return oidcEnv(ctx.env);
  } catch (error) {
    if (error instanceof ControllerConfigError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
}

/** `wavectl controller serve`: the controller in the foreground until SIGINT/SIGTERM/SIGHUP. */
export async function serveController(ctx: Context, options: ServeOptions): Promise<void> {
  const listenPort = port(options.port);
  const offlineAfterMissedScans = missedScans(options.offlineAfter);
  const apiKey = options.apiKeyFromSsm ? await apiKeyFromSsm(ctx) : ctx.env.WAVESHIFT_API_KEY?.trim();
  const keyProblem = apiKeyProblem(
    apiKey,
    options.apiKeyFromSsm ? 'the API key in SSM' : 'WAVESHIFT_API_KEY',
  );
  if (keyProblem || !apiKey) {
    throw new ConfigError(apiKey ? keyProblem! : `${keyProblem} (set it, or pass --api-key-from-ssm)`);
  }
  const tls = await servingTls(ctx, options);
  const oidc = openIdProvider(ctx);
  const databaseUrl = ctx.env.DATABASE_URL?.trim() || undefined;
  const dataDir = databaseUrl ? undefined : resolve(ctx.options.dir, options.dataDir ?? DEFAULT_DATA_DIR);
  const controller = await ctx.io
    .track(
      'start controller',
      () =>
        startController({
          host: options.host ?? '127.0.0.1',
          port: listenPort,
          apiKey,
          databaseUrl,
          dataDir,
          offlineAfterMissedScans,
          tls,
          oidc,
          // Request logs go to stderr (stdout holds the result); quiet unless --verbose.
          logger: { level: ctx.options.verbose ? 'info' : 'warn', stream: ctx.stderr },
        }),
      (c) =>
        (dataDir ? `embedded PostgreSQL in ${dataDir}` : 'PostgreSQL from DATABASE_URL') + ` at ${c.url}`,
    )
    .catch((error: unknown) => {
      if (error instanceof WavectlError) throw error;
      throw new ControllerError(`the controller could not start: ${(error as Error).message}`, {
        cause: error,
      });
    });
  ctx.io.result<ServeResult>(
    {
      url: controller.url,
      database: databaseUrl ? 'external' : 'embedded',
      dataDir: dataDir ?? null,
      tls: options.tls ? 'deployment-ca' : tls ? 'files' : 'none',
    },
    (r) => `controller listening on ${r.url} (Ctrl-C stops it)`,
  );
  const stopped = closeOnSignal(controller.close, (signal) =>
    ctx.io.info(`${signal}: finishing requests, then stopping`),
  ).then(() => undefined);
  // A controller whose database died would answer 500 forever: exit non-zero so a supervisor restarts it.
  const death = await Promise.race([stopped, controller.databaseDied ?? new Promise<never>(() => {})]);
  if (typeof death === 'string') {
    await controller.close().catch(() => undefined);
    throw new ControllerError(
      `${death}; the controller stops too: start it again (\`wavectl controller serve\`)`,
    );
  }
  ctx.io.info('controller stopped');
}
