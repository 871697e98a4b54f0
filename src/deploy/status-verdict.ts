import type { StatusResult } from './status';

export interface StatusVerdict {
  /** True only when every service is healthy, every instance passes its checks, and nothing drifted. */
  ok: boolean;
  /** Why not, one phrase each; empty when ok. */
  problems: string[];
}

/**
 * Pure: the one verdict `status` exits on (0 ok, 1 otherwise), so that CI can gate on it. Health that could
 * not be checked is not healthy.
 */
export function statusVerdict(s: StatusResult): StatusVerdict {
  const problems: string[] = [];
  for (const [name, service] of [
    ['controller', s.controller],
    ['kasm', s.kasm],
  ] as const) {
    if (service.health !== 'healthy') problems.push(`${name} ${service.health}`);
  }
  for (const i of s.instances) if (i.checks !== 'ok') problems.push(`${i.component} instance ${i.checks}`);
  const { missing, extra, duplicates } = s.drift;
  const drifted = missing.length + extra.length + duplicates.length;
  if (!s.inSync || drifted > 0) {
    problems.push(
      `drift (${[
        missing.length ? `${missing.length} missing` : '',
        extra.length ? `${extra.length} extra` : '',
        duplicates.length ? `${duplicates.length} duplicate` : '',
      ]
        .filter(Boolean)
        .join(', ')})`,
    );
  }
  return { ok: problems.length === 0, problems };
}
