/**
 * A sandboxed GL.iNet router for tests: a real SSH server (ssh2's Server, in the test process) whose exec
 * requests run under `busybox sh` inside the router's own namespaces (mount, PID, network, UTS) made with
 * unshare. Inside, the sandbox's temporary `etc/` is bind-mounted over /etc and a fresh tmpfs over /tmp, so
 * /etc/config, /etc/init.d, /etc/crontabs are the sandbox's and the real /etc is never touched; the network
 * namespace has no interface but loopback; PATH holds only sandbox tools: a whitelist of busybox applets
 * (no reboot, halt, init, mount), an independent `uci` (sandbox-uci.ts), and recorders for `reboot`,
 * `opkg`, `wifi`, `ubus`, `wg`, `ifup` and /etc/init.d/*. A `reboot` call, even a real reboot(2), ends only
 * the sandbox's PID namespace; the router then boots as OpenWrt does: a fresh /tmp, the init scripts
 * enabled in /etc/rc.d (through /etc/rc.common) with `boot`, then the network from the committed config.
 *
 * The LAN address is simulated: the router listens on a loopback address that stands for its LAN address
 * (192.168.8.1 → 127.0.0.1, 10.8.N.1 → 127.8.N.1, same port), and when /etc/init.d/network restarts with a
 * new committed address, it listens at the new one and the connections made to the old one hang without a
 * word, as on a real router (the address is gone; nothing resets them); a reboot ends every connection.
 * Every connection passes through a switch on the router's link (`link`: up, reset, black hole).
 * Root only (namespaces).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import ssh2 from 'ssh2';
import { freePort, waitFor } from './ports';
import { RouterLink } from './router-link';

const BUSYBOX = '/usr/bin/busybox';

/** Applets a router script may use. Anything that could reach the host (reboot, mount, ip, init) is absent. */
const APPLETS = [
  'sh',
  'ash',
  'cat',
  'cp',
  'mv',
  'rm',
  'mkdir',
  'rmdir',
  'chmod',
  'chown',
  'ls',
  'ln',
  'echo',
  'printf',
  'test',
  '[',
  '[[',
  'grep',
  'egrep',
  'sed',
  'awk',
  'cut',
  'head',
  'tail',
  'tr',
  'wc',
  'sort',
  'uniq',
  'sleep',
  'date',
  'mktemp',
  'sha256sum',
  'md5sum',
  'touch',
  'true',
  'false',
  'expr',
  'kill',
  'basename',
  'dirname',
  'env',
  'id',
  'find',
  'xargs',
  'tee',
  'stat',
  'readlink',
  'cmp',
  'diff',
  'which',
  'seq',
  'od',
  'uname',
  'setsid',
  'pidof',
  'ps',
];

export const GLINET_BOARD = {
  kernel: '5.4.211',
  hostname: 'GL-MT3000',
  system: 'ARMv8 Processor rev 4',
  model: 'GL.iNet GL-MT3000',
  board_name: 'glinet,mt3000-snand',
  rootfs_type: 'squashfs',
  release: {
    distribution: 'OpenWrt',
    version: '21.02-SNAPSHOT',
    revision: 'r15812+1075-46b6ee7ffc',
    target: 'mediatek/mt7981',
    description: 'OpenWrt 21.02-SNAPSHOT r15812+1075-46b6ee7ffc',
  },
};

/** GL.iNet factory configuration (trimmed to what matters, in the firmware's own layout). */
export const FACTORY_CONFIG: Record<string, string> = {
  network: `
config interface 'loopback'
\toption device 'lo'
\toption proto 'static'
\toption ipaddr '127.0.0.1'
\toption netmask '255.0.0.0'

config globals 'globals'
\toption ula_prefix 'fd5e:1c2a:3b4c::/48'

config device
\toption name 'br-lan'
\toption type 'bridge'
\tlist ports 'lan1'
\tlist ports 'lan2'

config interface 'lan'
\toption device 'br-lan'
\toption proto 'static'
\toption ipaddr '192.168.8.1'
\toption netmask '255.255.255.0'
\toption ip6assign '60'

config interface 'wan'
\toption device 'eth0'
\toption proto 'dhcp'
`,
  dhcp: `
config dnsmasq
\toption domainneeded '1'
\toption localise_queries '1'
\toption rebind_protection '1'
\toption rebind_localhost '1'
\toption local '/lan/'
\toption domain 'lan'
\toption authoritative '1'
\toption leasefile '/tmp/dhcp.leases'
\tlist server '/corp.example/192.168.8.53'

config dhcp 'lan'
\toption interface 'lan'
\toption start '100'
\toption limit '150'
\toption leasetime '12h'
\toption dhcpv6 'server'

config dhcp 'wan'
\toption interface 'wan'
\toption ignore '1'
`,
  firewall: `
config defaults
\toption syn_flood '1'
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'REJECT'

config zone
\toption name 'lan'
\tlist network 'lan'
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'ACCEPT'

config zone
\toption name 'wan'
\tlist network 'wan'
\toption input 'REJECT'
\toption output 'ACCEPT'
\toption forward 'REJECT'
\toption masq '1'
\toption mtu_fix '1'

config forwarding
\toption src 'lan'
\toption dest 'wan'

config rule
\toption name 'Allow-Ping'
\toption src 'wan'
\toption proto 'icmp'
\toption icmp_type 'echo-request'
\toption family 'ipv4'
\toption target 'ACCEPT'
`,
  system: `
config system
\toption hostname 'GL-MT3000'
\toption timezone 'UTC'
`,
};

/** The loopback address standing for a router LAN address: 192.168.8.1 → 127.0.0.1, 10.8.N.1 → 127.8.N.1. */
export function loopbackFor(lan: string): string {
  const m = /^10\.8\.(\d+)\.1$/.exec(lan);
  if (m) return `127.8.${m[1]}.1`;
  return '127.0.0.1';
}

export interface RouterSandboxOptions {
  password?: string;
  /** OpenSSH public key line accepted for publickey authentication. */
  authorizedKey?: string;
  /** Packages `opkg list-installed` reports (GL.iNet ships WireGuard and curl, not nmap). */
  packages?: string[];
  /** Packages `opkg install` does not find in its feeds (it fails, as opkg does). */
  unavailable?: string[];
  /** Packages whose `opkg install` the out-of-memory killer stops (SIGKILL), as on a small router. */
  oomKilled?: string[];
  /**
   * The tunnel once configured: `up`/`down` — the `wg` recorder reports a fresh handshake or none;
   * `wireguard` — a real one: /etc/init.d/network does what netifd's wireguard proto does (wireguard-go
   * and `wg set` from the committed uci), and `onBoot` links the router's WAN to an access server.
   */
  tunnel?: 'up' | 'down' | 'wireguard';
  /** Called with a PID inside the router's namespaces each time it boots (first start and reboots). */
  onBoot?: (pid: number) => Promise<void>;
  /** How long a reboot keeps the router away. */
  rebootDownMs?: number;
  /** How often the sandbox looks for a moved LAN address or a reboot (a fleet of hundreds: less often). */
  watchMs?: number;
  /** Replaces files of the factory configuration. */
  config?: Record<string, string>;
}

export interface RouterSandbox {
  /** Where the router listens now (changes when its LAN address moves). */
  readonly host: string;
  readonly port: number;
  readonly root: string;
  /** The host key's SHA256 fingerprint as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** Every exec request received, in order (one per SSH round trip). */
  readonly execs: string[];
  /** How long each exec of `execs` ran on the router, in ms (filled when it ends): the router's work. */
  readonly execMs: number[];
  /** Calls recorded by reboot, opkg, wifi and /etc/init.d/* ("network restart", "reboot", …). */
  calls(): Promise<string[]>;
  /** How many times `uci` has run on the router (each a node process). */
  uciCalls(): Promise<number>;
  /** Runs a command inside the router (busybox sh), as a test's own look at it. */
  sh(command: string): Promise<string>;
  /** The switch on the router's link (up, reset, black hole). */
  readonly link: RouterLink;
  /** Replaces the SSH host key (a router reset or swapped): for the wrong-host-key test. */
  regenerateHostKey(): Promise<void>;
  stop(): Promise<void>;
}

let uciBundle: Promise<string> | undefined;

/** Bundles sandbox-uci.ts once per test process, in memory: each sandbox writes it into its own root. */
function bundleUci(): Promise<string> {
  uciBundle ??= build({
    entryPoints: [new URL('./sandbox-uci.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  }).then((result) => result.outputFiles[0]!.text);
  return uciBundle;
}

const script = (body: string) => `#!${BUSYBOX} sh\n${body}\n`;

/**
 * OpenWrt's /etc/rc.common, reduced to what an init script relies on: a script starting with
 * `#!/bin/sh /etc/rc.common` defines start/boot/…, and `enable` links it into /etc/rc.d as S<START><name>.
 */
const RC_COMMON = [
  'initscript=$1; action=$2; [ -n "$action" ] || action=help; shift 2',
  'name=$(basename "$initscript" | sed "s/^[SK][0-9][0-9]//")',
  'start() { :; }',
  'stop() { :; }',
  'boot() { start "$@"; }',
  'enable() { [ -n "$START" ] && ln -sf "../init.d/$name" "/etc/rc.d/S$START$name"; }',
  'disable() { rm -f /etc/rc.d/S??"$name"; }',
  'enabled() { [ -e "/etc/rc.d/S$START$name" ]; }',
  '. "$initscript"',
  '"$action" "$@"',
  '',
].join('\n');

/** What the router runs at boot: its enabled init scripts in order (boot), then netifd brings up the network. */
const BOOT = 'for s in /etc/rc.d/S*; do [ -x "$s" ] && "$s" boot; done; /etc/init.d/network start';

/**
 * What netifd would set up for the tunnel, from one uci call (each starts node, the bulk of a sandboxed
 * router's work): /etc/.sandbox/tunnel-configured holds the peer's public key while `waveshift` is a
 * wireguard interface, and `$s` keeps the network package for the caller.
 */
const TUNNEL_STATE = String.raw`s=$(uci -q show network); if echo "$s" | grep -qx "network.waveshift.proto='wireguard'"; then echo "$s" | sed -n "s/^network\.waveshift_server\.public_key='\(.*\)'$/\1/p" > /etc/.sandbox/tunnel-configured; else rm -f /etc/.sandbox/tunnel-configured; fi`;

/** Inside the router, /tmp is its own tmpfs: tools live under its /etc, which the sandbox owns. */
const TOOLS = '/etc/.sandbox/bin';

/**
 * netifd's wireguard proto, for the sandbox's `tunnel: 'wireguard'` mode: an interface from the committed
 * uci sections, as /lib/netifd/proto/wireguard.sh sets it up (addresses, peer, routes of allowed IPs).
 */
const NETIFD_WIREGUARD = [
  'IP=/usr/sbin/ip',
  '$IP link del waveshift 2>/dev/null',
  '[ "$(uci -q get network.waveshift.proto)" = wireguard ] || exit 0',
  'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 /usr/bin/wireguard-go waveshift </dev/null >/dev/null 2>&1',
  'umask 077; uci get network.waveshift.private_key > /tmp/.wg-key',
  'p=network.waveshift_server',
  '/usr/bin/wg set waveshift private-key /tmp/.wg-key peer "$(uci get $p.public_key)" endpoint "$(uci get $p.endpoint_host):$(uci get $p.endpoint_port)" allowed-ips "$(uci get $p.allowed_ips | tr " " ",")" persistent-keepalive "$(uci get $p.persistent_keepalive)"',
  'rm -f /tmp/.wg-key',
  'for a in $(uci get network.waveshift.addresses); do $IP addr add "$a" dev waveshift; done',
  '$IP link set waveshift up',
  'for a in $(uci get $p.allowed_ips); do $IP route add "$a" dev waveshift; done',
].join('\n');

async function writeTools(
  root: string,
  uciSource: string,
  tunnel: RouterSandboxOptions['tunnel'],
): Promise<void> {
  const bin = join(root, 'etc', '.sandbox', 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(root, 'etc', '.sandbox', 'uci.cjs'), uciSource);
  const uci = '/etc/.sandbox/uci.cjs';
  for (const applet of APPLETS) await symlink(BUSYBOX, join(bin, applet));
  const tools: Record<string, string> = {
    // Counted: each call starts node, the bulk of a sandboxed router's CPU (bench/router-fleet reports it).
    uci: `echo call >> /etc/.sandbox/uci-calls
exec ${process.execPath} ${uci} "$@"`,
    reboot: 'echo reboot >> /etc/.sandbox/calls\ntouch /etc/.sandbox/reboot-requested',
    wifi: 'echo "wifi $*" >> /etc/.sandbox/calls',
    // A power cut here is a namespace restart that keeps the host's page cache: flushing the host's disks
    // would model nothing and slow every test on a shared machine.
    sync: ':',
    // netifd's ifup: takes the interface down and up again from the committed configuration.
    ifup: [
      'echo "ifup $*" >> /etc/.sandbox/calls',
      '[ "$1" = waveshift ] || exit 0',
      TUNNEL_STATE,
      '[ -f /etc/.sandbox/tunnel-configured ] || { echo "Interface not found" >&2; exit 1; }',
      'if [ -f /etc/.sandbox/netifd-wireguard.sh ]; then sh /etc/.sandbox/netifd-wireguard.sh; fi',
    ].join('\n'),
    logger:
      'while [ $# -gt 0 ]; do case "$1" in -t|-p) shift 2;; *) break;; esac; done\necho "$*" >> /etc/.sandbox/syslog',
    ubus: `if [ "$1 $2 $3" = "call system board" ]; then cat /etc/.sandbox/board.json; else echo "Command failed: Not found" >&2; exit 4; fi`,
    opkg: [
      'case "$1" in',
      '  list-installed) sed "s/$/ - 1.0-1/" /etc/.sandbox/installed ;;',
      '  update) echo "opkg update" >> /etc/.sandbox/calls ;;',
      '  install) shift; echo "opkg install $*" >> /etc/.sandbox/calls',
      '    for p in "$@"; do if grep -qx "$p" /etc/.sandbox/unavailable; then echo "Unknown package \'$p\'." >&2; exit 255; fi; done',
      '    for p in "$@"; do if grep -qx "$p" /etc/.sandbox/oom-killed; then echo "Installing $p"; kill -9 $$; fi; done',
      '    for p in "$@"; do echo "Installing $p"; echo "$p" >> /etc/.sandbox/installed; done ;;',
      '  *) echo "opkg: unsupported in sandbox: $*" >&2; exit 1 ;;',
      'esac',
    ].join('\n'),
    wg: [
      'if [ "$1 $3" = "show latest-handshakes" ] && [ -f /etc/.sandbox/tunnel-configured ]; then',
      '  key=$(cat /etc/.sandbox/tunnel-configured)',
      '  if [ "$(cat /etc/.sandbox/tunnel-mode)" = up ]; then echo "$key\t$(date +%s)"; else echo "$key\t0"; fi',
      'else echo "Unable to access interface: No such device" >&2; exit 1; fi',
    ].join('\n'),
  };
  if (tunnel === 'wireguard') {
    delete tools.wg;
    await symlink('/usr/bin/wg', join(bin, 'wg'));
    await writeFile(join(root, 'etc', '.sandbox', 'netifd-wireguard.sh'), script(NETIFD_WIREGUARD));
  }
  for (const [name, body] of Object.entries(tools)) {
    await writeFile(join(bin, name), script(body));
    await chmod(join(bin, name), 0o755);
  }
}

async function writeEtc(root: string, options: RouterSandboxOptions): Promise<void> {
  const etc = join(root, 'etc');
  for (const dir of ['config', 'init.d', 'rc.d', 'crontabs', '.sandbox'])
    await mkdir(join(etc, dir), { recursive: true });
  await writeFile(join(etc, 'rc.common'), RC_COMMON);
  const config = { ...FACTORY_CONFIG, ...options.config };
  for (const [name, text] of Object.entries(config))
    await writeFile(join(etc, 'config', name), text.trimStart());
  const state = join(etc, '.sandbox');
  await writeFile(join(state, 'board.json'), `${JSON.stringify(GLINET_BOARD, null, '\t')}\n`);
  await writeFile(
    join(state, 'installed'),
    `${(options.packages ?? ['kmod-wireguard', 'wireguard-tools', 'curl', 'uclient-fetch']).join('\n')}\n`,
  );
  await writeFile(join(state, 'tunnel-mode'), options.tunnel ?? 'up');
  await writeFile(join(state, 'unavailable'), `${(options.unavailable ?? []).join('\n')}\n`);
  await writeFile(join(state, 'oom-killed'), `${(options.oomKilled ?? []).join('\n')}\n`);
  await writeFile(join(state, 'calls'), '');
  await writeFile(join(etc, 'crontabs', 'root'), '');
  const init = (name: string, extra = '') =>
    script(
      [
        // `enabled` is a question, not an action: only actions are recorded.
        `[ "$1" = enabled ] || echo "${name} $*" >> /etc/.sandbox/calls`,
        'case "$1" in',
        '  enable) touch /etc/.sandbox/enabled-$(basename "$0") ;;',
        '  disable) rm -f /etc/.sandbox/enabled-$(basename "$0") ;;',
        '  enabled) [ -f /etc/.sandbox/enabled-$(basename "$0") ]; exit $? ;;',
        `  start|restart|reload) ${extra || ':'} ;;`,
        'esac',
      ].join('\n'),
    );
  const network = [
    TUNNEL_STATE,
    'echo "$s" | sed -n "s/^network\\.lan\\.ipaddr=\'\\(.*\\)\'$/\\1/p" > /etc/.sandbox/lan-address.new && [ -s /etc/.sandbox/lan-address.new ] && mv /etc/.sandbox/lan-address.new /etc/.sandbox/lan-address',
    'if [ -f /etc/.sandbox/netifd-wireguard.sh ]; then sh /etc/.sandbox/netifd-wireguard.sh; fi',
  ].join('; ');
  for (const [name, extra] of [
    ['network', network],
    ['dnsmasq', ''],
    ['firewall', ''],
    ['cron', ''],
    ['uhttpd', ''],
  ] as const) {
    await writeFile(join(etc, 'init.d', name), init(name, extra));
    await chmod(join(etc, 'init.d', name), 0o755);
  }
}

/**
 * An ed25519 key pair that ssh2 can read back: its generator emits an unparsable key a few times in a
 * thousand, which would make a test fail at random.
 */
export function generateEd25519(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (
      !(ssh2.utils.parseKey(pair.private) instanceof Error) &&
      !(ssh2.utils.parseKey(pair.public) instanceof Error)
    ) {
      return pair;
    }
  }
}

function fingerprintOf(publicKey: string): string {
  const parsed = ssh2.utils.parseKey(publicKey);
  if (parsed instanceof Error) throw parsed;
  const blob = parsed.getPublicSSH();
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Starts the router's namespaces: /etc and /tmp are the sandbox's; returns a process inside them. */
async function startNamespaces(root: string): Promise<{ holder: ChildProcess; pid: number }> {
  const holder = spawn(
    '/usr/bin/unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--net',
      '--uts',
      '--',
      BUSYBOX,
      'sh',
      '-c',
      `mount --bind "$1/etc" /etc && mount -t tmpfs -o mode=1777 tmpfs /tmp && mount -t tmpfs -o mode=755 tmpfs /run && ${BUSYBOX} hostname GL-MT3000 && ${BUSYBOX} ip link set lo up; exec ${BUSYBOX} sleep 2147483647`,
      'sandbox',
      root,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  let stderr = '';
  holder.stderr?.on('data', (c) => {
    stderr += c;
  });
  const pid = await waitFor(
    'sandbox namespaces',
    async () => {
      if (holder.exitCode !== null) throw new Error(`unshare exited ${holder.exitCode}: ${stderr}`);
      const children = (await readFile(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8')).trim();
      const child = Number(children.split(/\s+/)[0]);
      if (!child) throw new Error('no child yet');
      const comm = (await readFile(`/proc/${child}/cmdline`, 'utf8')).split('\0');
      if (!comm.includes('2147483647')) throw new Error('not ready');
      return child;
    },
    10_000,
    20,
  );
  return { holder, pid };
}

function killNamespaces(ns: { holder: ChildProcess; pid: number }): void {
  try {
    process.kill(ns.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  ns.holder.kill('SIGKILL');
}

export async function startRouterSandbox(options: RouterSandboxOptions = {}): Promise<RouterSandbox> {
  let hostKey = generateEd25519();
  let fingerprint = fingerprintOf(hostKey.public);
  const uciSource = await bundleUci();
  const root = await mkdtemp(join(tmpdir(), 'wavectl-router-'));
  await chmod(root, 0o755);
  await writeTools(root, uciSource, options.tunnel);
  await writeEtc(root, options);
  const state = join(root, 'etc', '.sandbox');
  const port = await freePort();
  let ns = await startNamespaces(root);
  await options.onBoot?.(ns.pid);
  let host = '127.0.0.1';
  let lanAddress = '192.168.8.1';
  let stopped = false;
  const execs: string[] = [];
  const execMs: number[] = [];
  const clients = new Set<ssh2.Connection>();
  const authorized = options.authorizedKey ? ssh2.utils.parseKey(options.authorizedKey) : undefined;
  if (authorized instanceof Error) throw authorized;

  const exec = (command: string) =>
    spawn(
      '/usr/bin/nsenter',
      ['-t', String(ns.pid), '-m', '-p', '-n', '-u', '--', BUSYBOX, 'sh', '-c', command],
      {
        cwd: '/',
        env: { PATH: TOOLS, HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/ash' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    ).on('error', () => undefined);

  const onClient = (client: ssh2.Connection) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method === 'password' && options.password !== undefined) {
        const a = Buffer.from(ctx.password);
        const b = Buffer.from(options.password);
        return a.length === b.length && timingSafeEqual(a, b) ? ctx.accept() : ctx.reject();
      }
      if (ctx.method === 'publickey' && authorized && !Array.isArray(authorized)) {
        const match = ctx.key.algo === authorized.type && ctx.key.data.equals(authorized.getPublicSSH());
        if (!match) return ctx.reject();
        if (!ctx.signature) return ctx.accept();
        return authorized.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true
          ? ctx.accept()
          : ctx.reject();
      }
      return ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const at = execs.push(info.command) - 1;
          const started = performance.now();
          const stream = accept();
          const child = exec(info.command);
          stream.on('data', (chunk: Buffer) => child.stdin?.write(chunk));
          stream.on('end', () => child.stdin?.end());
          // A dropped connection closes the command's input, as Dropbear closes the channel's pipes.
          stream.on('close', () => child.stdin?.end());
          stream.on('error', () => undefined);
          child.stdin?.on('error', () => undefined);
          child.stdout?.on('data', (c: Buffer) => stream.write(c));
          child.stderr?.on('data', (c: Buffer) => stream.stderr.write(c));
          child.on('close', (code, signal) => {
            execMs[at] = performance.now() - started;
            try {
              // As Dropbear and OpenSSH do: a command killed by a signal has no exit status.
              if (signal) stream.exit(signal, false, '');
              else stream.exit(code ?? 1);
              stream.end();
            } catch {
              // the connection went away (the router moved or rebooted)
            }
          });
        });
      });
    });
  };

  // The SSH server listens on a private loopback port; the router's address is a listener in front of it
  // whose connections pass through the link switch.
  const startSsh = () =>
    new Promise<ssh2.Server>((resolve, reject) => {
      const ssh = new ssh2.Server({ hostKeys: [hostKey.private] }, onClient);
      ssh.once('error', reject);
      ssh.listen(0, '127.0.0.1', () => resolve(ssh));
    });
  let sshServer = await startSsh();
  const link = new RouterLink(() => (sshServer.address() as AddressInfo).port);
  let front: Server | undefined;
  const listen = (address: string) =>
    new Promise<void>((resolve, reject) => {
      const server = createServer((socket) => link.carry(socket, address));
      server.once('error', reject);
      server.listen(port, address, () => {
        front = server;
        resolve();
      });
    });
  /** Stops answering at the current address: `moved` strands its connections, `down` ends them. */
  const unlisten = (how: 'moved' | 'down') => {
    if (how === 'moved') link.strand(host);
    else for (const c of clients) c.end();
    clients.clear();
    // Stops listening at once; close's callback would wait for stranded connections, which never end.
    front?.close();
    front = undefined;
  };
  await listen(host);

  // Watches the router's state files for a moved LAN address or a reboot, as its network would behave.
  let busy = false;
  const watcher = setInterval(async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      if (existsSync(join(state, 'reboot-requested'))) {
        await rm(join(state, 'reboot-requested'), { force: true });
        unlisten('down');
        killNamespaces(ns);
        await new Promise((r) => setTimeout(r, options.rebootDownMs ?? 300));
        ns = await startNamespaces(root);
        await options.onBoot?.(ns.pid);
        // Boot runs the enabled init scripts, then brings the network up from the committed configuration.
        await new Promise<void>((resolve) => exec(BOOT).on('close', () => resolve()));
        lanAddress = (await readFile(join(state, 'lan-address'), 'utf8').catch(() => lanAddress)).trim();
        host = loopbackFor(lanAddress);
        if (!stopped) await listen(host);
        return;
      }
      const current = (await readFile(join(state, 'lan-address'), 'utf8').catch(() => lanAddress)).trim();
      if (current !== lanAddress) {
        lanAddress = current;
        const next = loopbackFor(current);
        if (next !== host) {
          unlisten('moved');
          host = next;
          await listen(host);
        }
      }
    } finally {
      busy = false;
    }
  }, options.watchMs ?? 50);

  return {
    get host() {
      return host;
    },
    port,
    root,
    execMs,
    get fingerprint() {
      return fingerprint;
    },
    execs,
    link,
    async calls() {
      return (await readFile(join(state, 'calls'), 'utf8')).split('\n').filter(Boolean);
    },
    async uciCalls() {
      return (await readFile(join(state, 'uci-calls'), 'utf8').catch(() => '')).split('\n').length - 1;
    },
    sh(command) {
      return new Promise((resolve, reject) => {
        const child = exec(command);
        let out = '';
        let err = '';
        child.stdout?.on('data', (c) => {
          out += c;
        });
        child.stderr?.on('data', (c) => {
          err += c;
        });
        child.stdin?.end();
        child.on('close', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`${command}: exit ${code}: ${err}`)),
        );
      });
    },
    async regenerateHostKey() {
      hostKey = generateEd25519();
      fingerprint = fingerprintOf(hostKey.public);
      unlisten('down');
      const old = sshServer;
      sshServer = await startSsh();
      old.close();
      await listen(host);
    },
    async stop() {
      stopped = true;
      clearInterval(watcher);
      unlisten('down');
      link.destroyAll();
      sshServer.close();
      killNamespaces(ns);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** `configure-hub` arguments that point site N at a sandbox router and accept its host key on first contact. */
export function hubArgs(site: number | string, router: { host: string; port: number }): string[] {
  return [
    '--site',
    String(site),
    '--host',
    router.host,
    '--port',
    String(router.port),
    '--accept-new-host-key',
  ];
}
