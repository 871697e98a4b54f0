import type { ConfigProblem } from '../errors';
import type { WavectlConfig } from './schema';

/**
 * Pure: what a schema-valid wavectl.json can still get wrong between its records: two sites with one
 * number, two access servers with one index, a site on an access server that is not recorded. (A site number
 * outside 0-255 is the schema's to refuse.)
 */
export function meaningProblems(config: Pick<WavectlConfig, 'sites' | 'accessServers'>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const firstSite = new Map<number, number>();
  config.sites.forEach((site, i) => {
    const first = firstSite.get(site.number);
    if (first === undefined) firstSite.set(site.number, i);
    else
      problems.push({
        path: `sites[${i}].number`,
        message: `site ${site.number} is already sites[${first}]; each site number appears once`,
      });
  });
  const firstServer = new Map<number, number>();
  config.accessServers.forEach((server, i) => {
    const first = firstServer.get(server.index);
    if (first === undefined) firstServer.set(server.index, i);
    else
      problems.push({
        path: `accessServers[${i}].index`,
        message: `access server ${server.index} is already accessServers[${first}]; each index appears once`,
      });
  });
  config.sites.forEach((site, i) => {
    if (!firstServer.has(site.accessServer))
      problems.push({
        path: `sites[${i}].accessServer`,
        message: `access server ${site.accessServer} is not recorded in accessServers; see \`wavectl access-servers --list\``,
      });
  });
  return problems;
}
