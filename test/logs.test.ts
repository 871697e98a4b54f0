import { execFileSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors';
import { redactLine } from '../src/logs/redact';
import { type LogTarget, parseLogsOutput, parseSince, renderLogsScript } from '../src/logs/script';
import { runCli } from './helpers/cli';
import { initDeployment, PROFILE } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

const API_KEY = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWpr';
const WG_KEY = 'aGVsbG8td29ybGQtd2lyZWd1YXJkLXByaXZhdGUta2V5PQ=';

describe('log redaction', () => {
  it('masks known secret values and the shapes that carry one', () => {
    const cases: [string, string][] = [
      [`curl -H X-API-Key: ${API_KEY} http://x`, 'curl -H X-API-Key: [redacted] http://x'],
      [`{"x-api-key":"${API_KEY}","ok":1}`, '{"x-api-key":"[redacted]","ok":1}'],
      [`PrivateKey = ${WG_KEY}`, 'PrivateKey = [redacted]'],
      ['WAVESHIFT_API_KEY=abc123', 'WAVESHIFT_API_KEY=[redacted]'],
      ['{"username":"ada","password":"hunter2hunter2"}', '{"username":"ada","password":"[redacted]"}'],
      ['Authorization: Bearer tok.en', 'Authorization: Bearer [redacted]'],
      [`restored key ${API_KEY} in a free-form line`, 'restored key [redacted] in a free-form line'],
      ['GET /api/sites 200 12ms', 'GET /api/sites 200 12ms'],
    ];
    for (const [line, expected] of cases) expect(redactLine(line, [API_KEY]), line).toBe(expected);
  });

  it('parses --since', () => {
    expect([parseSince('90s'), parseSince('30m'), parseSince('1h'), parseSince('2d')]).toEqual([
      90, 1800, 3600, 172800,
    ]);
    for (const bad of ['1', 'h', '1w', '-1h', '']) expect(() => parseSince(bad), bad).toThrow(UsageError);
  });
});

/**
 * The rendered script run by dash, as the SSM agent runs it, with journalctl, docker and date stand-ins
 * on PATH that print the arguments they were given and lines holding secrets.
 */
describe('the logs script under dash', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let bin: string;
  const run = (target: LogTarget, position?: { cursor?: string; epoch?: number }) =>
    execFileSync('dash', ['-c', renderLogsScript(target, { sinceSeconds: 3600, lines: 50, position })], {
      env: { PATH: `${bin}:/usr/bin:/bin` },
    }).toString();

  beforeAll(async () => {
    tmp = await makeTempDir();
    bin = join(tmp.path, 'bin');
    await mkdir(bin);
    const tools: Record<string, string> = {
      journalctl: [
        '#!/bin/sh',
        'echo "2026-01-01T00:00:00+0000 host node[1]: journalctl $*"',
        `echo "2026-01-01T00:00:01+0000 host curl[2]: -H X-API-Key: ${API_KEY}"`,
        `echo "2026-01-01T00:00:02+0000 host wg[3]: private_key=${WG_KEY}"`,
        'echo "-- cursor: s=abc;i=2f;b=00"',
      ].join('\n'),
      docker: [
        '#!/bin/sh',
        'if [ "$1" = ps ]; then printf "kasm_api\\nkasm_proxy\\nunrelated\\n"; exit 0; fi',
        'echo "docker $*"',
        'echo \'{"password":"kasm-secret-value"}\'',
      ].join('\n'),
      date: '#!/bin/sh\necho 1767225600',
    };
    for (const [name, body] of Object.entries(tools)) {
      await writeFile(join(bin, name), `${body}\n`);
      await chmod(join(bin, name), 0o755);
    }
  });
  afterAll(() => tmp?.remove());

  it('reads the controller units, masks secrets on the instance, and reports where it stopped', () => {
    const out = run({ kind: 'controller' });
    expect(out).not.toContain(API_KEY);
    expect(out).not.toContain(WG_KEY);
    const { lines, position } = parseLogsOutput(out);
    expect(lines).toEqual([
      '2026-01-01T00:00:00+0000 host node[1]: journalctl --no-pager -o short-iso -u waveshift-controller -u postgresql --since -3600s -n 50 --show-cursor',
      '2026-01-01T00:00:01+0000 host curl[2]: -H X-API-Key: [redacted]',
      '2026-01-01T00:00:02+0000 host wg[3]: private_key=[redacted]',
    ]);
    expect(position).toEqual({ cursor: 's=abc;i=2f;b=00', epoch: 1767225600 });
  });

  it('adds the kasm_* containers for Kasm, and a follow-up poll starts where the last one ended', () => {
    const first = parseLogsOutput(run({ kind: 'kasm' }));
    expect(first.lines.filter((l) => l.startsWith('kasm_'))).toEqual([
      'kasm_api: docker logs --timestamps --since 1767222000 --tail 50 kasm_api',
      'kasm_api: {"password":"[redacted]"}',
      'kasm_proxy: docker logs --timestamps --since 1767222000 --tail 50 kasm_proxy',
      'kasm_proxy: {"password":"[redacted]"}',
    ]);
    const next = parseLogsOutput(run({ kind: 'kasm' }, first.position), first.position);
    expect(next.lines[0]).toContain('--after-cursor s=abc;i=2f;b=00 --show-cursor');
    expect(next.lines).toContain('kasm_api: docker logs --timestamps --since 1767225600 kasm_api');
    expect(run({ kind: 'access-server', index: 2 })).toContain('-u waveshift-wireguard --since');
  });

  it('refuses a cursor that could break out of its quotes', () => {
    expect(() =>
      renderLogsScript(
        { kind: 'controller' },
        { sinceSeconds: 1, lines: 1, position: { cursor: "x'; rm -rf /" } },
      ),
    ).toThrow(RangeError);
  });
});

describe('wavectl logs under the emulator', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  beforeAll(async () => {
    [moto, tmp] = await Promise.all([startMoto(), makeTempDir()]);
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-east-1'));
    dir = await initDeployment(tmp.path, 'logs', 'us-east-1');
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });
  const logs = (...args: string[]) =>
    runCli(['logs', ...args, '--endpoint-url', moto.endpoint], { cwd: dir });

  it('says at once that no command runs there, and what to do instead', async () => {
    const started = Date.now();
    const run = await logs('controller', '--since', '2h');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr.trim()).toMatch(
      /^wavectl: under an AWS emulator no SSM command runs on instances, so there is no controller log to read: .*wavectl controller serve/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses bad targets and options with one line, exit 2', async () => {
    for (const args of [
      ['router'],
      ['access-server'],
      ['kasm', '3'],
      ['controller', '--since', '1w'],
      ['controller', '--lines', '0'],
    ]) {
      const run = await logs(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
