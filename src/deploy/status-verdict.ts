import type { StatusResult } from './status';

export interface StatusVerdict {
  /** True only when nothing is unhealthy, every instance passes its checks, and nothing drifted. */
  ok: boolean;
  /** Why not, one phrase each; empty when ok. */
  problems: string[];
  /**
   * Services whose health could not be checked (only under an emulator, which runs no command): named so a
   * gate can see them, but not failures, since nothing was found wrong.
   */
  unverified: string[];
}

/** Pure: the one verdict `status` exits on (0 ok, 1 otherwise), so that CI can gate on it. */
export function statusVerdict(s: Omit<StatusResult, 'ok' | 'verdict'>): StatusVerdict {
  const problems: string[] = [];
  const unverified: string[] = [];
  for (const [name, service] of [
    ['controller', s.controller],
    ['kasm', s.kasm],
  ] as const) {
    if (service.health === 'unhealthy') problems.push(`${name} unhealthy (${service.detail})`);
    if (service.health === 'unverified') unverified.push(`${name}: ${service.reason}`);
  }
  for (const i of s.instances) if (i.checks !== 'ok') problems.push(`${i.component} instance ${i.checks}`);
  if (s.drift.length > 0) problems.push(`${s.drift.length} change(s) of drift`);
  return { ok: problems.length === 0, problems, unverified };
}
