import type { AccessServerRecord, SiteRecord } from '../config/schema';
import { ConfigError } from '../errors';
import {
  accessServerTunnelIp,
  SITE_ALLOWED_IPS,
  type SiteNumber,
  siteCidr,
  siteGateway,
  siteTunnelAddress,
  WIREGUARD_PORT,
} from './address-plan';

/** Everything a site router's tunnel needs, from recorded state; the private key stays a reference to SSM. */
export interface SiteTunnelPlan {
  site: SiteNumber;
  lanCidr: string;
  gateway: string;
  /** Address on the router's WireGuard interface. */
  interfaceAddress: string;
  /** `*.internal` is resolved by this server, the access server's DNS forwarder, through the tunnel. */
  dnsServer: string;
  peer: {
    accessServer: number;
    publicKey: string;
    endpointHost: string;
    endpointPort: number;
    allowedIps: readonly string[];
    persistentKeepalive: number;
  };
}

/** Pure: the tunnel plan of `site` given the recorded sites and access servers. */
export function planSiteTunnel(
  sites: readonly SiteRecord[],
  servers: readonly AccessServerRecord[],
  site: SiteNumber,
): SiteTunnelPlan {
  const record = sites.find((s) => s.number === site);
  if (!record)
    throw new ConfigError(`site ${site} is not in wavectl.json; add it with \`wavectl sites --add\``);
  const server = servers.find((a) => a.index === record.accessServer);
  if (!server) {
    throw new ConfigError(
      `site ${site} is assigned to access server ${record.accessServer}, which is not in wavectl.json; run \`wavectl access-servers --list\``,
    );
  }
  if (!server.publicIp) {
    throw new ConfigError(
      `access server ${server.index} has no public IP recorded yet; run \`wavectl access-servers --add\` to finish creating it`,
    );
  }
  return {
    site,
    lanCidr: siteCidr(site),
    gateway: siteGateway(site),
    interfaceAddress: siteTunnelAddress(site),
    dnsServer: accessServerTunnelIp(server.index),
    peer: {
      accessServer: server.index,
      publicKey: server.publicKey,
      endpointHost: server.publicIp,
      endpointPort: server.listenPort ?? WIREGUARD_PORT,
      allowedIps: SITE_ALLOWED_IPS,
      // Routers sit behind NAT; keepalives hold the mapping open so the VPC can reach devices at any time.
      persistentKeepalive: 25,
    },
  };
}
