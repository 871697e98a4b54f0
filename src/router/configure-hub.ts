import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parameterNames } from '../aws/naming';
import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { AbortedError, ConfigError, RouterError, UsageError, WavectlError } from '../errors';
import { renderTable } from '../io/output';
import { planSiteTunnel } from '../network/site-tunnel';
import {
  configureRouter,
  type RouterJob,
  type RouterResult,
  type RouterRunOptions,
} from './configure-router';
import { DEFAULT_SCAN_INTERVAL_MINUTES } from './router-plan';
import { parseSiteList, reachAddress } from './site-selection';
import type { RouterAddress, RouterAuth } from './ssh';

export const FACTORY_ROUTER_HOST = '192.168.8.1';

export interface ConfigureHubOptions {
  site?: string;
  sites?: string;
  all?: boolean;
  host?: string;
  port?: string;
  user?: string;
  identity?: string;
  acceptNewHostKey?: boolean;
  dryRun?: boolean;
  reboot?: boolean;
  manageOverTunnel?: boolean;
  install?: boolean;
  scanInterval?: string;
  concurrency?: string;
  timeout?: string;
  rollbackTimeout?: string;
  reach?: string;
}

export interface ConfigureHubResult {
  results: RouterResult[];
  summary: { changed: number; unchanged: number; planned: number; failed: number };
}

function intOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

/** The scanner script shipped next to the bundle (dist/../scripts) or the sources (src/router/../../scripts). */
export async function readScannerScript(): Promise<string> {
  for (const relative of ['../scripts/device-scanner.sh', '../../scripts/device-scanner.sh']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return readFile(path, 'utf8');
  }
  throw new WavectlError(
    'scripts/device-scanner.sh is missing from this installation of wavectl; reinstall it',
  );
}

function selectSites(config: WavectlConfig, options: ConfigureHubOptions): number[] {
  const chosen = [options.site !== undefined, options.sites !== undefined, options.all === true].filter(
    Boolean,
  ).length;
  if (chosen !== 1)
    throw new UsageError('choose the routers with exactly one of --site N, --sites 0-9,12 or --all');
  if (options.site !== undefined) return [intOption('--site', options.site, 0, 0, 255)];
  if (options.sites !== undefined) return parseSiteList(options.sites);
  if (config.sites.length === 0)
    throw new ConfigError('wavectl.json has no sites; add them with `wavectl sites --add`');
  // A router's address is recorded by its first --site run; with none recorded, --all would reach nothing.
  if (!config.sites.some((s) => s.router !== undefined))
    throw new UsageError(
      'no site has a recorded router address yet: configure each router once with `wavectl configure-hub --site N [--host <address>]`, which records it; --all then reaches them all',
    );
  const all = config.sites.map((s) => s.number).sort((a, b) => a - b);
  return all;
}

async function readSecrets(ctx: Context, names: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (names.length === 0) return found;
  const ssm = await (await ctx.aws()).ssm();
  const { GetParametersCommand } = await import('@aws-sdk/client-ssm');
  const { toAwsError } = await import('../aws/aws-error');
  for (let i = 0; i < names.length; i += 10) {
    try {
      const out = await ssm.send(
        new GetParametersCommand({ Names: names.slice(i, i + 10), WithDecryption: true }),
      );
      for (const p of out.Parameters ?? []) if (p.Name && p.Value !== undefined) found.set(p.Name, p.Value);
    } catch (error) {
      throw toAwsError('SSM GetParameters (site secrets)', error);
    }
  }
  return found;
}

/** Reads a line from the terminal without echoing it (for the router password). */
export async function promptHidden(ctx: Context, question: string): Promise<string> {
  const input = ctx.stdin as NodeJS.ReadStream;
  ctx.stderr.write(question);
  const raw = typeof input.setRawMode === 'function';
  if (raw) input.setRawMode(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer | string) => {
        const typed = [...chunk.toString()];
        for (const [at, ch] of typed.entries()) {
          if (ch === '\r' || ch === '\n') {
            // Pause now, not later: a flowing stream with no listener drops what is typed next.
            input.off('data', onData);
            input.pause();
            // A pasted "password⏎yes⏎" carries the next prompt's answer too: hand it back to the stream.
            const rest = typed.slice(at + 1).join('');
            if (rest.length > 0) input.unshift(rest);
            ctx.stderr.write('\n');
            return resolve(text);
          }
          if (ch === '\u0003') {
            input.off('data', onData);
            input.pause();
            return reject(new AbortedError('interrupted; nothing was changed'));
          }
          if (ch === '\u007f') text = text.slice(0, -1);
          else text += ch;
        }
      };
      input.on('data', onData);
      input.resume();
    });
  } finally {
    if (raw) input.setRawMode(false);
    input.pause();
  }
}

async function routerAuth(ctx: Context, options: ConfigureHubOptions): Promise<RouterAuth> {
  const auth: RouterAuth = {};
  if (options.identity) {
    try {
      auth.privateKey = await readFile(options.identity);
    } catch (error) {
      throw new UsageError(`--identity: cannot read ${options.identity}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (ctx.env.SSH_AUTH_SOCK) auth.agent = ctx.env.SSH_AUTH_SOCK;
  if (ctx.env.WAVECTL_ROUTER_PASSWORD !== undefined) auth.password = ctx.env.WAVECTL_ROUTER_PASSWORD;
  if (!auth.privateKey && !auth.agent && auth.password === undefined) {
    if (!ctx.options.prompts) {
      throw new UsageError(
        'no way to log in to the router: set WAVECTL_ROUTER_PASSWORD, pass --identity <key file>, or run ssh-agent (never put a password on the command line)',
      );
    }
    auth.password = await promptHidden(ctx, 'Router root password: ');
  }
  return auth;
}

/** Host keys are asked about one at a time, even when many routers connect at once. */
function hostKeyApproval(ctx: Context, options: ConfigureHubOptions) {
  let queue = Promise.resolve(true);
  return (address: RouterAddress, fingerprint: string): Promise<boolean> => {
    if (options.acceptNewHostKey) {
      ctx.io.info(`pinning the host key of ${address.host}:${address.port}: ${fingerprint}`);
      return Promise.resolve(true);
    }
    if (!ctx.options.prompts) return Promise.resolve(false);
    queue = queue.then(() =>
      ctx
        .confirm(
          `The router at ${address.host}:${address.port} offers the SSH host key ${fingerprint}.`,
          'yes',
        )
        .catch(() => false),
    );
    return queue;
  };
}

/**
 * The controller's view of a site's scanner reports, when the controller speaks HTTP (controller.url);
 * undefined otherwise, and when the controller cannot be reached: the tunnel handshake still counts.
 */
async function scannerReports(
  ctx: Context,
  config: WavectlConfig,
): Promise<RouterRunOptions['reportedSince'] | undefined> {
  if (!config.controller.url) return undefined;
  try {
    const { connectController } = await import('../controller-client/connect');
    const controller = await connectController(ctx);
    return async (site, since) => {
      const last = (await controller.getSite(site))?.lastReportAt;
      // lastReportAt is the report's scan time, in whole seconds of the router's clock: allow one second.
      return typeof last === 'string' && new Date(last).getTime() >= since.getTime() - 1000;
    };
  } catch (error) {
    ctx.io.debug(`controller not used to confirm sites online: ${(error as Error).message}`);
    return undefined;
  }
}

function routerRecordFor(site: SiteRecord | undefined, options: ConfigureHubOptions, single: boolean) {
  const port = intOption('--port', options.port, site?.router?.port ?? 22, 1, 65535);
  const host =
    (single ? options.host : undefined) ?? site?.router?.host ?? (single ? FACTORY_ROUTER_HOST : undefined);
  const user = options.user ?? site?.router?.user ?? 'root';
  // The pin identifies the router, whatever address it is reached on: a reset router must be re-pinned
  // on purpose (remove router.hostKey), never silently.
  return { host, port, user, hostKey: site?.router?.hostKey };
}

/**
 * What an operator chose for a router, per site: the option when given, else what was last applied to
 * that site, else the default. A run without the option must neither undo the choice nor (with --check)
 * call it drift. Pure.
 */
export function routerChoices(
  recorded: SiteRecord['router'],
  manageOverTunnel: boolean | undefined,
  scanInterval: number | undefined,
): { manageOverTunnel: boolean; scanIntervalMinutes: number } {
  return {
    manageOverTunnel: manageOverTunnel ?? recorded?.manageOverTunnel ?? false,
    scanIntervalMinutes: scanInterval ?? recorded?.scanIntervalMinutes ?? DEFAULT_SCAN_INTERVAL_MINUTES,
  };
}

const failed = (site: number, host: string, step: string, reason: string): RouterResult => ({
  site,
  host,
  port: 22,
  user: 'root',
  roundTrips: 0,
  configuration: 'previous',
  status: 'failed',
  step,
  reason,
});

/** Routers chosen by the options: a job per router ready to run, or the reason it cannot run. */
export interface PreparedRouters {
  config: WavectlConfig;
  jobs: (RouterJob | RouterResult)[];
  auth: RouterAuth;
  acceptNewHostKey: RouterRunOptions['acceptNewHostKey'];
}

/**
 * Everything configure-hub and configure-hub --check share: the chosen sites, their secrets from SSM, the
 * desired state of each router (its job), and how to log in.
 */
export async function prepareRouters(
  ctx: Context,
  options: ConfigureHubOptions,
  scanInterval: number | undefined,
  reach: string,
): Promise<PreparedRouters> {
  const config = await ctx.loadConfig();
  const numbers = selectSites(config, options);
  const single = options.site !== undefined;
  if (single && !config.sites.some((s) => s.number === numbers[0])) {
    throw new ConfigError(`site ${numbers[0]} is not in wavectl.json; add it with \`wavectl sites --add\``);
  }
  // Local inputs (key file, password) are checked before any AWS call, so bad usage fails fast.
  const auth = await routerAuth(ctx, options);
  const scannerScript = await readScannerScript();
  const names = parameterNames(config.name);
  const wanted = numbers.filter((n) => config.sites.some((s) => s.number === n));
  const secrets = await readSecrets(
    ctx,
    wanted.flatMap((n) => [names.sitePrivateKey(n), names.siteScannerKey(n)]),
  );
  const jobFor = (n: number): RouterJob | RouterResult => {
    const site = config.sites.find((s) => s.number === n);
    if (!site) return failed(n, '-', 'config', `site ${n} is not in wavectl.json`);
    const where = routerRecordFor(site, options, single);
    if (!where.host) {
      return failed(
        n,
        '-',
        'config',
        `no router address recorded for site ${n}; run \`wavectl configure-hub --site ${n} --host <address>\` once`,
      );
    }
    const privateKey = secrets.get(names.sitePrivateKey(n));
    const scannerKey = secrets.get(names.siteScannerKey(n));
    if (!privateKey || !scannerKey) {
      return failed(
        n,
        where.host,
        'secrets',
        `site ${n}'s WireGuard private key or scanner key is missing from SSM (${names.sitePrivateKey(n)}); re-create the site with \`wavectl sites\``,
      );
    }
    try {
      const tunnel = planSiteTunnel(config.sites, config.accessServers, n);
      return {
        site: n,
        address: { host: where.host, port: where.port, user: where.user },
        pinnedHostKey: where.hostKey,
        reach: (lan) => reachAddress(reach, lan, n),
        plan: {
          tunnel,
          siteName: site.name,
          privateKey,
          ...routerChoices(site.router, options.manageOverTunnel, scanInterval),
          scannerKey,
          scannerScript,
          ca: config.tls && { certificate: config.tls.caCertificate, fingerprint: config.tls.caFingerprint },
        },
      };
    } catch (error) {
      if (!(error instanceof WavectlError)) throw error;
      return failed(n, where.host, 'config', error.message);
    }
  };
  return { config, jobs: numbers.map(jobFor), auth, acceptNewHostKey: hostKeyApproval(ctx, options) };
}

/** --scan-interval (undefined when not given: each site keeps its own) and --reach, checked. */
export function scanAndReach(options: ConfigureHubOptions): {
  scanInterval: number | undefined;
  reach: string;
} {
  const scanInterval =
    options.scanInterval === undefined
      ? undefined
      : intOption('--scan-interval', options.scanInterval, 0, 1, 60);
  const reach = options.reach ?? '{lan}';
  if (!reach.includes('{lan}') && !reach.includes('{site}')) {
    throw new UsageError('--reach must contain {lan} or {site}, e.g. "{lan}" or "10.99.{site}.1"');
  }
  return { scanInterval, reach };
}

export const concurrencyOption = (options: ConfigureHubOptions): number =>
  intOption('--concurrency', options.concurrency, 16, 1, 256);

/** `wavectl configure-hub`: configures the chosen sites' routers in parallel and records where they are. */
export async function configureHub(ctx: Context, options: ConfigureHubOptions): Promise<ConfigureHubResult> {
  if ((options.host !== undefined || options.port !== undefined) && options.site === undefined) {
    throw new UsageError(
      '--host and --port name one router: use them with --site N (other sites use their recorded address)',
    );
  }
  const { scanInterval, reach } = scanAndReach(options);
  const concurrency = concurrencyOption(options);
  const timeoutSeconds = intOption('--timeout', options.timeout, 300, 5, 3600);
  const rollbackSeconds = intOption('--rollback-timeout', options.rollbackTimeout, 120, 10, 3600);
  return ctx.withLock(async () => {
    const { config, jobs, auth, acceptNewHostKey } = await prepareRouters(ctx, options, scanInterval, reach);
    const run: RouterRunOptions = {
      auth,
      acceptNewHostKey,
      dryRun: options.dryRun === true,
      reboot: options.reboot === true,
      install: options.install !== false,
      timeoutMs: timeoutSeconds * 1000,
      rollbackSeconds,
      connectTimeoutMs: 10_000,
      pollMs: 500,
      handshakeFreshSeconds: 180,
      reportedSince: await scannerReports(ctx, config),
      progress: (site, step, state, detail) => ctx.io.step(`site ${site}: ${step}`, state, detail),
      located: (site, where) => remember(site, where),
    };
    let saving = Promise.resolve();
    let saveError: unknown;
    /**
     * Records where a router answers (and its pin) as soon as it is known, on disk before the run goes
     * on: a run killed later leaves it true. A failed save fails the caller and the command.
     */
    const remember = (
      number: number,
      where: RouterAddress & { hostKey?: string },
      applied?: ReturnType<typeof routerChoices>,
    ): Promise<void> => {
      const hostKey = where.hostKey;
      if (!run.dryRun && hostKey) {
        saving = saving.then(async () => {
          const site = config.sites.find((s) => s.number === number);
          if (!site || saveError !== undefined) return;
          const { scanIntervalMinutes, manageOverTunnel } = applied ?? site.router ?? {};
          const next = {
            host: where.host,
            port: where.port,
            user: where.user,
            hostKey,
            ...(scanIntervalMinutes === undefined ? {} : { scanIntervalMinutes }),
            ...(manageOverTunnel === undefined ? {} : { manageOverTunnel }),
          };
          if (JSON.stringify(site.router) === JSON.stringify(next)) return;
          site.router = next;
          await ctx.saveConfig(config).catch((error: unknown) => {
            saveError = error;
          });
        });
      }
      return saving.then(() => {
        if (saveError !== undefined) throw saveError;
      });
    };
    // An unconfirmed router is about to move back by itself: its record stays where it returns to.
    const record = (result: RouterResult, job: RouterJob) => {
      if (result.configuration === 'applied' || result.configuration === 'previous') {
        const { scanIntervalMinutes, manageOverTunnel } = job.plan;
        const applied =
          result.configuration === 'applied'
            ? { scanIntervalMinutes, manageOverTunnel: manageOverTunnel === true }
            : undefined;
        remember(result.site, result, applied).catch(() => undefined); // reported once, after the run
      }
    };
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(concurrency);
    const results = await Promise.all(
      jobs.map((job) =>
        limit(async () => {
          if ('status' in job) return job;
          const result = await configureRouter(job, run);
          record(result, job);
          return result;
        }),
      ),
    );
    await saving;
    if (saveError !== undefined) throw saveError;
    const count = (status: RouterResult['status']) => results.filter((r) => r.status === status).length;
    return {
      results,
      summary: {
        changed: count('changed'),
        unchanged: count('unchanged'),
        planned: count('planned'),
        failed: count('failed'),
      },
    };
  });
}

function detail(r: RouterResult): string {
  switch (r.status) {
    case 'failed':
      return `${r.step}: ${r.reason}${r.configuration === 'applied' ? ' (the new configuration is in place)' : ''}`;
    case 'unchanged':
      return `${r.online ? 'online' : 'no recent tunnel handshake'}; ${r.roundTrips} round trip(s)`;
    case 'changed':
      if (r.resumed)
        return `confirmed the apply an interrupted run left pending${r.rebooted ? ', rebooted' : ''}, online`;
      return `${r.changes.length} change(s)${r.installed.length ? `, installed ${r.installed.join(' ')}` : ''}${r.rebooted ? ', rebooted' : ''}, online`;
    case 'planned':
      return `${r.changes.length} change(s)${r.missingPackages.length ? `, would install ${r.missingPackages.join(' ')}` : ''}`;
  }
}

export function renderConfigureHub(result: ConfigureHubResult): string {
  const parts: string[] = [];
  for (const r of result.results) {
    if (r.status !== 'planned') continue;
    parts.push(`# site ${r.site} (${r.host}): uci batch`, ...r.batch, '');
    for (const f of r.files)
      parts.push(`# site ${r.site}: file ${f.path} (mode ${f.mode})`, f.content.trimEnd(), '');
  }
  parts.push(
    renderTable(
      ['site', 'status', 'router', 'detail'],
      result.results.map((r) => [
        String(r.site),
        r.status,
        `${r.host}${r.model ? ` (${r.model})` : ''}`,
        detail(r),
      ]),
    ),
  );
  const s = result.summary;
  parts.push(
    `${s.changed} changed, ${s.unchanged} unchanged, ${s.failed} failed${s.planned ? `, ${s.planned} with changes planned (dry run)` : ''}`,
  );
  return parts.join('\n');
}

/** Non-zero exit when any router failed; the result has been printed already. */
export function assertNoFailures(result: ConfigureHubResult): void {
  const bad = result.results.filter((r) => r.status === 'failed');
  if (bad.length === 0) return;
  throw new RouterError(
    `${bad.length} of ${result.results.length} router(s) failed: ${bad.map((r) => `site ${r.site}`).join(', ')}`,
    {
      host: bad.map((r) => r.host).join(','),
      step: 'configure',
    },
  );
}
