import { RouterConnectionError, RouterError } from '../errors';
import { isPending, judgeProbe, parseApplyState, type RouterConfiguration } from './apply-state';
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
  SCRIPT_END,
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
import {
  connectRouter,
  describeSignal,
  type RouterAddress,
  type RouterAuth,
  type RouterSession,
  signalOfExitStatus,
  where,
} from './ssh';
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
  /**
   * The router answered at `host` with `hostKey`, on a configuration that will stay (read before any
   * change, confirmed, or seen rolled back): recorded at once, so that a run killed later leaves the
   * address and the pin true. Not called in a dry run.
   */
  located?: (site: number, where: RouterAddress & { hostKey: string }) => Promise<void>;
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
  /** What the router runs as the run ends (see RouterConfiguration). */
  configuration: RouterConfiguration;
}

export type RouterResult =
  | (Common & { status: 'unchanged'; online: boolean; rebooted: boolean })
  | (Common & {
      status: 'changed';
      changes: UciChange[];
      installed: string[];
      rebooted: boolean;
      online: boolean;
      /** The apply that was confirmed was left pending by an earlier, interrupted run. */
      resumed?: boolean;
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
/** Beyond the rollback window: the job's commit and restarts, the restore's restarts, a reconnection. */
const ROLLBACK_GRACE_SECONDS = 20;
const unique = (hosts: string[]) => [...new Set(hosts)];

class Attempt {
  session: RouterSession | undefined;
  roundTrips = 0;
  hostKey: string | undefined;
  model: string | undefined;
  firmware: string | undefined;
  host: string;
  /** What the router runs if the run ends now. */
  configuration: RouterConfiguration = 'previous';

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

  /**
   * Connects at the first of `hosts` that answers: the recorded address, then the one the router takes
   * once configured (an interrupted run may have left it there). Only an outage moves on to the next.
   */
  async connectFirst(hosts: string[]): Promise<RouterSession> {
    const failures: string[] = [];
    for (const host of hosts) {
      try {
        const session = await this.connect(host);
        this.host = host;
        return session;
      } catch (error) {
        if (!(error instanceof RouterConnectionError)) throw error;
        failures.push(error.message.replace(/^cannot reach the router at /, ''));
      }
    }
    throw new RouterConnectionError(`cannot reach the router at ${failures.join('; nor at ')}`, {
      host: hosts[0] ?? this.host,
      step: 'connect',
    });
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

  async exec(step: string, command: string, stdin?: string, timeoutMs?: number) {
    const session = this.session;
    if (!session) throw new RouterConnectionError('not connected', { host: this.host, step });
    this.roundTrips += 1;
    return session.exec(command, step, stdin, timeoutMs);
  }

  /** Records where the router answers now, on a configuration that stays (on disk before going on). */
  async locate(): Promise<void> {
    if (this.options.dryRun || !this.hostKey) return;
    await this.options.located?.(this.job.site, { ...this.address(), hostKey: this.hostKey });
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
      configuration: this.configuration,
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
  // Staged changes of an apply that has not committed yet are that apply's, not someone's half-done edit.
  if (snapshot.pending.length > 0 && parseApplyState(snapshot.applyState) !== 'started') {
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
    // The shell's status 128 + N: opkg itself was killed (the out-of-memory killer, on a small router).
    const signal = signalOfExitStatus(out.code);
    throw routerFailure(
      attempt,
      'install',
      signal
        ? `opkg install ${missing.join(' ')} was ${describeSignal(signal)}; nothing was changed`
        : `opkg install ${missing.join(' ')} failed: ${out.stdout.trim()} ${out.stderr.trim()}`,
    );
  }
}

/**
 * Sends the apply script: `detached` when a job is restarting the network and awaits the confirmation,
 * `done` when nothing needed one, `uncertain` when the connection dropped before the script answered
 * (it may or may not have run).
 */
async function apply(attempt: Attempt, plan: RouterPlan): Promise<'detached' | 'done' | 'uncertain'> {
  const script = renderApplyScript(applyInputs(plan, attempt.options.rollbackSeconds));
  let out: Awaited<ReturnType<Attempt['exec']>>;
  try {
    out = await attempt.exec('apply', RUN_STDIN_SCRIPT, `${script}${SCRIPT_END}\n`);
  } catch (error) {
    if (error instanceof RouterConnectionError) return 'uncertain';
    throw error;
  }
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
  return out.stdout.includes('apply:detached') ? 'detached' : 'done';
}

/** Why the confirm window ended without an answer, said as true as wavectl can know it. */
function unreachableMessage(attempt: Attempt, hosts: string[], previousHost: string, armed: boolean): string {
  const { rollbackSeconds } = attempt.options;
  const at = hosts.map((h) => where(attempt.address(h))).join(' nor at ');
  if (!armed) {
    return (
      `the connection dropped while the configuration was being sent and the router did not answer at ${at} since: ` +
      `it either never applied it or restores its previous configuration by itself within ${rollbackSeconds}s of the apply; ` +
      `look for it at ${previousHost}`
    );
  }
  const restores = `it restores its previous configuration by itself when its ${rollbackSeconds}s rollback window ends and answers at ${previousHost} again`;
  // An unconfirmed apply rolls back across a reboot too: the previous configuration is kept on flash
  // (/etc/waveshift/pending-restore) and a boot hook restores it unless the apply was confirmed.
  return `the router did not answer at ${at} to confirm the new configuration; ${restores}, even if it reboots meanwhile`;
}

/**
 * Reaches the router wherever it answers (`hosts`: where the apply moves it first, then where it was),
 * has it confirm the apply and keeps asking until it says `confirmed` or `rolledback`; short tries with
 * backoff, so a blip of the link is ridden out inside the rollback window. Returns what the router runs: `applied`
 * (confirmed, or its apply record is gone and its configuration equals the plan) or `previous` (rolled
 * back). `certain`: the apply script answered (else a final state may be an earlier run's).
 */
async function settleApply(
  attempt: Attempt,
  hosts: string[],
  previousHost: string,
  certain: boolean,
): Promise<'applied' | 'previous'> {
  const { connectTimeoutMs, rollbackSeconds, pollMs, timeoutMs } = attempt.options;
  // Long enough to see the window end and the rollback happen (restarts included), or --timeout if longer.
  const deadline = Date.now() + Math.max(timeoutMs, (rollbackSeconds + ROLLBACK_GRACE_SECONDS) * 1000);
  // One try must not eat the window: a black-holed connect waits for its whole time limit.
  const perTry = Math.min(connectTimeoutMs, Math.max(2000, rollbackSeconds * 250));
  const order = [...hosts];
  let armed = certain;
  let pause = pollMs;
  let last: unknown;
  // The old session may linger until the network restart strands it; a fresh one proves the address.
  attempt.drop();
  while (Date.now() < deadline) {
    let answered = false;
    for (const host of order) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const session = attempt.session;
        if (!session || session.isClosed || session.address.host !== host)
          await attempt.connect(host, Math.min(perTry, Math.max(1000, left)));
        const out = await attempt.exec('confirm', CONFIRM_SCRIPT, undefined, perTry);
        answered = true;
        order.splice(order.indexOf(host), 1);
        order.unshift(host);
        const state = parseApplyState(out.stdout);
        armed ||= isPending(state);
        const verdict = judgeProbe(state, certain);
        if (verdict === 'wait') {
          // Not restarted yet: the restart ahead would strand this session.
          if (state === 'started') attempt.drop();
          break;
        }
        attempt.host = host;
        if (verdict === 'confirmed') return 'applied';
        if (verdict === 'rolled back') return 'previous';
        return planRouter(await readRouter(attempt), attempt.job.plan).changed ? 'previous' : 'applied';
      } catch (error) {
        if (!(error instanceof RouterConnectionError)) throw error;
        last = error;
        attempt.drop();
      }
    }
    // Back off while nothing answers, but not beyond a second: the window is short and tries are cheap.
    pause = answered ? pollMs : Math.min(pause * 2, Math.max(pollMs, 1000));
    await sleep(Math.max(0, Math.min(pause, deadline - Date.now())));
  }
  attempt.host = previousHost;
  attempt.configuration = armed ? 'unconfirmed' : 'unknown';
  const why = last instanceof Error ? ` (last error: ${last.message})` : '';
  throw new RouterConnectionError(`${unreachableMessage(attempt, hosts, previousHost, armed)}${why}`, {
    host: hosts[0] ?? previousHost,
    step: 'confirm',
  });
}

async function rebootAndReturn(attempt: Attempt, deadline: number): Promise<void> {
  const session = attempt.session ?? (await attempt.connect(attempt.host));
  await attempt.exec('reboot', REBOOT_SCRIPT);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    session.whenClosed(),
    new Promise((r) => {
      timer = setTimeout(r, Math.min(30_000, attempt.options.timeoutMs));
    }),
  ]);
  clearTimeout(timer);
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
  const { reportedSince, handshakeFreshSeconds, timeoutMs, connectTimeoutMs } = attempt.options;
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
      const out = await attempt.exec('online', STATUS_SCRIPT, undefined, connectTimeoutMs);
      if (isOnline(parseStatus(out.stdout), handshakeFreshSeconds)) return 'tunnel handshake';
      return (await reported()) ? 'scanner report received' : undefined;
    },
  );
}

/**
 * Applies `plan` and confirms it where the router answers; returns the plan that was applied. When the
 * connection dropped before the apply script answered and the router turns out not to have applied it,
 * applies once more (nothing is pending then, so this cannot stack applies).
 */
async function applyAndConfirm(
  attempt: Attempt,
  read: RouterSnapshot,
  planned: RouterPlan,
  track: Track,
): Promise<RouterPlan> {
  let snapshot = read;
  let plan = planned;
  for (let round = 1; ; round++) {
    const moved = movedLanAddress(snapshot, attempt.job.plan.tunnel.gateway);
    const previousHost = attempt.host;
    const target = moved ? attempt.job.reach(moved) : previousHost;
    const current = plan;
    const sent = await track(
      'apply',
      () => apply(attempt, current),
      (s) =>
        `${current.changes.length} change(s)${s === 'uncertain' ? '; the connection dropped before the router answered' : ''}`,
    );
    if (sent === 'done') return plan;
    attempt.configuration = sent === 'detached' ? 'unconfirmed' : 'unknown';
    const outcome = await track(
      'confirm',
      () => settleApply(attempt, unique([target, previousHost]), previousHost, sent === 'detached'),
      (o) =>
        o === 'applied'
          ? `reachable at ${attempt.host}`
          : `on its previous configuration, at ${attempt.host}`,
    );
    attempt.configuration = outcome;
    await attempt.locate();
    if (outcome === 'applied') return plan;
    if (sent === 'uncertain' && round === 1) {
      snapshot = await readRouter(attempt);
      plan = planRouter(snapshot, attempt.job.plan);
      if (!plan.changed) return plan;
      continue;
    }
    throw new FinalRouterError(
      sent === 'detached'
        ? `the router rolled back the configuration before it was confirmed; it runs its previous configuration at ${attempt.host}: run again`
        : `the connection dropped while the configuration was being sent, twice, and the router did not apply it; it runs its previous configuration at ${attempt.host}: check the link and run again`,
      { host: attempt.host, step: 'confirm' },
    );
  }
}

/**
 * Configures one router: read (one round trip), plan, and only if something differs: apply with the
 * router's own rollback, reconnect where it answers, confirm, reboot, wait until the tunnel is up. An
 * apply an interrupted run left pending is confirmed when the router's configuration equals the plan,
 * and refused otherwise (it rolls back by itself). Never throws for a router's failure: that is a
 * result naming the step and what the router runs.
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
  const configured = job.reach(job.plan.tunnel.gateway);
  try {
    await track(
      'connect',
      () => attempt.connectFirst(unique([job.address.host, configured])),
      () => where(attempt.address()),
    );
    let snapshot = await track(
      'read',
      () => readRouter(attempt),
      (s) => `${s.model}, ${s.firmware}`,
    );
    let plan = planRouter(snapshot, job.plan);
    let resumed = false;
    const pending = parseApplyState(snapshot.applyState);
    if (isPending(pending)) {
      attempt.configuration = 'unconfirmed';
      if (options.dryRun || plan.changed) {
        throw new FinalRouterError(
          options.dryRun
            ? `an apply is waiting for its confirmation on the router (${pending}); run without --dry-run to confirm it, or run again once its rollback window has passed`
            : 'an earlier apply of another configuration is waiting for its confirmation; the router restores its previous configuration by itself when its rollback window ends: run again then',
          { host: attempt.host, step: 'read' },
        );
      }
      const here = attempt.host;
      const outcome = await track(
        'confirm',
        () => settleApply(attempt, unique([configured, here]), here, true),
        (o) => (o === 'applied' ? `confirmed the pending apply at ${attempt.host}` : 'it rolled back'),
      );
      attempt.configuration = outcome;
      await attempt.locate();
      resumed = outcome === 'applied';
      // Rolled back meanwhile: plan again from what the router runs now.
      if (!resumed) {
        snapshot = await readRouter(attempt);
        plan = planRouter(snapshot, job.plan);
      }
    } else if (!options.dryRun) await attempt.locate();
    attempt.configuration = plan.changed ? 'previous' : 'applied';
    const missing = missingPackages(snapshot.packages);
    const online = isOnline(snapshot, options.handshakeFreshSeconds);
    const nothingToDo = !plan.changed && missing.length === 0 && !resumed;
    if (options.dryRun || (nothingToDo && !options.reboot)) attempt.drop();
    if (nothingToDo && (options.dryRun || !options.reboot)) {
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
    if (plan.changed) {
      plan = await applyAndConfirm(attempt, snapshot, plan, track);
      attempt.configuration = 'applied';
    }
    // The router's return and the site's tunnel have --timeout from here (the confirm had its own window).
    const deadline = Date.now() + options.timeoutMs;
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
      ...(resumed ? { resumed } : {}),
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
