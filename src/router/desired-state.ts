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
  | {
      kind: 'owned';
      config: string;
      name: string;
      type: string;
      options: Record<string, UciValue>;
      /**
       * Options that identify the section when it is not found by name (a zone someone made by hand with
       * `name 'waveshift'`): such a section is adopted (renamed), never duplicated.
       */
      identity?: string[];
    }
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
  /**
   * Let the tunnel reach the router itself (SSH, web UI) from the access server's side. Off by default:
   * the tunnel zone rejects input but ICMP, so a compromised access server cannot log in to every site.
   */
  manageOverTunnel?: boolean;
}

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
      identity: ['name'],
      options: {
        name: FIREWALL_ZONE,
        network: [WG_INTERFACE],
        input: inputs.manageOverTunnel ? 'ACCEPT' : 'REJECT',
        output: 'ACCEPT',
        forward: 'REJECT',
        mtu_fix: '1',
      },
    },
    {
      // Ping and path-MTU discovery keep working through a zone that rejects input.
      kind: 'owned',
      config: 'firewall',
      name: 'waveshift_icmp',
      type: 'rule',
      identity: ['name'],
      options: { name: 'Waveshift-ICMP', src: FIREWALL_ZONE, proto: 'icmp', target: 'ACCEPT' },
    },
    {
      kind: 'owned',
      config: 'firewall',
      name: 'waveshift_to_lan',
      type: 'forwarding',
      identity: ['src', 'dest'],
      options: { src: FIREWALL_ZONE, dest: 'lan' },
    },
    {
      kind: 'owned',
      config: 'firewall',
      name: 'lan_to_waveshift',
      type: 'forwarding',
      identity: ['src', 'dest'],
      options: { src: 'lan', dest: FIREWALL_ZONE },
    },
  ];
}
