import {
  accessServerTunnelIp,
  SITES_CIDR,
  siteCidr,
  TUNNEL_CIDR,
  VPC_CIDR,
  VPC_RESOLVER,
} from '../network/address-plan';
import type { SiteTunnelPlan } from '../network/site-tunnel';

/**
 * Text WireGuard and the access server run, rendered from recorded public facts. Private keys never pass
 * through here except the site's own key in `renderSiteWgQuick`, and only when the operator asked for it.
 */

export const ACCESS_SERVER_INTERFACE = 'wg0';
/** Where the access server keeps its private key (fetched from SSM by the instance's own role). */
export const ACCESS_SERVER_KEY_FILE = '/etc/wireguard/private.key';
/** The peers file wavectl rewrites on every site change; public keys and ranges only. */
export const ACCESS_SERVER_PEERS_FILE = '/etc/waveshift/wg0-peers.conf';

export interface AccessServerPeer {
  site: number;
  publicKey: string;
}

/** `[Peer]` sections of an access server: one per assigned site, which may send from its /24 only. */
export function renderAccessServerPeers(peers: readonly AccessServerPeer[]): string {
  return [...peers]
    .sort((a, b) => a.site - b.site)
    .map((p) => `[Peer]\n# site ${p.site}\nPublicKey = ${p.publicKey}\nAllowedIPs = ${siteCidr(p.site)}\n`)
    .join('\n');
}

/**
 * The access server's packet rules (nftables). Forwarding is allowed only between the tunnel and the VPC:
 * never tunnel to tunnel, so one site cannot reach another even if it routes their range into its tunnel.
 * DNS sent by sites to the server's tunnel address is forwarded to the VPC resolver with the server's own
 * VPC address as source, because the resolver answers only sources inside the VPC (DESIGN §3).
 */
export function renderAccessServerNftables(index: number): string {
  const dns = accessServerTunnelIp(index);
  const wg = ACCESS_SERVER_INTERFACE;
  return `table inet waveshift
delete table inet waveshift
table inet waveshift {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${wg}" ip daddr ${dns} udp dport 53 dnat ip to ${VPC_RESOLVER}
    iifname "${wg}" ip daddr ${dns} tcp dport 53 dnat ip to ${VPC_RESOLVER}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    iifname "${wg}" ip daddr ${VPC_RESOLVER} udp dport 53 masquerade
    iifname "${wg}" ip daddr ${VPC_RESOLVER} tcp dport 53 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    iifname "${wg}" oifname "${wg}" drop
    ct state established,related accept
    iifname "${wg}" ip saddr ${SITES_CIDR} ip daddr ${VPC_CIDR} accept
    oifname "${wg}" ip saddr ${VPC_CIDR} ip daddr ${SITES_CIDR} accept
  }
}
`;
}

export interface AccessServerNetwork {
  index: number;
  listenPort: number;
  /** Where the key and peers files live; the defaults on an instance, a temporary directory in tests. */
  files?: { keyFile: string; peersFile: string };
}

const filesOf = (network: AccessServerNetwork) =>
  network.files ?? { keyFile: ACCESS_SERVER_KEY_FILE, peersFile: ACCESS_SERVER_PEERS_FILE };

/**
 * Brings up (or refreshes) the access server's tunnel from the key file; safe to run again at every boot.
 * Kernel WireGuard when present, else wireguard-go, as wg-quick does. The peers are added by the sync
 * script, so a re-run never drops established sessions.
 */
export function renderAccessServerUpScript(network: AccessServerNetwork): string {
  const wg = ACCESS_SERVER_INTERFACE;
  const { keyFile, peersFile } = filesOf(network);
  return `set -eu
umask 077
mkdir -p "$(dirname ${peersFile})"
[ -f ${peersFile} ] || : > ${peersFile}
sysctl -q -w net.ipv4.ip_forward=1
if ! ip link show ${wg} >/dev/null 2>&1; then
  ip link add ${wg} type wireguard 2>/dev/null || wireguard-go ${wg}
fi
wg set ${wg} listen-port ${network.listenPort} private-key ${keyFile}
ip address replace ${accessServerTunnelIp(network.index)}/32 dev ${wg}
ip link set ${wg} up
ip route replace ${SITES_CIDR} dev ${wg}
ip route replace ${TUNNEL_CIDR} dev ${wg}
nft -f - <<'NFT'
${renderAccessServerNftables(network.index)}NFT
`;
}

/**
 * Loads the peers file into the running interface with `wg syncconf` (changes only what differs). Without
 * the interface the file is kept for the boot script to load, and the script fails: a tunnel that is not
 * up is not a success to report.
 */
export function renderLoadPeers(network: AccessServerNetwork): string {
  const wg = ACCESS_SERVER_INTERFACE;
  const { keyFile, peersFile } = filesOf(network);
  return `if ! ip link show ${wg} >/dev/null 2>&1; then echo "${wg} is absent: the access server's boot has not brought it up (peers kept for its start; see /var/log/cloud-init-output.log)" >&2; exit 1; fi
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
{ printf '[Interface]\\nPrivateKey = %s\\nListenPort = %s\\n\\n' "$(cat ${keyFile})" ${network.listenPort}; cat ${peersFile}; } > "$conf"
wg syncconf ${wg} "$conf"
echo "peers: $(wg show ${wg} peers | wc -l)"
`;
}

/**
 * Replaces the access server's peer list with `peers` through `wg syncconf`, which adds and removes only
 * what differs: other sites' sessions survive. Carries public keys only (it travels as an SSM parameter).
 */
export function renderAccessServerSyncScript(
  network: AccessServerNetwork,
  peers: readonly AccessServerPeer[],
): string {
  const { peersFile } = filesOf(network);
  return `set -eu
umask 077
mkdir -p "$(dirname ${peersFile})"
cat > ${peersFile}.new <<'PEERS'
${renderAccessServerPeers(peers)}PEERS
mv ${peersFile}.new ${peersFile}
${renderLoadPeers(network)}`;
}

/** Prints the access server's handshakes (and a marker), for `access-servers --list`. */
export const ACCESS_SERVER_HANDSHAKES_SCRIPT = `wg show ${ACCESS_SERVER_INTERFACE} latest-handshakes && echo WAVESHIFT-WG-OK`;

/** WireGuard's own default: a 1500-byte WAN less 80 bytes of IPv6 + UDP + WireGuard headers. */
export const DEFAULT_SITE_MTU = 1420;

/** The site router's tunnel in wg-quick format, for a router configured by hand. */
export function renderSiteWgQuick(
  plan: SiteTunnelPlan,
  privateKey: string | undefined,
  mtu = DEFAULT_SITE_MTU,
): string {
  const key =
    privateKey ??
    `<omitted: run \`wavectl sites --export-config ${plan.site} --include-private-key\` to include it>`;
  return `# Waveshift site ${plan.site}: LAN ${plan.lanCidr}, gateway ${plan.gateway}
# Resolve *.internal through ${plan.dnsServer}: dnsmasq needs server=/internal/${plan.dnsServer} AND
# rebind_domain=internal (uci: list server '/internal/${plan.dnsServer}', list rebind_domain 'internal');
# without the second, OpenWrt's rebind protection drops the private answers.
# MTU ${mtu}: the WAN's MTU less 80 (1420 for a 1500-byte WAN; lower it for PPPoE, LTE or another tunnel).
[Interface]
PrivateKey = ${key}
Address = ${plan.interfaceAddress}
MTU = ${mtu}

[Peer]
# access server ${plan.peer.accessServer}
PublicKey = ${plan.peer.publicKey}
Endpoint = ${plan.peer.endpointHost}:${plan.peer.endpointPort}
AllowedIPs = ${plan.peer.allowedIps.join(', ')}
PersistentKeepalive = ${plan.peer.persistentKeepalive}
`;
}
