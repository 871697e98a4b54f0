import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../src/controller/api-types';
import type { DeviceList } from '../src/devices/list';
import { ServerSentEventParser } from '../src/devices/server-sent-events';
import { runCli, spawnCliProcess } from './helpers/cli';
import { DEPLOYMENT } from './helpers/controller';
import { type DevicesBed, REGION_DEVICES, seedRegion, startDevicesBed } from './helpers/devices-deployment';
import { waitFor } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

/** Parses RFC 4180 CSV (quoted cells may hold commas, quotes and line breaks): the reader a script uses. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

describe('wavectl devices against a real controller and PostgreSQL', () => {
  let bed: DevicesBed;
  const cli = (args: string[]) => runCli(args, { cwd: bed.dir, env: bed.env });
  const listed = async (args: string[]) => {
    const run = await cli(['devices', '--json', ...args]);
    expect(run.stderr).not.toMatch(/wavectl:/);
    expect(run.code).toBe(0);
    return run.json<DeviceList>();
  };

  beforeAll(async () => {
    bed = await startDevicesBed(server, 'devices_cli');
    await bed.registerSites([1, 2, 3, 4, 5, 6]);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  it('lists what scanners of many sites reported, filtered by site and state, as JSON and a table', async () => {
    for (const site of [1, 2, 3]) {
      await bed.report(
        site,
        minutesAgo(50),
        [10, 11, 12].map((h) => ({
          ip: `10.8.${site}.${h}`,
          mac: `02:00:00:00:0${site}:${h}`,
          hostname: `host-${site}-${h}`,
        })),
      );
    }
    const all = await listed(['--sites', '1-3']);
    expect(all.count).toBe(9);
    expect(all.devices.map((d) => `${d.site}/${d.ip}`)).toEqual([
      '1/10.8.1.10',
      '1/10.8.1.11',
      '1/10.8.1.12',
      '2/10.8.2.10',
      '2/10.8.2.11',
      '2/10.8.2.12',
      '3/10.8.3.10',
      '3/10.8.3.11',
      '3/10.8.3.12',
    ]);
    expect((await listed(['--site', '2'])).devices.map((d) => d.ip)).toEqual([
      '10.8.2.10',
      '10.8.2.11',
      '10.8.2.12',
    ]);
    expect((await listed(['--mac', '02-00-00-00-03-11'])).devices.map((d) => d.hostname)).toEqual([
      'host-3-11',
    ]);
    const table = await cli(['devices', '--site', '1']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^site\s+ip\s+mac\s+vendor\s+hostname\s+first seen\s+last seen\s+state$/m);
    expect(table.stdout).toMatch(/^1\s+10\.8\.1\.10\s+02:00:00:00:01:10\s+-\s+host-1-10\s.*\sonline$/m);
    expect(table.stdout).toMatch(/3 device\(s\), 3 online, 0 offline/);
  });

  it('keeps a device that moved between sites once, on its new site, saying where it was', async () => {
    const mac = '02:00:00:00:aa:01';
    await bed.report(4, minutesAgo(40), [{ ip: '10.8.4.20', mac, hostname: 'laptop' }]);
    await bed.report(5, minutesAgo(30), [{ ip: '10.8.5.33', mac, hostname: 'laptop' }]);
    // Site 4's scanner is slow to send a scan older than the move: old news, not a move back.
    await bed.report(4, minutesAgo(35), [{ ip: '10.8.4.20', mac }]);
    // Site 4 scans without it afterwards: nothing of site 4 goes offline for it.
    const after = await bed.report(4, minutesAgo(20), []);
    expect(after.markedOffline).toBe(0);
    const found = await listed(['--mac', mac]);
    expect(found.devices).toHaveLength(1);
    expect(found.devices[0]).toMatchObject({ site: 5, ip: '10.8.5.33', previousSite: 4, online: true });
    const fresh = await listed(['--new-since', '45m']);
    expect(fresh.devices.filter((d) => d.mac === mac)).toHaveLength(1);
    expect(fresh.devices.every((d) => Date.parse(d.firstSeen) >= Date.now() - 46 * 60_000)).toBe(true);
    expect(fresh.devices.some((d) => d.site === 1)).toBe(false);
    const table = await cli(['devices', '--new-since', '45m']);
    expect(table.stdout).toMatch(/^5 \(was 4\)\s+10\.8\.5\.33\s+02:00:00:00:aa:01\s.*laptop/m);
    expect((await cli(['devices', '--new-since', 'yesterday'])).code).toBe(2);
  });

  it("marks a device offline after the site's missed-scan threshold, set per site with sites --set", async () => {
    const set = await cli(['sites', '--set', '6', '--offline-after', '3', '--json']);
    expect(set.code).toBe(0);
    expect(set.json()).toEqual({ site: 6, missedScans: 3, effective: 3 });
    const phone = { ip: '10.8.6.40', mac: '02:00:00:00:06:40', hostname: 'phone' };
    const printer = { ip: '10.8.6.41', mac: '02:00:00:00:06:41', hostname: 'printer' };
    await bed.report(6, minutesAgo(19), [phone, printer]);
    const states: string[] = [];
    for (const at of [18, 17, 16]) {
      await bed.report(6, minutesAgo(at), [printer]);
      const d = (await listed(['--mac', phone.mac])).devices[0]!;
      states.push(`${d.online ? 'online' : 'offline'}/${d.missedScans}`);
    }
    expect(states).toEqual(['online/1', 'online/2', 'offline/3']);
    expect((await listed(['--site', '6', '--offline'])).devices.map((d) => d.hostname)).toEqual(['phone']);
    expect((await listed(['--site', '6', '--online'])).devices.map((d) => d.hostname)).toEqual(['printer']);
    // Back to the default (2): the printer goes after two missed scans.
    expect((await cli(['sites', '--set', '6', '--offline-after', 'default', '--json'])).json()).toEqual({
      site: 6,
      missedScans: null,
      effective: 2,
    });
    await bed.report(6, minutesAgo(15), [phone]);
    await bed.report(6, minutesAgo(14), [phone]);
    const six = await listed(['--site', '6']);
    expect(six.devices.map((d) => `${d.hostname}:${d.online ? 'online' : 'offline'}`)).toEqual([
      'phone:online',
      'printer:offline',
    ]);
    const table = await cli(['devices', '--site', '6']);
    expect(table.stdout).toMatch(/phone\s.*\sonline$/m);
    expect((await cli(['sites', '--set', '99', '--offline-after', '3'])).code).toBe(1);
    expect((await cli(['sites', '--set', '6', '--offline-after', '0'])).code).toBe(2);
    expect((await cli(['sites', '--set', '6'])).code).toBe(2);
  });

  it('writes CSV that neither a spreadsheet formula nor a quote in a hostname can break', async () => {
    const hostile = ['=HYPERLINK("http://x","y")', '+SUM(1,2)', '-2+3', '@cmd', 'a,b "quoted"', 'plain-host'];
    await bed.report(
      3,
      minutesAgo(10),
      hostile.map((hostname, i) => ({ ip: `10.8.3.${100 + i}`, mac: `02:00:00:00:3c:${10 + i}`, hostname })),
    );
    const run = await cli(['devices', '--site', '3', '--csv']);
    expect(run.code).toBe(0);
    const rows = parseCsv(run.stdout);
    expect(rows[0]).toEqual([
      'site',
      'ip',
      'mac',
      'vendor',
      'hostname',
      'first_seen',
      'last_seen',
      'state',
      'missed_scans',
      'previous_site',
      'moved_at',
    ]);
    expect(rows.every((r) => r.length === 11)).toBe(true);
    const byIp = new Map(rows.slice(1).map((r) => [r[1], r[4]]));
    expect(hostile.map((_, i) => byIp.get(`10.8.3.${100 + i}`))).toEqual([
      `'=HYPERLINK("http://x","y")`,
      "'+SUM(1,2)",
      "'-2+3",
      "'@cmd",
      'a,b "quoted"',
      'plain-host',
    ]);
    expect(rows.slice(1).every((r) => !/^[=+\-@]/.test(r[4] ?? ''))).toBe(true);
    expect((await cli(['devices', '--csv', '--json'])).code).toBe(2);
  });

  it('refuses bad options in one line with exit 2', async () => {
    for (const args of [
      ['--site', '1', '--sites', '2'],
      ['--online', '--offline'],
      ['--mac', 'nope'],
      ['--sites', '3-1'],
      ['--site', '256'],
    ]) {
      const run = await cli(['devices', ...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('paging the inventory of a full region (256 sites × 254 devices)', () => {
  let bed: DevicesBed;
  const FULL = REGION_DEVICES;

  beforeAll(async () => {
    bed = await startDevicesBed(server, 'devices_region');
    await seedRegion(bed);
  }, 120_000);
  afterAll(async () => {
    await bed?.stop();
  });

  it('follows the cursor through every device once, in (site, ip) order', async () => {
    const started = Date.now();
    const run = await runCli(['devices', '--json'], { cwd: bed.dir, env: bed.env });
    const elapsed = Date.now() - started;
    expect(run.code).toBe(0);
    const list = run.json<DeviceList>();
    expect(list.count).toBe(FULL);
    expect(list.pages).toBe(Math.ceil(FULL / 5000));
    const keys = list.devices.map((d) => `${d.site}/${d.ip}`);
    expect(new Set(keys).size).toBe(FULL);
    const rank = (d: Device) => d.site * 256 + Number(d.ip.split('.')[3]);
    expect(list.devices.every((d, i) => i === 0 || rank(list.devices[i - 1]!) < rank(d))).toBe(true);
    expect(list.offline).toBe(256 * 36);
    // Generous: the figure that counts is bench/devices.sh's; this only catches a pathological regression.
    expect(elapsed).toBeLessThan(30_000);
  });

  it('bounds the page size, refuses a forged cursor, and keeps its place while devices are added', async () => {
    expect((await bed.api('GET', '/api/devices?limit=0')).status).toBe(400);
    expect((await bed.api('GET', '/api/devices?limit=5001')).status).toBe(400);
    expect((await bed.api('GET', '/api/devices?after=bm90LWEtY3Vyc29y')).status).toBe(400);
    expect((await bed.api('GET', '/api/devices?sites=1,300')).status).toBe(400);
    const first = (await (await bed.api('GET', '/api/devices?site=7&limit=100')).json()) as {
      devices: Device[];
      next: string;
    };
    expect(first.devices).toHaveLength(100);
    expect(first.devices.at(-1)?.ip).toBe('10.8.7.100');
    // A device appearing before the cursor does not shift the next page.
    await bed.report(7, new Date(), [{ ip: '10.8.7.255', mac: '02:00:00:00:07:ff' }]);
    const second = (await (
      await bed.api('GET', `/api/devices?site=7&limit=200&after=${first.next}`)
    ).json()) as { devices: Device[]; next: string | null };
    expect(second.devices.map((d) => d.ip).slice(0, 2)).toEqual(['10.8.7.101', '10.8.7.102']);
    expect(second.devices.at(-1)?.ip).toBe('10.8.7.255');
    expect(second.next).toBeNull();
  });
});

describe('wavectl devices watch: events from PostgreSQL LISTEN/NOTIFY, streamed by the controller', () => {
  let bed: DevicesBed;

  beforeAll(async () => {
    bed = await startDevicesBed(server, 'devices_watch');
    await bed.registerSites([1, 2]);
  });
  afterAll(async () => {
    await bed?.stop();
  });

  /** The built binary, as an operator runs it; lines of stdout as they arrive. */
  function spawnWatch(args: string[]) {
    const run = spawnCliProcess(['devices', 'watch', ...args], { cwd: bed.dir, env: bed.env, noStdin: true });
    const exited = new Promise<number | null>((resolve) => run.child.on('exit', (code) => resolve(code)));
    return { ...run, exited, lines: () => run.stdout().split('\n').filter(Boolean) };
  }

  it('prints new, missing, returning and moved devices as they are recorded, and ends cleanly on Ctrl-C', async () => {
    const watch = spawnWatch(['--json', '--verbose']);
    try {
      await waitFor('the watch to connect', async () => {
        if (!watch.stderr().includes('watching devices')) throw new Error(watch.stderr() || 'not yet');
      });
      const tv = { ip: '10.8.1.50', mac: '02:00:00:00:01:50', hostname: 'tv' };
      const nas = { ip: '10.8.1.51', mac: '02:00:00:00:01:51', hostname: 'nas' };
      await bed.report(1, minutesAgo(10), [tv, nas]);
      await bed.report(1, minutesAgo(9), [nas]);
      await bed.report(1, minutesAgo(8), [nas]); // tv missed 2 scans: missing
      await bed.report(1, minutesAgo(7), [tv, nas]); // back
      await bed.report(2, minutesAgo(6), [{ ip: '10.8.2.77', mac: nas.mac, hostname: 'nas' }]);
      await waitFor('five events', async () => {
        if (watch.lines().length < 5) throw new Error(watch.stdout());
      });
      const events = watch.lines().map((l) => JSON.parse(l));
      expect(events.map((e) => `${e.kind} ${e.site} ${e.hostname}`)).toEqual([
        'new 1 tv',
        'new 1 nas',
        'missing 1 tv',
        'returning 1 tv',
        'moved 2 nas',
      ]);
      expect(events[4]).toMatchObject({ previousSite: 1, ip: '10.8.2.77' });
      expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
      watch.child.kill('SIGINT');
      expect(await watch.exited).toBe(0);
    } finally {
      watch.child.kill('SIGKILL');
    }
  });

  it('prints lines for people, filtered by site', async () => {
    const watch = spawnWatch(['--site', '2']);
    try {
      await waitFor('the watch to connect', async () => {
        if (!watch.stderr().includes('watching devices')) throw new Error(watch.stderr() || 'not yet');
      });
      await bed.report(1, minutesAgo(5), [{ ip: '10.8.1.60', mac: '02:00:00:00:01:60', hostname: 'cam' }]);
      await bed.report(2, minutesAgo(5), [{ ip: '10.8.2.61', mac: '02:00:00:00:02:61', hostname: 'door' }]);
      await waitFor('the site 2 event', async () => {
        if (!watch.stdout().includes('door')) throw new Error(watch.stdout());
      });
      expect(watch.lines()).toHaveLength(1);
      expect(watch.lines()[0]).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}new {8}site 2 {2}10\.8\.2\.61 {2}02:00:00:00:02:61 {2}- {2}door$/,
      );
      watch.child.kill('SIGTERM');
      expect(await watch.exited).toBe(0);
      expect(watch.stderr()).toMatch(/stopped: 1 event\(s\)/);
    } finally {
      watch.child.kill('SIGKILL');
    }
  });

  it('resumes after the Last-Event-ID it was given, without reading the inventory', async () => {
    const stop = new AbortController();
    const res = await fetch(`${bed.controller.url}/api/devices/events`, {
      headers: { ...DEPLOYMENT, 'last-event-id': '2' },
      signal: stop.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const parser = new ServerSentEventParser();
    const seen: string[] = [];
    const giveUp = setTimeout(() => stop.abort(), 20_000);
    while (seen.length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const e of parser.push(new TextDecoder().decode(value))) seen.push(e.id!);
    }
    clearTimeout(giveUp);
    stop.abort();
    expect(seen.slice(0, 3)).toEqual(['3', '4', '5']);
  });

  it('says at once that it needs controller.url when the controller is reached through the SSM relay', async () => {
    const config = JSON.parse(await readFile(join(bed.dir, 'wavectl.json'), 'utf8'));
    const relayDir = await makeTempDir('wavectl-relay-');
    try {
      await writeFile(join(relayDir.path, 'wavectl.json'), JSON.stringify({ ...config, controller: {} }));
      const run = await runCli(['devices', 'watch'], { cwd: relayDir.path, env: bed.env });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^wavectl: devices watch needs controller\.url in wavectl\.json/);
    } finally {
      await relayDir.remove();
    }
  });
});
