import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningController, startController } from '../src/controller/server';
import { accessServerInput, DEPLOYMENT, scannerKey, siteInput, TEST_API_KEY } from './helpers/controller';
import { describeWithNetns, NetLab } from './helpers/netns';
import { repoRoot } from './helpers/paths';
import { freePort } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

const SCRIPT = join(repoRoot, 'scripts', 'device-scanner.sh');
const which = (tool: string) =>
  execFileSync('sh', ['-c', `command -v ${tool}`])
    .toString()
    .trim();

interface Device {
  ip: string;
  mac: string | null;
  hostname: string | null;
  online: boolean;
}

/** Runs the scanner exactly as cron on the router would: `busybox sh` with the config path in the env. */
function runScanner(conf: string, path: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('busybox', ['sh', SCRIPT], {
      env: { PATH: path, WAVESHIFT_SCANNER_CONF: conf, TMPDIR: '/tmp' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

/** Test bin directory: wrappers that record the argv of curl and the lines sent to syslog. */
async function toolDir(dir: string, nmap: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const tools: Record<string, string> = {
    nmap,
    curl: `echo "$*" >> ${dir}/curl-argv\nexec /usr/bin/curl "$@"`,
    logger: `while [ $# -gt 0 ]; do case "$1" in -t|-p) shift 2;; *) break;; esac; done\necho "$*" >> ${dir}/syslog`,
  };
  for (const [name, body] of Object.entries(tools)) {
    await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  }
  return `${bin}:/usr/bin:/bin`;
}

async function writeConf(dir: string, site: number, url: string, extra = ''): Promise<string> {
  const conf = join(dir, 'scanner.conf');
  await writeFile(
    conf,
    `# test\nSITE=${site}\nLAN_CIDR=10.8.${site}.0/24\nCONTROLLER_URL=${url}\nAPI_KEY=${scannerKey(site)}\nSPOOL_DIR=${dir}/spool\nLOCK_DIR=${dir}/lock\n${extra}`,
    { mode: 0o600 },
  );
  return conf;
}

const spooled = async (dir: string) =>
  (await readdir(join(dir, 'spool')).catch(() => [])).filter((f) => f.endsWith('.json'));

describe('device-scanner.sh parsing, lock and spool (busybox sh, recorded nmap output)', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let path: string;
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -sn -oX - 10.8.9.0/24" version="7.93">
<host><status state="up" reason="localhost-response" reason_ttl="0"/>
<address addr="10.8.9.1" addrtype="ipv4"/>
<hostnames>
<hostname name="gl-mt3000.lan" type="PTR"/>
</hostnames>
</host>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.8.9.23" addrtype="ipv4"/>
<address addr="AA:BB:CC:00:11:22" addrtype="mac" vendor="Acme &amp; Co"/>
<hostnames>
<hostname name="o&apos;brien &quot;laptop&quot;\\x &amp; co" type="PTR"/>
</hostnames>
</host>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.8.9.40" addrtype="ipv4"/>
<address addr="AA:BB:CC:00:11:40" addrtype="mac"/>
</host>
<host><status state="down" reason="no-response" reason_ttl="0"/>
<address addr="10.8.9.41" addrtype="ipv4"/>
</host>
<runstats><finished time="1" elapsed="2.0" exit="success"/><hosts up="2" down="252" total="254"/>
</runstats>
</nmaprun>`;

  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-scan-');
    await writeFile(join(tmp.path, 'scan.xml'), xml);
    await writeFile(
      join(tmp.path, 'dhcp.leases'),
      '1700000000 aa:bb:cc:00:11:40 10.8.9.40 printer-2f 01:aa:bb:cc:00:11:40\n1700000000 aa:bb:cc:00:11:41 10.8.9.41 * *\n',
    );
    path = await toolDir(tmp.path, `cat ${tmp.path}/scan.xml`);
  });
  afterAll(() => tmp.remove());

  it('turns nmap XML into one JSON report, spooled while the controller is down, bounded', async () => {
    const port = await freePort();
    const conf = await writeConf(
      tmp.path,
      9,
      `http://127.0.0.1:${port}`,
      `SPOOL_MAX=3\nTIMEOUT=2\nLEASES_FILE=${tmp.path}/dhcp.leases\n`,
    );
    for (let i = 0; i < 4; i++) expect((await runScanner(conf, path)).code).toBe(1);
    const files = await spooled(tmp.path);
    expect(files).toHaveLength(3);
    const report = JSON.parse(await readFile(join(tmp.path, 'spool', files[0]!), 'utf8'));
    expect(report.scannedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(report.devices).toEqual([
      { ip: '10.8.9.1', hostname: 'gl-mt3000.lan' },
      { ip: '10.8.9.23', mac: 'aa:bb:cc:00:11:22', hostname: 'o\'brien "laptop"\\x & co' },
      { ip: '10.8.9.40', mac: 'aa:bb:cc:00:11:40', hostname: 'printer-2f' },
    ]);
    const syslog = await readFile(join(tmp.path, 'syslog'), 'utf8');
    expect(syslog).toMatch(/not delivered \(HTTP 000: .*\); kept in/);
    expect(syslog).toMatch(/spool full: dropped 1 oldest report/);
    // The key was never on curl's command line.
    expect(await readFile(join(tmp.path, 'curl-argv'), 'utf8')).not.toContain(scannerKey(9));
  });

  it('never runs twice at once, and takes over a lock left by a dead run', async () => {
    const conf = await writeConf(tmp.path, 9, 'http://127.0.0.1:9', 'SPOOL_MAX=100\nTIMEOUT=2\n');
    const before = (await spooled(tmp.path)).length;
    // A scan in progress, as ps shows one: a shell running a script of the scanner's name.
    const holderScript = join(tmp.path, 'device-scanner.sh');
    await writeFile(holderScript, 'sleep 30\n');
    const holder = spawn('busybox', ['sh', holderScript], { stdio: 'ignore' });
    try {
      await mkdir(join(tmp.path, 'lock'), { recursive: true });
      await writeFile(join(tmp.path, 'lock', 'pid'), String(holder.pid));
      expect((await runScanner(conf, path)).code).toBe(0);
      expect(await spooled(tmp.path)).toHaveLength(before);
      expect(await readFile(join(tmp.path, 'syslog'), 'utf8')).toMatch(/another scan is running/);
    } finally {
      holder.kill('SIGKILL');
      await rm(holderScript);
    }
    await writeFile(join(tmp.path, 'lock', 'pid'), '999999');
    expect((await runScanner(conf, path)).code).toBe(1);
    expect(await spooled(tmp.path)).toHaveLength(before + 1);
    expect(await readdir(tmp.path)).not.toContain('lock');
  });

  it('takes over a lock whose PID now belongs to a process that is no scan (PID reused)', async () => {
    const conf = await writeConf(tmp.path, 9, 'http://127.0.0.1:9', 'SPOOL_MAX=100\nTIMEOUT=2\n');
    const before = (await spooled(tmp.path)).length;
    await symlink(String(process.pid), join(tmp.path, 'lock'));
    expect((await runScanner(conf, path)).code).toBe(1);
    expect(await spooled(tmp.path)).toHaveLength(before + 1);
    expect(await readdir(tmp.path)).not.toContain('lock');
  });

  it('takes no lock for stale while its holder is still making it (no PID written yet)', async () => {
    const conf = await writeConf(tmp.path, 9, 'http://127.0.0.1:9', 'SPOOL_MAX=100\nTIMEOUT=2\n');
    const before = (await spooled(tmp.path)).length;
    // What another run leaves for an instant with a directory lock: the directory, no pid file yet.
    await mkdir(join(tmp.path, 'lock'));
    expect((await runScanner(conf, path)).code).toBe(0);
    expect(await spooled(tmp.path)).toHaveLength(before);
    await rm(join(tmp.path, 'lock'), { recursive: true });
  });

  it("lets exactly one of many runs started at once scan, with or without a dead run's lock in place", async () => {
    const conf = await writeConf(tmp.path, 9, 'http://127.0.0.1:9', 'SPOOL_MAX=1000\nTIMEOUT=2\n');
    // An nmap that takes its time and says when it ran: two runs at once would overlap in the log.
    const slow = await toolDir(
      join(tmp.path, 'slow'),
      `echo "start $$" >> ${tmp.path}/nmap-runs; sleep 0.5; cat ${tmp.path}/scan.xml; echo "end $$" >> ${tmp.path}/nmap-runs`,
    );
    // A dead run's lock as this script leaves it (a link to its PID) and as its earlier version did.
    for (const stale of ['none', 'link', 'none', 'directory'] as const) {
      await rm(join(tmp.path, 'nmap-runs'), { force: true });
      if (stale === 'link') await symlink('999999', join(tmp.path, 'lock'));
      if (stale === 'directory') {
        await mkdir(join(tmp.path, 'lock'));
        await writeFile(join(tmp.path, 'lock', 'pid'), '999999');
      }
      const runs = await Promise.all(Array.from({ length: 6 }, () => runScanner(conf, slow)));
      const log = (await readFile(join(tmp.path, 'nmap-runs'), 'utf8')).trim().split('\n');
      expect(log).toHaveLength(2);
      expect(log[0]).toMatch(/^start /);
      expect(log[1]).toMatch(/^end /);
      // The one that scanned fails to deliver (no controller); the others skipped quietly.
      expect(runs.map((r) => r.code).sort()).toEqual([0, 0, 0, 0, 0, 1]);
      expect(await readdir(tmp.path)).not.toContain('lock');
      expect(await readdir(tmp.path)).not.toContain('lock.takeover');
    }
  });

  it('refuses an incomplete config without running nmap', async () => {
    const conf = join(tmp.path, 'bad.conf');
    await writeFile(conf, 'SITE=x\n');
    expect((await runScanner(conf, path)).code).toBe(2);
  });
});

/** Real nmap against a namespace LAN, reports into the real controller on real PostgreSQL. */
describeWithNetns('device-scanner.sh with real nmap and the real controller', () => {
  const SITE = 4;
  const lab = new NetLab('scan');
  let pg: PostgresServer;
  let controller: RunningController;
  let databaseUrl: string;
  let port: number;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let router: string;
  const devices: string[] = [];
  let path: string;
  let conf: string;

  const start = async () => {
    controller = await startController({
      host: '127.0.0.1',
      port,
      databaseUrl,
      apiKey: TEST_API_KEY,
      logger: false,
    });
  };
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${controller.url}${url}`, {
      method,
      headers: { ...DEPLOYMENT, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const inventory = async () =>
    ((await api('GET', `/api/devices?site=${SITE}`)) as { devices: Device[] }).devices.sort((a, b) =>
      a.ip.localeCompare(b.ip, 'en', { numeric: true }),
    );

  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-scan-');
    pg = await startPostgres();
    databaseUrl = await pg.createDatabase('scanner');
    port = await freePort();
    await start();
    await api('PUT', '/api/access-servers/0', accessServerInput(0));
    await api('PUT', `/api/sites/${SITE}`, siteInput(SITE));
    // The site LAN: the router's bridge 10.8.4.1/24 and three devices on it.
    router = await lab.host('router');
    await lab.exec(router, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await lab.exec(router, ['ip', 'addr', 'add', `10.8.${SITE}.1/24`, 'dev', 'br0']);
    await lab.exec(router, ['ip', 'link', 'set', 'br0', 'up']);
    for (const n of [10, 11, 12]) {
      const device = await lab.host(`dev${n}`);
      devices.push(device);
      const { aIf } = await lab.link(router, undefined, device, `10.8.${SITE}.${n}/24`);
      await lab.exec(router, ['ip', 'link', 'set', aIf, 'master', 'br0']);
    }
    // nmap runs inside the router's namespace; the report is posted from here to the controller on loopback.
    // Absolute paths: `nmap` on PATH is this wrapper itself.
    path = await toolDir(tmp.path, `exec ${which('ip')} netns exec ${router} ${which('nmap')} "$@"`);
    await writeFile(
      join(tmp.path, 'dhcp.leases'),
      `1700000000 02:00:00:00:00:0b 10.8.${SITE}.11 printer-2f *\n`,
    );
    conf = await writeConf(
      tmp.path,
      SITE,
      controller.url,
      `TIMEOUT=5\nLEASES_FILE=${tmp.path}/dhcp.leases\n`,
    );
  });

  afterAll(async () => {
    await controller?.close();
    await lab.cleanup();
    await pg?.stop();
    await tmp?.remove();
  });

  it('reports every device of the LAN with its MAC', async () => {
    const run = await runScanner(conf, path);
    expect(run.code).toBe(0);
    const found = await inventory();
    expect(found.map((d) => d.ip)).toEqual([
      `10.8.${SITE}.1`,
      `10.8.${SITE}.10`,
      `10.8.${SITE}.11`,
      `10.8.${SITE}.12`,
    ]);
    for (const d of found.slice(1)) expect(d.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(found.find((d) => d.ip === `10.8.${SITE}.11`)?.hostname).toBe('printer-2f');
    expect(found.every((d) => d.online)).toBe(true);
    expect(await spooled(tmp.path)).toEqual([]);
    expect(await readFile(join(tmp.path, 'syslog'), 'utf8')).toMatch(
      /site 4: 4 device\(s\) up; 1 report\(s\) delivered; 0 waiting/,
    );
  });

  it('keeps a report the controller refuses for its key, and sends it once the key is right', async () => {
    const wrong = await writeConf(
      tmp.path,
      SITE,
      controller.url,
      `TIMEOUT=5\nLEASES_FILE=${tmp.path}/dhcp.leases\n`,
    );
    await writeFile(wrong, (await readFile(wrong, 'utf8')).replace(/^API_KEY=.*$/m, 'API_KEY=not-the-key'));
    expect((await runScanner(wrong, path)).code).toBe(1);
    expect(await spooled(tmp.path)).toHaveLength(1);
    expect(await readFile(join(tmp.path, 'syslog'), 'utf8')).toMatch(/not delivered \(HTTP 401/);
    conf = await writeConf(
      tmp.path,
      SITE,
      controller.url,
      `TIMEOUT=5\nLEASES_FILE=${tmp.path}/dhcp.leases\n`,
    );
    expect((await runScanner(conf, path)).code).toBe(0);
    expect(await spooled(tmp.path)).toEqual([]);
  });

  it('keeps reports through a controller outage and delivers them all, in order, when it returns', async () => {
    await controller.close();
    // A device leaves while the controller is down: two scans see it missing (offline after 2 missed scans).
    await lab.exec(devices[2]!, ['ip', 'link', 'set', 'veth3b', 'down']);
    for (let i = 0; i < 2; i++) {
      expect((await runScanner(conf, path)).code).toBe(1);
      await new Promise((r) => setTimeout(r, 1100));
    }
    expect(await spooled(tmp.path)).toHaveLength(2);
    await start();
    expect((await runScanner(conf, path)).code).toBe(0);
    expect(await spooled(tmp.path)).toEqual([]);
    const found = await inventory();
    expect(found.find((d) => d.ip === `10.8.${SITE}.12`)?.online).toBe(false);
    expect(found.filter((d) => d.online)).toHaveLength(3);
    const site = (await api('GET', `/api/sites/${SITE}`)) as { site: { lastReportAt: string } };
    expect(site.site.lastReportAt).not.toBeNull();
    expect(await readFile(join(tmp.path, 'syslog'), 'utf8')).toMatch(/3 report\(s\) delivered; 0 waiting/);
    // Every report was sent from the spool: none was ever posted with the key on curl's command line.
    expect(await readFile(join(tmp.path, 'curl-argv'), 'utf8')).not.toContain(scannerKey(SITE));
  });
});
