import type { Context } from '../context';
import { RouterError, UsageError } from '../errors';
import { renderTable } from '../io/output';
import { checkRouter, type RouterCheck } from './check-router';
import { type ConfigureHubOptions, concurrencyOption, prepareRouters, scanAndReach } from './configure-hub';
import { renderDriftItem } from './drift';

export interface CheckHubResult {
  results: RouterCheck[];
  summary: { inSync: number; drifted: number; unverified: number };
}

/** Options of configure-hub that change a router: meaningless with --check, so refused. */
const APPLY_ONLY = ['dryRun', 'reboot', 'timeout', 'rollbackTimeout', 'reach'] as const;

/**
 * `wavectl configure-hub --check`: reads each chosen router once, in parallel, and reports how it differs
 * from what configure-hub would write. Changes nothing, records nothing, takes no lock.
 */
export async function checkHub(ctx: Context, options: ConfigureHubOptions): Promise<CheckHubResult> {
  const misplaced = APPLY_ONLY.filter((o) => options[o] !== undefined && options[o] !== false);
  if (misplaced.length > 0 || options.install === false) {
    const name = misplaced[0] ?? 'noInstall';
    throw new UsageError(
      `--check changes nothing: --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not go with it`,
    );
  }
  if ((options.host !== undefined || options.port !== undefined) && options.site === undefined) {
    throw new UsageError('--host and --port name one router: use them with --site N');
  }
  const { scanInterval, reach } = scanAndReach(options);
  const concurrency = concurrencyOption(options);
  const { jobs, auth, acceptNewHostKey } = await prepareRouters(ctx, options, scanInterval, reach);
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(concurrency);
  const results = await Promise.all(
    jobs.map((job) =>
      limit(
        async (): Promise<RouterCheck> =>
          'status' in job
            ? {
                site: job.site,
                host: job.host,
                port: job.port,
                user: job.user,
                status: 'unverified',
                step: job.status === 'failed' ? job.step : 'config',
                reason: job.status === 'failed' ? job.reason : 'not checked',
                roundTrips: 0,
              }
            : checkRouter(job, {
                auth,
                acceptNewHostKey,
                connectTimeoutMs: 10_000,
                handshakeFreshSeconds: 180,
                progress: (site, step, state, detail) => ctx.io.step(`site ${site}: ${step}`, state, detail),
              }),
      ),
    ),
  );
  const count = (status: RouterCheck['status']) => results.filter((r) => r.status === status).length;
  return {
    results,
    summary: { inSync: count('in-sync'), drifted: count('drifted'), unverified: count('unverified') },
  };
}

const age = (seconds: number | null) =>
  seconds === null
    ? 'never'
    : seconds < 120
      ? `${seconds}s ago`
      : seconds < 7200
        ? `${Math.round(seconds / 60)}m ago`
        : `${Math.round(seconds / 3600)}h ago`;

export function renderCheckHub(result: CheckHubResult): string {
  const parts: string[] = [];
  for (const r of result.results) {
    if (r.status !== 'drifted') continue;
    parts.push(
      `# site ${r.site} (${r.host}): ${r.drift.length} difference(s)`,
      ...r.drift.map(renderDriftItem),
      '',
    );
  }
  parts.push(
    renderTable(
      ['site', 'router', 'config', 'tunnel handshake', 'detail'],
      result.results.map((r) =>
        r.status === 'unverified'
          ? [String(r.site), r.host, 'unverified', '-', `${r.step}: ${r.reason}`]
          : [
              String(r.site),
              `${r.host} (${r.model})`,
              r.status,
              `${r.tunnel.state}, ${age(r.tunnel.handshakeAgeSeconds)}`,
              r.drift.length === 0 ? '-' : `${r.drift.length} difference(s)`,
            ],
      ),
    ),
  );
  const s = result.summary;
  parts.push(`${s.inSync} in sync, ${s.drifted} drifted, ${s.unverified} unverified`);
  return parts.join('\n');
}

/** Exit 1 when a router drifted or could not be checked; the result has been printed already. */
export function assertInSync(result: CheckHubResult): void {
  const off = result.results.filter((r) => r.status !== 'in-sync');
  if (off.length === 0) return;
  const drifted = off.filter((r) => r.status === 'drifted').map((r) => r.site);
  const unverified = off.filter((r) => r.status === 'unverified').map((r) => r.site);
  const said = [
    drifted.length > 0
      ? `site(s) ${drifted.join(', ')} drifted (\`wavectl configure-hub\` repairs them)`
      : '',
    unverified.length > 0 ? `site(s) ${unverified.join(', ')} could not be checked` : '',
  ].filter(Boolean);
  throw new RouterError(`${said.join('; ')}`, {
    host: off.map((r) => r.host).join(','),
    step: 'check',
  });
}
