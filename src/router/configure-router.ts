import { RouterError } from '../errors';
import {
  BATCH_FAILED_EXIT,
  CONFIRM_SCRIPT,
  installScript,
  parseBatchFailure,
  parseSnapshot,
  parseStatus,
  READ_SCRIPT,
  REBOOT_SCRIPT,
  type RouterSnapshot,
  RUN_STDIN_SCRIPT,
  renderApplyScript,
  STATUS_SCRIPT,
} from './remote-scripts';
import {
  applyInputs,
  failedBatchLines,
  missingPackages,
  movedLanAddress,
  planRouter,
  type RouterPlan,
  type RouterPlanInputs,
} from './router-plan';
import { connectRouter, type RouterAddress, type RouterAuth, type RouterSession } from './ssh';
import type { UciChange } from './uci-plan';

/** One router to configure: where it is now, its pin, and the site's desired state. */
export interface RouterJob {
  site: number;
  address: RouterAddress;
  pinnedHostKey?: string;
  /** The address to reach the router at once its LAN address is `lan` (default: `lan` itself). */
  reach: (lan: string) => string;
  plan: RouterPlanInputs;
}

export interface RouterRunOptions {
  auth: RouterAuth;
  acceptNewHostKey: (address: RouterAddress, fingerprint: string) => Promise<boolean>;
  dryRun: boolean;
  /** Reboot even when nothing changed. */
  reboot: boolean;
  /** Install missing packages with opkg (else fail naming them). */
  install: boolean;
  /** Time limit for the router to return and the site to come online. */
  timeoutMs: number;
  rollbackSeconds: number;
  connectTimeoutMs: number;
  /** Pause between polls while waiting for the router. */
  pollMs: number;
  /** A handshake newer than this counts as online. */
  handshakeFreshSeconds: number;
  /**
   * The other evidence of a site online: the controller received a scanner report from it since `since`.
   * Absent when the controller is not reachable over HTTP (a relay per poll would cost an SSM command).
   */
  reportedSince?: (site: number, since: Date) => Promise<boolean>;
  progress: (site: number, step: string, state: 'started' | 'done' | 'failed', detail?: string) => void;
}

interface Common {
  site: number;
  /** Where the router is reachable now (its new LAN address after a move). */
  host: string;
  port: number;
  user: string;
  hostKey?: string;
  model?: string;
  firmware?: string;
  roundTrips: number;
}

export type RouterResult =
  | (Common & { status: 'unchanged'; online: boolean; rebooted: boolean })
  | (Common & {
      status: 'changed';
      changes: UciChange[];
      installed: string[];
      rebooted: boolean;
      online: boolean;
    })
  | (Common & {
      status: 'planned';
      changes: UciChange[];
      missingPackages: string[];
      batch: string[];
      files: { path: string; mode: string; content: string }[];
    })
  | (Common & { status: 'failed'; step: string; reason: string });

/** An answer that waiting longer cannot change (a rollback already happened): stops a retry loop. */
class FinalRouterError extends RouterError {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Attempt {
  session: RouterSession | undefined;
  roundTrips = 0;
  hostKey: string | undefined;
  model: string | undefined;
  firmware: string | undefined;
  host: string;

  constructor(
    readonly job: RouterJob,
    readonly options: RouterRunOptions,
  ) {
    this.host = job.address.host;
    this.hostKey = job.pinnedHostKey;
  }

  address(host = this.host): RouterAddress {
    return { ...this.job.address, host };
  }

  async connect(host: string, timeoutMs = this.options.connectTimeoutMs): Promise<RouterSession> {
    this.drop();
    const address = this.address(host);
    const session = await connectRouter(
      address,
      this.options.auth,
      { pinned: this.hostKey, acceptNew: (fp) => this.options.acceptNewHostKey(address, fp) },
      timeoutMs,
    );
    this.hostKey = session.fingerprint;
    this.session = session;
    return session;
  }

  /** Keeps reconnecting to `host` until `until` says done, or the deadline passes. */
  async retry<T>(
    step: string,
    what: string,
    host: string,
    deadline: number,
    until: (s: RouterSession) => Promise<T | undefined>,
  ): Promise<T> {
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const session =
          this.session && !this.session.isClosed && this.session.address.host === host
            ? this.session
            : await this.connect(
                host,
                Math.min(this.options.connectTimeoutMs, Math.max(1000, deadline - Date.now())),
              );
        const value = await until(session);
        if (value !== undefined) return value;
      } catch (error) {
        // A changed host key is never retried: it is an answer, not an outage.
        if (
          error instanceof FinalRouterError ||
          (error instanceof RouterError && error.step === 'host key')
        ) {
          throw error;
        }
        last = error;
      }
      await sleep(this.options.pollMs);
    }
    const why = last instanceof Error ? ` (last error: ${last.message})` : '';
    throw new RouterError(`${what}${why}`, { host, step });
  }

  async exec(step: string, command: string, stdin?: string) {
    const session = this.session;
    if (!session) throw new RouterError('not connected', { host: this.host, step });
    this.roundTrips += 1;
    return session.exec(command, step, stdin);
  }

  drop(): void {
    if (this.session && !this.session.isClosed) this.session.close();
    this.session = undefined;
  }

  common(): Common {
    return {
      site: this.job.site,
      host: this.host,
      port: this.job.address.port,
      user: this.job.address.user,
      hostKey: this.hostKey,
      model: this.model,
      firmware: this.firmware,
      roundTrips: this.roundTrips,
    };
  }
}

const isOnline = (s: { handshakeAt?: number; now: number }, freshSeconds: number) =>
  s.handshakeAt !== undefined && s.handshakeAt > 0 && s.now - s.handshakeAt <= freshSeconds;

type Track = <T>(name: string, work: () => Promise<T>, describe?: (v: T) => string | undefined) => Promise<T>;

function routerFailure(attempt: Attempt, step: string, message: string): RouterError {
  return new RouterError(message, { host: attempt.host, step });
}

/** One round trip: everything wavectl needs to know about the router. */
async function readRouter(attempt: Attempt): Promise<RouterSnapshot> {
  const out = await attempt.exec('read', READ_SCRIPT);
  if (out.code !== 0)
    throw routerFailure(attempt, 'read', `reading the configuration failed: ${out.stderr.trim()}`);
  const snapshot = parseSnapshot(out.stdout);
  attempt.model = snapshot.model;
  attempt.firmware = snapshot.firmware;
  if (snapshot.uciErrors.length > 0) {
    throw routerFailure(
      attempt,
      'read',
      `the router's uci cannot read its configuration (${snapshot.uciErrors.join('; ')}); repair /etc/config on the router and run again`,
    );
  }
  if (snapshot.pending.length > 0) {
    // Committing our batch would commit someone's half-done edit along with it.
    const shown = `${snapshot.pending.slice(0, 3).join('; ')}${snapshot.pending.length > 3 ? '; …' : ''}`;
    throw routerFailure(
      attempt,
      'read',
      `the router has uncommitted uci changes (${shown}); commit or revert them (uci revert <config>) and run again`,
    );
  }
  return snapshot;
}

async function installPackages(attempt: Attempt, missing: string[]): Promise<void> {
  if (!attempt.options.install) {
    throw routerFailure(
      attempt,
      'packages',
      `missing packages: ${missing.join(', ')}; install them (opkg install ${missing.join(' ')}) or run without --no-install`,
    );
  }
  const out = await attempt.exec('install', installScript(missing));
  if (out.code !== 0) {
    throw routerFailure(
      attempt,
      'install',
      `opkg install ${missing.join(' ')} failed: ${out.stdout.trim()} ${out.stderr.trim()}`,
    );
  }
}

/** Sends the apply script; true when a detached job is restarting the network (and awaits confirmation). */
async function apply(attempt: Attempt, plan: RouterPlan): Promise<boolean> {
  const script = renderApplyScript(applyInputs(plan, attempt.options.rollbackSeconds));
  const out = await attempt.exec('apply', RUN_STDIN_SCRIPT, script);
  if (out.code === BATCH_FAILED_EXIT) {
    const { failed, errors } = parseBatchFailure(out.stdout);
    const lines = failedBatchLines(plan, failed);
    throw routerFailure(
      attempt,
      'apply',
      `uci did not apply ${lines.length > 0 ? lines.join('; ') : 'the batch as planned'}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}; every staged change was reverted and nothing was committed`,
    );
  }
  if (out.code !== 0) {
    throw routerFailure(
      attempt,
      'apply',
      `applying failed (exit ${out.code}): ${out.stderr.trim().slice(0, 300)}`,
    );
  }
  return out.stdout.includes('apply:detached');
}

/** Reconnects where the router now is and confirms, stopping its rollback; returns that address. */
async function confirm(attempt: Attempt, target: string): Promise<string> {
  const { rollbackSeconds, pollMs } = attempt.options;
  // A fresh session proves the router still takes new connections after the reloads (an open one would
  // survive a firewall that locks the operator out) and, when the LAN moved, that it answers there.
  attempt.drop();
  if (target !== attempt.host) await sleep(Math.min(1500, pollMs * 3));
  const confirmBy = Date.now() + Math.max(5, rollbackSeconds - 5) * 1000;
  await attempt.retry(
    'confirm',
    `the router did not come back at ${target} within ${rollbackSeconds}s; it restores its previous configuration by itself`,
    target,
    confirmBy,
    async () => {
      const state = (await attempt.exec('confirm', CONFIRM_SCRIPT)).stdout.trim();
      if (state === 'rolledback') {
        throw new FinalRouterError('the router rolled back the configuration before it was confirmed', {
          host: target,
          step: 'confirm',
        });
      }
      return state === 'confirmed' ? state : undefined;
    },
  );
  attempt.host = target;
  return target;
}

async function rebootAndReturn(attempt: Attempt, deadline: number): Promise<void> {
  const session = attempt.session ?? (await attempt.connect(attempt.host));
  await attempt.exec('reboot', REBOOT_SCRIPT);
  await Promise.race([session.whenClosed(), sleep(Math.min(30_000, attempt.options.timeoutMs))]);
  attempt.drop();
  await attempt.retry(
    'reboot',
    `the router did not come back at ${attempt.host} within ${Math.round(attempt.options.timeoutMs / 1000)}s`,
    attempt.host,
    deadline,
    async () => true,
  );
}

/** Polls until the tunnel has a fresh handshake or the controller has a report of the site since `since`. */
async function waitOnline(attempt: Attempt, deadline: number, since: Date): Promise<string> {
  const { reportedSince, handshakeFreshSeconds, timeoutMs } = attempt.options;
  const reported = async () => {
    try {
      return (await reportedSince?.(attempt.job.site, since)) === true;
    } catch {
      return false; // the controller may be unreachable from here; the handshake still counts
    }
  };
  return attempt.retry(
    'online',
    `no tunnel handshake${reportedSince ? ' and no scanner report' : ''} within ${Math.round(timeoutMs / 1000)}s; check the access server and the router's WAN`,
    attempt.host,
    deadline,
    async () => {
      const out = await attempt.exec('online', STATUS_SCRIPT);
      if (isOnline(parseStatus(out.stdout), handshakeFreshSeconds)) return 'tunnel handshake';
      return (await reported()) ? 'scanner report received' : undefined;
    },
  );
}

/**
 * Configures one router: read (one round trip), plan, and only if something differs: apply with the
 * router's own rollback, reconnect at its new address, confirm, reboot, wait until the tunnel is up.
 * Never throws for a router's failure: that is a result naming the step.
 */
export async function configureRouter(job: RouterJob, options: RouterRunOptions): Promise<RouterResult> {
  const attempt = new Attempt(job, options);
  let step = 'connect';
  const track: Track = async (name, work, describe) => {
    step = name;
    options.progress(job.site, name, 'started');
    const value = await work();
    options.progress(job.site, name, 'done', describe?.(value));
    return value;
  };
  const startedAt = new Date();
  try {
    const { address } = job;
    await track(
      'connect',
      () => attempt.connect(address.host),
      () => `${address.user}@${address.host}:${address.port}`,
    );
    const snapshot = await track(
      'read',
      () => readRouter(attempt),
      (s) => `${s.model}, ${s.firmware}`,
    );
    const missing = missingPackages(snapshot.packages);
    const plan = planRouter(snapshot, job.plan);
    const online = isOnline(snapshot, options.handshakeFreshSeconds);
    if (options.dryRun || (!plan.changed && missing.length === 0 && !options.reboot)) attempt.drop();
    if (!plan.changed && missing.length === 0 && (options.dryRun || !options.reboot)) {
      return { ...attempt.common(), status: 'unchanged', online, rebooted: false };
    }
    if (options.dryRun) {
      return {
        ...attempt.common(),
        status: 'planned',
        changes: plan.changes,
        missingPackages: missing,
        batch: plan.uci.displayBatch,
        files: plan.files.map((f) => ({ path: f.path, mode: f.mode, content: f.redacted ?? f.content })),
      };
    }
    if (missing.length > 0)
      await track(
        'install',
        () => installPackages(attempt, missing),
        () => missing.join(', '),
      );
    const deadline = Date.now() + options.timeoutMs;
    if (
      plan.changed &&
      (await track(
        'apply',
        () => apply(attempt, plan),
        () => `${plan.changes.length} change(s)`,
      ))
    ) {
      const moved = movedLanAddress(snapshot, job.plan.tunnel.gateway);
      const target = moved ? job.reach(moved) : attempt.host;
      await track(
        'confirm',
        () => confirm(attempt, target),
        (at) => `reachable at ${at}`,
      );
    }
    const rebooted = plan.rebootNeeded || options.reboot;
    if (rebooted)
      await track(
        'reboot',
        () => rebootAndReturn(attempt, deadline),
        () => 'back',
      );
    await track(
      'online',
      () => waitOnline(attempt, deadline, startedAt),
      (evidence) => evidence,
    );
    attempt.drop();
    return {
      ...attempt.common(),
      status: 'changed',
      changes: plan.changes,
      installed: missing,
      rebooted,
      online: true,
    };
  } catch (error) {
    attempt.drop();
    options.progress(job.site, step, 'failed', error instanceof Error ? error.message : String(error));
    // A programming error is a bug to report, not a router's failure.
    if (error instanceof TypeError || error instanceof ReferenceError) throw error;
    return {
      ...attempt.common(),
      status: 'failed',
      step: error instanceof RouterError ? error.step : step,
      reason: error instanceof Error ? error.message : String(error),
    };
  }
}
