import { describe, expect, it } from 'vitest';
import type { Device } from '../src/controller/api-types';
import { decodeCursor, encodeCursor } from '../src/controller/routes/devices/cursor';
import { deviceState, renderDeviceCsv, renderDeviceEvent } from '../src/devices/render';
import { devicePageQuery, deviceSelection, parseDuration } from '../src/devices/selection';
import { ServerSentEventParser } from '../src/devices/server-sent-events';
import { UsageError } from '../src/errors';
import { csvCell } from '../src/export/csv';
import { printable } from '../src/io/printable';
import { renderDriftItem, showUciValue, tunnelState } from '../src/router/drift';

const device = (over: Partial<Device> = {}): Device => ({
  site: 3,
  ip: '10.8.3.10',
  mac: '02:00:00:00:00:01',
  hostname: 'host',
  vendor: null,
  online: true,
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-02T00:00:00.000Z',
  missedScans: 0,
  previousSite: null,
  movedAt: null,
  ...over,
});

describe('CSV of hostile hostnames', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+SUM(A1)', "'+SUM(A1)"],
    ['-3', "'-3"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=a,"b"', `"'=a,""b"""`],
    ['plain', 'plain'],
  ])('%j becomes %j', (input, cell) => {
    expect(csvCell(input)).toBe(cell);
  });

  it('leaves numbers and empty cells alone, and ends every row with CRLF', () => {
    expect(csvCell(-1)).toBe('-1');
    expect(csvCell(null)).toBe('');
    const text = renderDeviceCsv([device({ hostname: 'x\r\ny' }), device({ mac: null, hostname: null })]);
    expect(text.split('\r\n')).toHaveLength(5); // header, a row whose cell holds CRLF (quoted), a row, ''
    expect(text).toContain('"x\r\ny"');
    expect(text.endsWith('\r\n')).toBe(true);
  });
});

describe('terminal output of device and router values', () => {
  it('shows control characters as \\xNN and shortens long values', () => {
    expect(printable('evil\u001b[2Jhost')).toBe('evil\\x1b[2Jhost');
    expect(printable('a\nb\u0085c\u2028')).toBe('a\\x0ab\\x85c\\x2028');
    expect(printable('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(printable(null)).toBe('-');
  });

  it('renders a watch line and a device state', () => {
    expect(
      renderDeviceEvent({
        id: 1,
        at: '2026-01-01T10:11:12.000Z',
        kind: 'moved',
        site: 4,
        previousSite: 3,
        ip: '10.8.4.9',
        mac: null,
        hostname: 'ph\u0007one',
        vendor: null,
      }),
    ).toBe('2026-01-01 10:11:12  moved      site 4 (from 3)  10.8.4.9  -  -  ph\\x07one');
    expect(deviceState({ online: true, missedScans: 1 })).toBe('online (missed 1)');
    expect(deviceState({ online: false, missedScans: 2 })).toBe('offline');
  });
});

describe('devices options', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it('parses time windows and refuses anything else', () => {
    expect(parseDuration('--new-since', '24h')).toBe(86_400_000);
    expect(parseDuration('--new-since', '90s')).toBe(90_000);
    expect(parseDuration('--new-since', '2w')).toBe(14 * 86_400_000);
    for (const bad of ['0h', '24', 'h', '1y', '-1h', '1.5h', '']) {
      expect(() => parseDuration('--new-since', bad)).toThrow(UsageError);
    }
  });

  it('turns options into the controller query', () => {
    const selection = deviceSelection(
      { sites: '0-2,12', offline: true, newSince: '1h', mac: 'AA-BB-CC-DD-EE-FF' },
      now,
    );
    expect(devicePageQuery(selection, 5000, 'abc').toString()).toBe(
      'sites=0%2C1%2C2%2C12&online=false&mac=aa%3Abb%3Acc%3Add%3Aee%3Aff&firstSeenSince=2026-03-01T11%3A00%3A00.000Z&limit=5000&after=abc',
    );
    expect(devicePageQuery(deviceSelection({}, now), 10).toString()).toBe('limit=10');
  });

  it('refuses contradictions', () => {
    expect(() => deviceSelection({ online: true, offline: true }, now)).toThrow(UsageError);
    expect(() => deviceSelection({ site: '1', sites: '2' }, now)).toThrow(UsageError);
    expect(() => deviceSelection({ site: '1a' }, now)).toThrow(UsageError);
    expect(() => deviceSelection({ mac: '00:11' }, now)).toThrow(UsageError);
  });
});

describe('paging cursor', () => {
  it('round-trips and refuses what it did not write', () => {
    const cursor = { site: 255, ip: '10.8.255.254', id: 123456 };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    for (const forged of [
      'x',
      Buffer.from('[1,"10.8.1.1"]').toString('base64url'),
      Buffer.from('[256,"10.8.1.1",1]').toString('base64url'),
      Buffer.from('[1,"1.1.1.1\'; drop",1]').toString('base64url'),
      Buffer.from('[1,"10.8.1.1",-1]').toString('base64url'),
    ]) {
      expect(() => decodeCursor(forged)).toThrow(/not a cursor/);
    }
  });
});

describe('server-sent events parser', () => {
  const stream =
    ': hello\r\nretry: 2000\r\n\r\nid: 7\r\nevent: device\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: x\n\nid: 9\rdata:y\r\r\n';

  it('gives the same events however the stream is cut', () => {
    const whole = new ServerSentEventParser().push(stream);
    expect(whole).toEqual([
      { id: '7', event: 'device', data: '{"a":\n1}' },
      { id: '7', event: 'message', data: 'x' },
      { id: '9', event: 'message', data: 'y' },
    ]);
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new ServerSentEventParser();
      const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual(whole);
      expect(parser.lastEventId).toBe('9');
    }
  });
});

describe('drift lines', () => {
  it('print uci values as uci shows them, hostile ones quoted and made visible', () => {
    expect(showUciValue('10.8.3.1')).toBe('10.8.3.1');
    expect(showUciValue(['10.0.0.0/16', '10.9.0.0/24'])).toBe('10.0.0.0/16 10.9.0.0/24');
    expect(showUciValue('a b\u001b')).toBe("'a b\\x1b'");
    expect(showUciValue(undefined)).toBeNull();
    expect(
      renderDriftItem({
        resource: 'network.lan.ipaddr',
        expected: '10.8.3.1',
        found: '192.168.8.1',
        note: 'edited on the router',
        repaired: true,
      }),
    ).toBe('network.lan.ipaddr: 10.8.3.1 → 192.168.8.1 (edited on the router)');
  });

  it('says when the tunnel last shook hands', () => {
    expect(tunnelState({ handshakeAt: 0, now: 100 }, 180)).toEqual({
      state: 'never',
      handshakeAgeSeconds: null,
    });
    expect(tunnelState({ handshakeAt: 1000, now: 1100 }, 180)).toEqual({
      state: 'up',
      handshakeAgeSeconds: 100,
    });
    expect(tunnelState({ handshakeAt: 1000, now: 2000 }, 180)).toEqual({
      state: 'stale',
      handshakeAgeSeconds: 1000,
    });
  });
});
