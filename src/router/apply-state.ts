/**
 * What the router-side apply job (remote-scripts.ts) says about an apply, and what wavectl makes of it.
 * Pure: no connection.
 *
 * The job writes its state in one word: `started` (the batch is staged, the job is about to commit),
 * `restarted` (committed, network restarted, waiting for the confirmation), `confirmed`, `rolledback`;
 * CONFIRM_SCRIPT prints `confirmed` once it has confirmed, else `state:<word>`. No state at all means the
 * job's record is gone (it lives in RAM: a reboot cleared it) or no apply ever ran.
 */

export type ApplyState = 'started' | 'restarted' | 'confirmed' | 'rolledback' | 'none' | 'other';

export function parseApplyState(text: string | undefined): ApplyState {
  const word =
    (text ?? '')
      .trim()
      .replace(/^state:/, '')
      .split(/\s+/)[0] ?? '';
  if (word === '') return 'none';
  if (word === 'started' || word === 'restarted' || word === 'confirmed' || word === 'rolledback')
    return word;
  return 'other';
}

/** An apply is in flight: its changes roll back by themselves unless it is confirmed in time. */
export const isPending = (state: ApplyState) => state === 'started' || state === 'restarted';

/**
 * What the router runs when a run ends, relative to this run's plan:
 * - `applied`: the planned configuration, confirmed (or with nothing left that could roll it back);
 * - `previous`: the configuration it had before (nothing was applied, or it rolled back, as seen);
 * - `unconfirmed`: an apply waits for a confirmation wavectl could not deliver; the router restores its
 *   previous configuration by itself when the rollback window ends;
 * - `unknown`: the connection dropped while the configuration was being sent and the router was not
 *   seen again.
 */
export type RouterConfiguration = 'applied' | 'previous' | 'unconfirmed' | 'unknown';

/**
 * What one look at the router during the confirm window calls for. `certain` says the apply that is
 * being confirmed is known to have started (its script answered); when it is not (the connection dropped
 * while sending it), a final state may be an earlier run's, so only the configuration itself can tell.
 */
export type ProbeVerdict =
  | 'wait' // started: the job has not restarted the network yet; restarted: confirmation asked, not yet seen
  | 'confirmed'
  | 'rolled back'
  | 'compare'; // read the configuration: equal to the plan means applied, else previous

export function judgeProbe(state: ApplyState, certain: boolean): ProbeVerdict {
  if (isPending(state)) return 'wait';
  if (!certain) return 'compare';
  if (state === 'confirmed') return 'confirmed';
  if (state === 'rolledback') return 'rolled back';
  return 'compare';
}
