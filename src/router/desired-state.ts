import { siteDhcpRange } from '../network/address-plan';
import type { SiteTunnelPlan } from '../network/site-tunnel';
import { plainText, type UciValue } from './uci';

/**
 * The UCI state a site's router must have (DESIGN §5), as data. Three kinds of section specification:
 * - `owned`: a named section wavectl creates and owns; it must match exactly (extra options are removed);
 * - `merge`: a section the firmware owns (lan, dhcp.lan); only the listed options are set, `null` = absent;
 * - `members`: entries wavectl owns inside a list of a firmware section (dnsmasq `server`), others untouched.
 */
export type SectionSpec =
  | { kind: 'owned'; config: string; name: string; type: string; options: Record<string, UciValue> }
  | {
      kind: 'merge';
      config: string;
      ref: { name: string; type: string } | { type: string; index: number };
      options: Record<string, UciValue | null>;
    }
  | {
      kind: 'members';
      config: string;
      ref: { type: string; index: number };
      option: string;
      want: string[];
      /** Entries of this list that wavectl manages: those not wanted are removed. */
      owns: { prefix: string } | { exact: string };
    };

/** Names wavectl uses on the router: the netifd interface, its peer section and the firewall zone. */
export const WG_INTERFACE = 'waveshift';
export const WG_PEER_SECTION = 'waveshift_server';
export const FIREWALL_ZONE = 'waveshift';
/** Option names whose values are secrets: never printed, never in a result. */
export const SECRET_OPTIONS = new Set(['private_key']);

export interface SiteRouterInputs {
  tunnel: SiteTunnelPlan;
  siteName: string;
  /** The site's WireGuard private key, from SSM. */
  privateKey: string;
}

export const CONFIG_PACKAGES = ['network', 'dhcp', 'firewall'] as const;

/** Pure: the desired UCI sections of site N's router. */
export function desiredRouterState(inputs: SiteRouterInputs): SectionSpec[] {
  const { tunnel } = inputs;
  const dhcp = siteDhcpRange(tunnel.site);
  return [
    {
      kind: 'merge',
      config: 'network',
      ref: { name: 'lan', type: 'interface' },
      options: { proto: 'static', ipaddr: tunnel.gateway, netmask: '255.255.255.0' },
    },
    {
      kind: 'owned',
      config: 'network',
      name: WG_INTERFACE,
      type: 'interface',
      options: {
        proto: 'wireguard',
        private_key: inputs.privateKey,
        addresses: [tunnel.interfaceAddress],
      },
    },
    {
      kind: 'owned',
      config: 'network',
      name: WG_PEER_SECTION,
      type: `wireguard_${WG_INTERFACE}`,
      options: {
        description: plainText(
          `Waveshift access server ${tunnel.peer.accessServer} for site ${tunnel.site} ${inputs.siteName}`,
        ),
        public_key: tunnel.peer.publicKey,
        endpoint_host: tunnel.peer.endpointHost,
        endpoint_port: String(tunnel.peer.endpointPort),
        persistent_keepalive: String(tunnel.peer.persistentKeepalive),
        route_allowed_ips: '1',
        allowed_ips: [...tunnel.peer.allowedIps],
      },
    },
    {
      kind: 'merge',
      config: 'dhcp',
      ref: { name: 'lan', type: 'dhcp' },
      options: {
        interface: 'lan',
        start: String(dhcp.start),
        limit: String(dhcp.limit),
        leasetime: '12h',
        ignore: null,
      },
    },
    {
      kind: 'members',
      config: 'dhcp',
      ref: { type: 'dnsmasq', index: 0 },
      option: 'server',
      want: [`/internal/${tunnel.dnsServer}`],
      owns: { prefix: '/internal/' },
    },
    {
      // dnsmasq's rebind protection drops private answers for other domains; *.internal answers are private.
      kind: 'members',
      config: 'dhcp',
      ref: { type: 'dnsmasq', index: 0 },
      option: 'rebind_domain',
      want: ['internal'],
      owns: { exact: 'internal' },
    },
    {
      kind: 'owned',
      config: 'firewall',
      name: FIREWALL_ZONE,
      type: 'zone',
      options: {
        name: FIREWALL_ZONE,
        network: [WG_INTERFACE],
        input: 'ACCEPT',
        output: 'ACCEPT',
        forward: 'REJECT',
        mtu_fix: '1',
      },
    },
    {
      kind: 'owned',
      config: 'firewall',
      name: 'waveshift_to_lan',
      type: 'forwarding',
      options: { src: FIREWALL_ZONE, dest: 'lan' },
    },
    {
      kind: 'owned',
      config: 'firewall',
      name: 'lan_to_waveshift',
      type: 'forwarding',
      options: { src: 'lan', dest: FIREWALL_ZONE },
    },
  ];
}
