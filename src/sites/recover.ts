import { parameterNames } from '../aws/naming';
import type { SiteRecord } from '../config/schema';

export interface SiteKeys {
  privateKey: string;
  publicKey: string;
  scannerKey: string;
}

export interface SiteKeyRecovery {
  sites: SiteRecord[];
  /** Sites whose secrets were gone from SSM: new keys, so their routers need `configure-hub` again. */
  renewed: number[];
  secrets: { name: string; value: string }[];
}

/**
 * Pure: recorded sites whose WireGuard or scanner key is missing from SSM (the region was lost, or the file
 * comes from a backup of another account) get new keys and are marked unregistered, so that `sites --add`
 * finishes them (peers, routes, registration) before it adds any new site: they count toward N and nothing
 * is doubled. Sites whose secrets survive keep them.
 */
export function planSiteKeyRecovery(
  deployment: string,
  sites: readonly SiteRecord[],
  present: ReadonlySet<string>,
  fresh: (site: number) => SiteKeys,
): SiteKeyRecovery {
  const names = parameterNames(deployment);
  const renewed: number[] = [];
  const secrets: SiteKeyRecovery['secrets'] = [];
  const next = sites.map((site) => {
    if (present.has(names.sitePrivateKey(site.number)) && present.has(names.siteScannerKey(site.number))) {
      return site;
    }
    const keys = fresh(site.number);
    renewed.push(site.number);
    secrets.push(
      { name: names.sitePrivateKey(site.number), value: keys.privateKey },
      { name: names.siteScannerKey(site.number), value: keys.scannerKey },
    );
    return { ...site, publicKey: keys.publicKey, registered: false };
  });
  return { sites: next, renewed, secrets };
}

/** Every SSM name a recorded site's keys live under. */
export const siteSecretNames = (deployment: string, sites: readonly SiteRecord[]): string[] => {
  const names = parameterNames(deployment);
  return sites.flatMap((s) => [names.sitePrivateKey(s.number), names.siteScannerKey(s.number)]);
};
