import { RouterError } from '../errors';
import type { RouterJob } from './configure-router';
import { type DriftItem, routerDrift, type TunnelState, tunnelState } from './drift';
import { parseSnapshot, READ_SCRIPT } from './remote-scripts';
import { planRouter } from './router-plan';
import { connectRouter, type RouterAddress, type RouterAuth } from './ssh';

export interface CheckRunOptions {
  auth: RouterAuth;
  acceptNewHostKey: (address: RouterAddress, fingerprint: string) => Promise<boolean>;
  connectTimeoutMs: number;
  /** A handshake newer than this counts as a tunnel up. */
  handshakeFreshSeconds: number;
  progress: (site: number, step: string, state: 'started' | 'done' | 'failed', detail?: string) => void;
}

interface Where {
  site: number;
  host: string;
  port: number;
  user: string;
}

export type RouterCheck =
  | (Where & {
      status: 'in-sync' | 'drifted';
      model: string;
      firmware: string;
      roundTrips: number;
      drift: DriftItem[];
      tunnel: TunnelState;
    })
  /** The router could not be read: nothing is known about its drift. */
  | (Where & { status: 'unverified'; step: string; reason: string; roundTrips: number });

/**
 * Reads one router in ONE SSH round trip and compares it with what configure-hub would write. Changes
 * nothing on the router, and records nothing (not even a new host key). Never throws for the router's
 * failure: that is an `unverified` result naming the step.
 */
export async function checkRouter(job: RouterJob, options: CheckRunOptions): Promise<RouterCheck> {
  const where: Where = { site: job.site, ...job.address };
  let step = 'connect';
  let roundTrips = 0;
  options.progress(job.site, 'check', 'started');
  try {
    const session = await connectRouter(
      job.address,
      options.auth,
      { pinned: job.pinnedHostKey, acceptNew: (fp) => options.acceptNewHostKey(job.address, fp) },
      options.connectTimeoutMs,
    );
    step = 'read';
    let out: Awaited<ReturnType<typeof session.exec>>;
    try {
      roundTrips += 1;
      out = await session.exec(READ_SCRIPT, 'read');
    } finally {
      session.close();
    }
    if (out.code !== 0)
      throw new RouterError(`reading the configuration failed: ${out.stderr.trim().slice(0, 300)}`, {
        host: job.address.host,
        step,
      });
    const snapshot = parseSnapshot(out.stdout);
    step = 'compare';
    const drift = routerDrift(snapshot, planRouter(snapshot, job.plan), job.plan);
    const tunnel = tunnelState(snapshot, options.handshakeFreshSeconds);
    options.progress(
      job.site,
      'check',
      'done',
      `${drift.length === 0 ? 'in sync' : `${drift.length} difference(s)`}, tunnel ${tunnel.state}`,
    );
    return {
      ...where,
      status: drift.length === 0 ? 'in-sync' : 'drifted',
      model: snapshot.model,
      firmware: snapshot.firmware,
      roundTrips,
      drift,
      tunnel,
    };
  } catch (error) {
    // A programming error is a bug to report, not a router's state.
    if (error instanceof TypeError || error instanceof ReferenceError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    options.progress(job.site, 'check', 'failed', reason);
    return {
      ...where,
      status: 'unverified',
      step: error instanceof RouterError ? error.step : step,
      reason,
      roundTrips,
    };
  }
}
