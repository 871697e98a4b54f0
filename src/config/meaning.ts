import type { ConfigProblem } from '../errors';
import type { WavectlConfig } from './schema';

/** Pure: a problem for each item whose key an earlier item of the list already has. */
function repeats<T>(
  items: readonly T[],
  key: (item: T) => number,
  list: string,
  field: string,
  what: string,
): ConfigProblem[] {
  const first = new Map<number, number>();
  return items.flatMap((item, i) => {
    const k = key(item);
    const earlier = first.get(k);
    if (earlier === undefined) {
      first.set(k, i);
      return [];
    }
    return [
      {
        path: `${list}[${i}].${field}`,
        message: `${what} ${k} is already ${list}[${earlier}]; each appears once`,
      },
    ];
  });
}

/**
 * Pure: what a schema-valid wavectl.json can still get wrong between its records: two sites with one
 * number, two access servers with one index, a site on an access server that is not recorded. (A site number
 * outside 0-255 is the schema's to refuse.)
 */
export function meaningProblems(config: Pick<WavectlConfig, 'sites' | 'accessServers'>): ConfigProblem[] {
  const servers = new Set(config.accessServers.map((a) => a.index));
  return [
    ...repeats(config.sites, (s) => s.number, 'sites', 'number', 'site'),
    ...repeats(config.accessServers, (a) => a.index, 'accessServers', 'index', 'access server'),
    ...config.sites.flatMap((site, i) =>
      servers.has(site.accessServer)
        ? []
        : [
            {
              path: `sites[${i}].accessServer`,
              message: `access server ${site.accessServer} is not recorded in accessServers; see \`wavectl access-servers --list\``,
            },
          ],
    ),
  ];
}
