import type { WavectlConfig } from './schema';

/**
 * The records a wavectl.json keeps of what exists (resource IDs, sites, access servers), apart from its
 * settings. Pure.
 */

/** What a wavectl.json document records, as words ("2 sites"); none → []. Takes raw, unvalidated JSON. */
export function describeRecords(document: unknown): string[] {
  const d = (document ?? {}) as { resources?: unknown; sites?: unknown; accessServers?: unknown };
  const count = (v: unknown) =>
    Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0;
  const words: string[] = [];
  const add = (n: number, one: string, many: string) => {
    if (n > 0) words.push(`${n} ${n === 1 ? one : many}`);
  };
  add(count(d.resources), 'resource ID', 'resource IDs');
  add(count(d.sites), 'site', 'sites');
  add(count(d.accessServers), 'access server', 'access servers');
  return words;
}

/** The settings of `config` with no record left: what wavectl.json says once the deployment is destroyed. */
export function withoutRecords(config: WavectlConfig): WavectlConfig {
  return { ...config, resources: {}, sites: [], accessServers: [] };
}
