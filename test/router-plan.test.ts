import { describe, expect, it } from 'vitest';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { planSiteTunnel } from '../src/network/site-tunnel';
import { routerChoices } from '../src/router/configure-hub';
import { desiredRouterState } from '../src/router/desired-state';
import {
  CRON_MARK,
  parseSnapshot,
  READ_SCRIPT,
  reloadCommands,
  renderApplyScript,
  SCANNER_CONF_PATH,
} from '../src/router/remote-scripts';
import {
  applyInputs,
  cronLine,
  failedBatchLines,
  missingPackages,
  planRouter,
  renderScannerConf,
} from '../src/router/router-plan';
import { parseSiteList, reachAddress } from '../src/router/site-selection';
import { parseUciExport, quoteUci, tokenizeUci } from '../src/router/uci';
import { planUci, REDACTED } from '../src/router/uci-plan';
import { FACTORY_CONFIG } from './helpers/router-sandbox';

const SERVER_KEY = 'vefJtOWP7Xunivredkg6KWM2/tjjrrD3Pdr6vp2fNFs=';
const SITE_KEY = '3LZxGtD8QYVscftmmXvhbdqNrICIvSG0OOL1UxNbtSk=';
const PRIVATE_KEY = 'QGcPgOSW0f0vYQnA1ztfL4mN0jmCf9lR6Ybz0iC1JX8=';

const sites: SiteRecord[] = [
  { number: 3, name: 'Lisbon', publicKey: SITE_KEY, accessServer: 0, registered: true },
];
const servers: AccessServerRecord[] = [
  { index: 0, publicKey: SERVER_KEY, listenPort: 51820, publicIp: '203.0.113.10' },
];
const tunnel = planSiteTunnel(sites, servers, 3);

/** Factory configuration as `uci export` prints it (anonymous sections unnamed). */
const factoryExport = ['network', 'dhcp', 'firewall']
  .map((p) => `package ${p}\n\n${FACTORY_CONFIG[p]!.trimStart()}`)
  .join('\n');

/** The same as `uci -n export` prints it: anonymous sections named by their generated id. */
const namedExport = factoryExport
  .replace('config device\n', "config device 'cfg030f15'\n")
  .replace('config dnsmasq\n', "config dnsmasq 'cfg01411c'\n")
  .replace(/config zone\n(\toption name '(\w+)')/g, "config zone 'cfg0_$2'\n$1")
  .replace('cfg0_lan', 'cfg02dc81')
  .replace('cfg0_wan', 'cfg03dc81')
  .replace('config defaults\n', "config defaults 'cfg01e63d'\n")
  .replace('config forwarding\n', "config forwarding 'cfg04ad58'\n")
  .replace('config rule\n', "config rule 'cfg0592bd'\n");

describe('uci export parsing and quoting', () => {
  it('reads named and anonymous sections, options and lists', () => {
    const [network, dhcp] = parseUciExport(factoryExport);
    expect(network!.name).toBe('network');
    const lan = network!.sections.find((s) => s.name === 'lan');
    expect(lan).toMatchObject({ type: 'interface', options: { ipaddr: '192.168.8.1', proto: 'static' } });
    const device = network!.sections.find((s) => s.type === 'device');
    expect(device).toMatchObject({ name: undefined, typeIndex: 0, options: { ports: ['lan1', 'lan2'] } });
    expect(dhcp!.sections[0]).toMatchObject({
      type: 'dnsmasq',
      name: undefined,
      options: { server: ['/corp.example/192.168.8.53'] },
    });
  });

  it.each([
    "it's",
    'a; reboot; b',
    '$(touch /tmp/pwned) `id` $HOME',
    'back\\slash "double" #hash',
    "'''",
    '',
  ])('quotes %j so that uci reads it back unchanged', (value) => {
    const line = `set network.x.description=${quoteUci(value)}`;
    expect(tokenizeUci(line)).toEqual([['set', `network.x.description=${value}`]]);
  });

  it('refuses control characters in a value (a newline would end the batch line)', () => {
    expect(() => quoteUci('a\nreboot')).toThrow(/control characters/);
    expect(() => quoteUci('a\u0000')).toThrow(/control characters/);
  });

  it('reads a quoted value that spans lines and embedded quotes', () => {
    const [pkg] = parseUciExport("package p\n\nconfig t 'n'\n\toption a 'x'\\''y'\n\toption b 'one\ntwo'\n");
    expect(pkg!.sections[0]!.options).toEqual({ a: "x'y", b: 'one\ntwo' });
  });
});

describe('planning the router of a site', () => {
  const desired = desiredRouterState({ tunnel, siteName: 'Lisbon', privateKey: PRIVATE_KEY });

  it('turns a factory GL.iNet into site 3 with one batch, the private key never shown', () => {
    const plan = planUci(parseUciExport(factoryExport), desired);
    expect(plan.batch).toContain("set network.lan.ipaddr='10.8.3.1'");
    expect(plan.batch).toContain("set network.waveshift='interface'");
    expect(plan.batch).toContain("set network.waveshift.proto='wireguard'");
    expect(plan.batch).toContain(`set network.waveshift.private_key='${PRIVATE_KEY}'`);
    expect(plan.batch).toContain("add_list network.waveshift.addresses='10.8.3.1/32'");
    expect(plan.batch).toContain("set network.waveshift_server='wireguard_waveshift'");
    expect(plan.batch).toContain("set network.waveshift_server.endpoint_host='203.0.113.10'");
    expect(plan.batch).toContain("add_list network.waveshift_server.allowed_ips='10.0.0.0/16'");
    expect(plan.batch).toContain("add_list dhcp.@dnsmasq[0].server='/internal/10.9.0.1'");
    expect(plan.batch).toContain("add_list dhcp.@dnsmasq[0].rebind_domain='internal'");
    expect(plan.batch).toContain("set firewall.waveshift='zone'");
    expect(plan.batch).toContain("set firewall.waveshift_to_lan.dest='lan'");
    // The firmware's own dnsmasq server entry and DHCP settings are left alone.
    expect(plan.batch.join('\n')).not.toContain('corp.example');
    expect(plan.batch.some((l) => l.startsWith('set dhcp.lan.start'))).toBe(false);
    expect(plan.displayBatch.join('\n')).not.toContain(PRIVATE_KEY);
    expect(plan.displayBatch).toContain(`set network.waveshift.private_key='${REDACTED}'`);
    expect(JSON.stringify(plan.changes)).not.toContain(PRIVATE_KEY);
  });

  it('has nothing to do on a router already in the desired state', () => {
    const configured = `${factoryExport}
package extra
`
      .replace("option ipaddr '192.168.8.1'", "option ipaddr '10.8.3.1'")
      .replace(
        "\tlist server '/corp.example/192.168.8.53'",
        "\tlist server '/corp.example/192.168.8.53'\n\tlist server '/internal/10.9.0.1'\n\tlist rebind_domain 'internal'",
      )
      .concat(`
package network

config interface 'waveshift'
\toption proto 'wireguard'
\toption private_key '${PRIVATE_KEY}'
\tlist addresses '10.8.3.1/32'
`);
    // Merge the extra network block into one package the way uci export prints it.
    const pkgs = parseUciExport(configured);
    const network = pkgs.filter((p) => p.name === 'network');
    const merged = [
      { name: 'network', sections: network.flatMap((p) => p.sections) },
      ...pkgs.filter((p) => p.name !== 'network'),
    ];
    const plan = planUci(merged, desired);
    // Only the peer and the firewall remain.
    expect(plan.batch.some((l) => l.includes('network.lan'))).toBe(false);
    expect(plan.batch.some((l) => l.includes('network.waveshift.'))).toBe(false);
    expect(plan.batch.some((l) => l.includes('dnsmasq'))).toBe(false);
    expect(plan.batch.some((l) => l.startsWith('set network.waveshift_server='))).toBe(true);
  });

  it('replaces an owned section of the wrong type, removes stray options and stale list entries', () => {
    const text = `package network

config interface 'lan'
\toption proto 'static'
\toption ipaddr '10.8.3.1'
\toption netmask '255.255.255.0'

config route 'waveshift'
\toption target '1.2.3.4'

package dhcp

config dnsmasq
\tlist server '/internal/10.9.0.7'
\tlist server '/lan/'
\tlist rebind_domain 'internal'

config dhcp 'lan'
\toption interface 'lan'
\toption start '100'
\toption limit '150'
\toption leasetime '12h'
\toption ignore '1'

package firewall

config forwarding 'lan_to_waveshift'
\toption src 'lan'
\toption dest 'waveshift'
\toption extra 'x'
`;
    const plan = planUci(parseUciExport(text), desired);
    expect(plan.batch).toContain('delete network.waveshift');
    expect(plan.batch).toContain("set network.waveshift='interface'");
    expect(plan.batch).toContain("del_list dhcp.@dnsmasq[0].server='/internal/10.9.0.7'");
    expect(plan.batch).toContain("add_list dhcp.@dnsmasq[0].server='/internal/10.9.0.1'");
    expect(plan.batch).not.toContain("del_list dhcp.@dnsmasq[0].server='/lan/'");
    expect(plan.batch).toContain('delete dhcp.lan.ignore');
    expect(plan.batch).toContain('delete firewall.lan_to_waveshift.extra');
    expect(plan.changes).toContainEqual({ action: 'delete', resource: 'network.waveshift', before: 'route' });
  });

  it('predicts the exact `uci changes` of its batch, package by package, to check before committing', () => {
    const plan = planUci(parseUciExport(namedExport), desired);
    expect(plan.packages).toEqual(['dhcp', 'firewall', 'network']);
    expect(plan.expected.network).toContain("network.lan.ipaddr='10.8.3.1'");
    expect(plan.expected.network).toContain("network.waveshift='interface'");
    expect(plan.expected.network).toContain("network.waveshift.addresses+='10.8.3.1/32'");
    expect(plan.expected.dhcp).toContain("dhcp.cfg01411c.server+='/internal/10.9.0.1'");
    expect(plan.batch).toContain("add_list dhcp.cfg01411c.server='/internal/10.9.0.1'");
    // People read the anonymous section as @dnsmasq[0], whatever its generated name.
    expect(plan.changes).toContainEqual({
      action: 'create',
      resource: 'dhcp.@dnsmasq[0].server',
      after: '/internal/10.9.0.1',
    });
    const all = Object.values(plan.expected).flat();
    expect(all).toHaveLength(plan.batch.length);
    // Each expected change points back at the batch line that makes it.
    for (const [pkg, lines] of Object.entries(plan.expectedLine)) {
      expect(lines).toHaveLength(plan.expected[pkg]!.length);
      for (const line of lines) expect(plan.batch[line]!.split(' ')[1]!.split(/[.=]/)[0]).toBe(pkg);
    }
  });

  it('names the batch lines of missing changes, secrets redacted', () => {
    const snapshot = parseSnapshot(
      ['board', 'packages', 'pending', 'files', 'cron', 'handshake'].map((p) => `@@wavectl:${p}`).join('\n') +
        `\n@@wavectl:uci\n${namedExport}`,
    );
    const plan = planRouter(snapshot, {
      tunnel,
      siteName: 'Lisbon',
      privateKey: PRIVATE_KEY,
      scannerKey: 'k'.repeat(43),
      scannerScript: '#!/bin/sh\n',
      scanIntervalMinutes: 5,
    });
    const keyAt = applyInputs(plan, 90).expected.findIndex((l) => l.includes('private_key'));
    const lines = failedBatchLines(plan, [keyAt + 1, 10_000]);
    expect(lines).toEqual([`set network.waveshift.private_key='${REDACTED}'`]);
    expect(plan.rebootNeeded).toBe(true);
  });

  it('adopts an existing zone named waveshift instead of adding a second, and drops extra twins', () => {
    const text = namedExport.replace(
      'package firewall\n',
      "package firewall\n\nconfig zone 'cfg0bd5a1'\n\toption name 'waveshift'\n\toption input 'ACCEPT'\n\tlist network 'waveshift'\n\nconfig zone 'cfg0cd5a1'\n\toption name 'waveshift'\n",
    );
    const plan = planUci(parseUciExport(text), desired);
    expect(plan.batch).toContain("rename firewall.cfg0bd5a1='waveshift'");
    expect(plan.expected.firewall).toContain("firewall.cfg0bd5a1='waveshift'");
    expect(plan.batch).toContain('delete firewall.cfg0cd5a1');
    expect(plan.batch).not.toContain("set firewall.waveshift='zone'");
    expect(plan.batch).toContain("set firewall.waveshift.input='REJECT'");
    expect(plan.batch).not.toContain("add_list firewall.waveshift.network='waveshift'");
  });

  it('rewrites a dnsmasq server stored as an option as a list, in one run', () => {
    const text = namedExport.replace(
      "\tlist server '/corp.example/192.168.8.53'",
      "\toption server '/internal/10.9.0.7'",
    );
    const plan = planUci(parseUciExport(text), desired);
    expect(plan.batch.filter((l) => l.includes('.server'))).toEqual([
      'delete dhcp.cfg01411c.server',
      "add_list dhcp.cfg01411c.server='/internal/10.9.0.1'",
    ]);
    const kept = planUci(
      parseUciExport(
        namedExport.replace("\tlist server '/corp.example/192.168.8.53'", "\toption server '8.8.8.8'"),
      ),
      desired,
    );
    expect(kept.batch.filter((l) => l.includes('.server'))).toEqual([
      'delete dhcp.cfg01411c.server',
      "add_list dhcp.cfg01411c.server='8.8.8.8'",
      "add_list dhcp.cfg01411c.server='/internal/10.9.0.1'",
    ]);
  });

  it('rejects input from the tunnel but ICMP, unless management over the tunnel is asked for', () => {
    const zone = (manageOverTunnel?: boolean) =>
      desiredRouterState({ tunnel, siteName: 'L', privateKey: PRIVATE_KEY, manageOverTunnel }).find(
        (s) => s.kind === 'owned' && s.name === 'waveshift' && s.config === 'firewall',
      );
    expect(zone()).toMatchObject({ options: { input: 'REJECT' } });
    expect(zone(true)).toMatchObject({ options: { input: 'ACCEPT' } });
    const plan = planUci(parseUciExport(namedExport), desired);
    expect(plan.batch).toContain("set firewall.waveshift_icmp.proto='icmp'");
    expect(plan.batch).toContain("set firewall.waveshift_icmp.target='ACCEPT'");
  });

  it('reloads only the services whose configuration changed; no reboot unless the LAN moves', () => {
    expect(reloadCommands(['network'])).toEqual([
      '/etc/init.d/network reload >/dev/null 2>&1 || true',
      'ifup waveshift >/dev/null 2>&1 || true',
    ]);
    expect(reloadCommands(['dhcp', 'firewall'])).toEqual([
      '/etc/init.d/dnsmasq reload >/dev/null 2>&1 || true',
      '/etc/init.d/firewall reload >/dev/null 2>&1 || true',
    ]);
  });

  it('keeps a hostile site name inert: control characters become spaces, the rest is quoted', () => {
    const name = "x'; reboot; $(touch /tmp/pwned)\nuci commit #";
    const plan = planUci(
      parseUciExport(factoryExport),
      desiredRouterState({ tunnel, siteName: name, privateKey: PRIVATE_KEY }),
    );
    const line = plan.batch.find((l) => l.startsWith('set network.waveshift_server.description='))!;
    expect(line).not.toContain('\n');
    expect(tokenizeUci(line)[0]).toEqual([
      'set',
      "network.waveshift_server.description=Waveshift access server 0 for site 3 x'; reboot; $(touch /tmp/pwned) uci commit #",
    ]);
  });
});

describe('router snapshot, files and helpers', () => {
  const read = (extra: Partial<Record<string, string>> = {}) =>
    [
      '@@wavectl:board',
      JSON.stringify({
        model: 'GL.iNet GL-MT3000',
        release: { distribution: 'OpenWrt', version: '21.02-SNAPSHOT' },
      }),
      '@@wavectl:packages',
      extra.packages ?? 'kmod-wireguard\nwireguard-tools\ncurl',
      '@@wavectl:pending',
      extra.pending ?? '',
      '@@wavectl:uci',
      factoryExport,
      '@@wavectl:files',
      extra.files ?? '',
      '@@wavectl:cron',
      extra.cron ?? '',
      '@@wavectl:handshake',
      extra.handshake ?? 'now 1700000000',
      '@@wavectl:apply',
    ].join('\n');

  it('parses the one read round trip', () => {
    const snap = parseSnapshot(
      read({
        handshake: `${SERVER_KEY}\t1699999990\nnow 1700000000`,
        cron: `${cronLine(5)}\nenabled`,
        pending: "network.lan.ipaddr='1.2.3.4'",
      }),
    );
    expect(snap).toMatchObject({
      model: 'GL.iNet GL-MT3000',
      firmware: 'OpenWrt 21.02-SNAPSHOT',
      handshakeAt: 1699999990,
      now: 1700000000,
      cronEnabled: true,
    });
    expect(snap.cronLine).toBe(cronLine(5));
    expect(snap.pending).toEqual(["network.lan.ipaddr='1.2.3.4'"]);
    expect(READ_SCRIPT.split('\n')).toHaveLength(10);
  });

  it('names the packages to install', () => {
    expect(missingPackages(['kmod-wireguard', 'wireguard-tools', 'curl'])).toEqual(['nmap']);
    expect(missingPackages(['kmod-wireguard', 'wireguard-tools', 'nmap-ssl', 'curl'])).toEqual([]);
    expect(missingPackages([])).toEqual(['kmod-wireguard', 'wireguard-tools', 'nmap', 'curl']);
  });

  const scannerInputs = {
    tunnel,
    siteName: 'Lisbon',
    privateKey: PRIVATE_KEY,
    scannerKey: 'k'.repeat(43),
    scannerScript: '#!/bin/sh\necho hi\n',
    scanIntervalMinutes: 5,
  };

  it('writes the scanner files and cron entry once, with the key redacted for display', () => {
    const inputs = scannerInputs;
    const plan = planRouter(parseSnapshot(read()), inputs);
    expect(plan.files.map((f) => [f.path, f.mode])).toEqual([
      ['/etc/waveshift/device-scanner.sh', '0755'],
      [SCANNER_CONF_PATH, '0600'],
    ]);
    const conf = plan.files[1]!;
    expect(conf.content).toContain(`API_KEY=${'k'.repeat(43)}`);
    expect(conf.redacted).not.toContain('k'.repeat(43));
    expect(conf.content).toContain('CONTROLLER_URL=http://waveshift.internal:8080');
    expect(plan.cronLine).toBe(`*/5 * * * * /etc/waveshift/device-scanner.sh ${CRON_MARK}`);
    expect(plan.enableCron).toBe(true);
    expect(() => renderScannerConf(3, "bad key'")).toThrow(/base64url/);
  });

  it('installs the deployment CA and reports over HTTPS with it; a new CA rewrites both files', () => {
    const inputs = {
      ...scannerInputs,
      ca: {
        certificate: '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n',
        fingerprint: 'AA:01',
      },
    };
    const plan = planRouter(parseSnapshot(read()), inputs);
    expect(plan.files.map((f) => [f.path, f.mode])).toEqual([
      ['/etc/waveshift/device-scanner.sh', '0755'],
      [SCANNER_CONF_PATH, '0600'],
      ['/etc/waveshift/ca.pem', '0644'],
    ]);
    expect(plan.files[1]!.content).toContain('CONTROLLER_URL=https://waveshift.internal\n');
    expect(plan.files[1]!.content).toContain('CA_FILE=/etc/waveshift/ca.pem');
    expect(plan.files[2]!.content).toBe(inputs.ca.certificate);
    const renewed = { ...inputs, ca: { ...inputs.ca, fingerprint: 'BB:02' } };
    expect(renderScannerConf(3, inputs.scannerKey, 'https://waveshift.internal', renewed.ca)).not.toBe(
      renderScannerConf(3, inputs.scannerKey, 'https://waveshift.internal', inputs.ca),
    );
  });

  it('renders an apply script whose here-documents cannot be closed by their content', () => {
    const script = renderApplyScript({
      batch: ["set network.lan.ipaddr='10.8.3.1'"],
      expected: ["network.lan.ipaddr='10.8.3.1'"],
      packages: ['network'],
      files: [{ path: '/etc/waveshift/x', mode: '0600', content: 'WAVESHIFT_EOF\n$(reboot)\n' }],
      cronLine: cronLine(15),
      enableCron: true,
      rollbackSeconds: 90,
      lanMoves: true,
    });
    const delimiters = [...script.matchAll(/<<'(WAVESHIFT_EOF_[0-9a-f]{12})'/g)].map((m) => m[1]!);
    expect(delimiters).toHaveLength(5);
    for (const d of delimiters) expect(script.split('\n').filter((l) => l === d)).toHaveLength(1);
    expect(script).toContain('while [ $i -lt 90 ]');
    expect(script).toContain('( trap "" HUP; sh "$D/job.sh" ) </dev/null >/dev/null 2>&1 &');
  });

  it('parses site lists and reconnect templates', () => {
    expect(parseSiteList('0-3,12, 2')).toEqual([0, 1, 2, 3, 12]);
    expect(() => parseSiteList('3-1')).toThrow(/backwards/);
    expect(() => parseSiteList('256')).toThrow(/0-255/);
    expect(() => parseSiteList('a')).toThrow(/not a site number/);
    expect(reachAddress('{lan}', '10.8.4.1', 4)).toBe('10.8.4.1');
    expect(reachAddress('127.8.{site}.1', '10.8.4.1', 4)).toBe('127.8.4.1');
    expect(cronLine(60)).toMatch(/^0 \* \* \* \* /);
    expect(cronLine(1)).toMatch(/^\* \* \* \* \* /);
  });
});

describe('routerChoices: an option given wins, else what the site last had applied, else the default', () => {
  const where = { host: '10.8.3.1', port: 22, user: 'root' };
  it('keeps a recorded choice when the option is not given', () => {
    expect(
      routerChoices({ ...where, manageOverTunnel: true, scanIntervalMinutes: 7 }, undefined, undefined),
    ).toEqual({
      manageOverTunnel: true,
      scanIntervalMinutes: 7,
    });
  });
  it('takes the option over the record, either way', () => {
    expect(routerChoices({ ...where, manageOverTunnel: true, scanIntervalMinutes: 7 }, false, 3)).toEqual({
      manageOverTunnel: false,
      scanIntervalMinutes: 3,
    });
    expect(routerChoices({ ...where, manageOverTunnel: false }, true, undefined)).toEqual({
      manageOverTunnel: true,
      scanIntervalMinutes: 5,
    });
  });
  it('falls back to the defaults without a record', () => {
    expect(routerChoices(undefined, undefined, undefined)).toEqual({
      manageOverTunnel: false,
      scanIntervalMinutes: 5,
    });
  });
});
