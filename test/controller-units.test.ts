import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/controller/app';
import { API_KEY_GENERATOR, apiKeyProblem, MIN_API_KEY_LENGTH } from '../src/controller/auth/api-key-policy';
import { hashPassword, verifyPassword } from '../src/controller/auth/passwords';
import { hashScannerKey, sameKeyHash } from '../src/controller/auth/scanner-key';
import { controllerEnv } from '../src/controller/config';
import { databaseErrorSummary, isConnectionFailure } from '../src/controller/db/connection-failure';
import { checksum } from '../src/controller/db/migrate';
import { MIGRATIONS } from '../src/controller/db/migrations';
import {
  ApiError,
  DATABASE_RETRY_AFTER_SECONDS,
  errorResponse,
  TRANSIENT_RETRY_AFTER_SECONDS,
} from '../src/controller/http-errors';
import { isInSite, normaliseReport } from '../src/controller/ingest/report';
import { vendorOf } from '../src/controller/ingest/vendor';

describe('scanner key hash (shared with wavectl site registration)', () => {
  it('is the lowercase hex SHA-256 of the key string', () => {
    const key = 'k3y_-base64url';
    expect(hashScannerKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashScannerKey(key)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('compares digests in constant time and refuses malformed ones', () => {
    const a = hashScannerKey('a');
    expect(sameKeyHash(a, a)).toBe(true);
    expect(sameKeyHash(a, hashScannerKey('b'))).toBe(false);
    expect(sameKeyHash(a, a.slice(0, 62))).toBe(false);
    expect(sameKeyHash('', '')).toBe(false);
  });
});

describe('passwords', () => {
  it('hashes with scrypt and a random salt, and verifies', async () => {
    const one = await hashPassword('correct horse battery');
    const two = await hashPassword('correct horse battery');
    expect(one).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(one).not.toBe(two);
    expect(await verifyPassword('correct horse battery', one)).toBe(true);
    expect(await verifyPassword('correct horse batterY', one)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });
});

describe('normaliseReport', () => {
  const at = '2026-03-01T10:00:00Z';
  it('keys devices by MAC (lower-case, colons) or by address', () => {
    const r = normaliseReport(7, {
      scannedAt: at,
      devices: [
        { ip: '10.8.7.20', mac: 'AA-BB-CC-00-11-22', hostname: ' nas ' },
        { ip: '10.8.7.21', hostname: '' },
      ],
    });
    expect(r.scannedAt.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(r.devices).toEqual([
      { key: 'aa:bb:cc:00:11:22', ip: '10.8.7.20', mac: 'aa:bb:cc:00:11:22', hostname: 'nas' },
      { key: 'ip:10.8.7.21', ip: '10.8.7.21', mac: null, hostname: null },
    ]);
  });
  it('keeps the last entry of a device listed twice', () => {
    const r = normaliseReport(1, {
      scannedAt: at,
      devices: [
        { ip: '10.8.1.5', mac: 'aa:aa:aa:aa:aa:aa' },
        { ip: '10.8.1.9' },
        { ip: '10.8.1.6', mac: 'AA:AA:AA:AA:AA:AA' },
        { ip: '10.8.1.9', hostname: 'again' },
      ],
    });
    expect(r.devices.map((d) => [d.key, d.ip, d.hostname])).toEqual([
      ['aa:aa:aa:aa:aa:aa', '10.8.1.6', null],
      ['ip:10.8.1.9', '10.8.1.9', 'again'],
    ]);
  });
  it('drops a MAC-less entry for an address that a MAC entry reports too', () => {
    const r = normaliseReport(1, {
      scannedAt: at,
      devices: [{ ip: '10.8.1.5' }, { ip: '10.8.1.5', mac: 'aa:aa:aa:aa:aa:01' }],
    });
    expect(r.devices.map((d) => d.key)).toEqual(['aa:aa:aa:aa:aa:01']);
  });
  it("refuses addresses outside the site's /24, bad MACs and bad times", () => {
    expect(() => normaliseReport(2, { scannedAt: at, devices: [{ ip: '10.8.3.4' }] })).toThrow(
      /not inside site 2/,
    );
    expect(() => normaliseReport(2, { scannedAt: at, devices: [{ ip: '10.8.2.4', mac: 'zz' }] })).toThrow(
      ApiError,
    );
    expect(() => normaliseReport(2, { scannedAt: 'yesterday', devices: [] })).toThrow(/ISO-8601/);
  });
  it('refuses a scan time more than 10 minutes ahead of the controller', () => {
    const now = new Date('2026-03-01T10:00:00Z');
    expect(() => normaliseReport(2, { scannedAt: '2026-03-01T10:11:00Z', devices: [] }, now)).toThrow(/NTP/);
    expect(normaliseReport(2, { scannedAt: '2026-03-01T10:09:00Z', devices: [] }, now).devices).toEqual([]);
    expect(normaliseReport(2, { scannedAt: '1970-01-01T00:00:00Z', devices: [] }, now).devices).toEqual([]);
  });
  it('checks site membership exactly', () => {
    expect(isInSite('10.8.0.1', 0)).toBe(true);
    expect(isInSite('10.8.255.254', 255)).toBe(true);
    expect(isInSite('10.8.25.1', 2)).toBe(false);
    expect(isInSite('10.8.2.256', 2)).toBe(false);
    expect(isInSite('110.8.2.1', 2)).toBe(false);
    expect(isInSite('10.8.2', 2)).toBe(false);
  });
});

describe('vendorOf', () => {
  const table = {
    '00000C': 'Cisco Systems, Inc\n170 West Tasman Dr.\nSan Jose CA 95134\nUS',
    F4F5D8: 'Google, Inc.',
  };
  it('names the organisation of the OUI, first line only', () => {
    expect(vendorOf('00:00:0c:01:02:03', table)).toBe('Cisco Systems, Inc');
    expect(vendorOf('f4:f5:d8:aa:bb:cc', table)).toBe('Google, Inc.');
  });
  it('has no vendor for unknown, missing or locally administered addresses', () => {
    expect(vendorOf('00:11:22:33:44:55', table)).toBeNull();
    expect(vendorOf(null, table)).toBeNull();
    expect(vendorOf('02:00:0c:01:02:03', table)).toBeNull();
    expect(vendorOf('zz', table)).toBeNull();
  });
});

describe('errorResponse', () => {
  it('passes API errors through with their code', () => {
    expect(errorResponse(new ApiError(409, 'conflict', 'busy'), 'r1')).toEqual({
      statusCode: 409,
      body: { error: { code: 'conflict', message: 'busy', requestId: 'r1' } },
    });
  });
  it('hides the detail of unexpected failures', () => {
    const sqlError = Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' });
    expect(errorResponse(sqlError, 'r2')).toEqual({
      statusCode: 500,
      body: { error: { code: 'internal_error', message: 'internal error', requestId: 'r2' } },
    });
    expect(errorResponse(undefined, 'r3').statusCode).toBe(500);
  });
  it('maps constraint violations to 409/400 without their SQL text', () => {
    const unique = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      code: '23505',
    });
    expect(errorResponse(unique, 'r').body.error).toEqual({
      code: 'conflict',
      message: 'the change conflicts with existing data',
      requestId: 'r',
    });
    expect(errorResponse(Object.assign(new Error('check'), { code: '23514' }), 'r').statusCode).toBe(400);
  });
  it('answers 503 database_unavailable with Retry-After when the database is down, restarting or frozen', () => {
    const failures = [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new Error('Client has encountered a connection error and is not queryable'),
    ];
    for (const failure of failures) {
      expect(isConnectionFailure(failure)).toBe(true);
      expect(errorResponse(failure, 'r')).toEqual({
        statusCode: 503,
        retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
        body: {
          error: {
            code: 'database_unavailable',
            message: 'the database is unavailable; retry shortly',
            requestId: 'r',
          },
        },
      });
    }
    for (const notAFailure of [
      Object.assign(new Error('syntax error'), { code: '42601' }),
      Object.assign(new Error('invalid byte sequence'), { code: '22021' }),
      new Error('Connection to the moon'),
      'ECONNREFUSED',
      null,
    ]) {
      expect(isConnectionFailure(notAFailure)).toBe(false);
    }
  });
  it('answers 503 transaction_conflict with a short Retry-After for a deadlock or serialization failure', () => {
    for (const code of ['40P01', '40001']) {
      expect(errorResponse(Object.assign(new Error('deadlock detected'), { code }), 'r')).toEqual({
        statusCode: 503,
        retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS,
        body: {
          error: {
            code: 'transaction_conflict',
            message: 'the change collided with a concurrent one; send it again',
            requestId: 'r',
          },
        },
      });
    }
  });
  it('logs a database error without the client pg-pool attaches to it', () => {
    const error = Object.assign(new Error('Connection terminated unexpectedly'), {
      client: { processID: 42, secretKey: 123456789, connectionParameters: { password: 'x' } },
    });
    const summary = databaseErrorSummary(error);
    expect(summary).toMatchObject({ type: 'Error', message: 'Connection terminated unexpectedly' });
    expect(JSON.stringify(summary)).not.toMatch(/secretKey|processID|password/);
  });
  it("keeps Fastify's client errors (validation, size, rate) with a stable code", () => {
    expect(
      errorResponse({ statusCode: 413, message: 'Request body is too large' }, 'r').body.error.code,
    ).toBe('payload_too_large');
    expect(
      errorResponse({ statusCode: 400, message: 'body/name must be string' }, 'r').body.error,
    ).toMatchObject({
      code: 'bad_request',
      message: 'body/name must be string',
    });
    expect(errorResponse({ statusCode: 503, message: 'secret detail' }, 'r').body.error.message).not.toMatch(
      /secret/,
    );
  });
});

describe('the deployment API key policy', () => {
  it('takes a generated key and refuses a short, spaced or non-ASCII one, naming a generator', () => {
    expect(apiKeyProblem(randomBytes(32).toString('base64url'), 'K')).toBeUndefined();
    expect(apiKeyProblem(randomBytes(32).toString('base64'), 'K')).toBeUndefined();
    expect(apiKeyProblem('x'.repeat(MIN_API_KEY_LENGTH), 'K')).toBeUndefined();
    expect(apiKeyProblem(undefined, 'K')).toMatch(/^K is not set/);
    for (const bad of [
      'x'.repeat(MIN_API_KEY_LENGTH - 1),
      'a key with spaces inside',
      `${'x'.repeat(20)}\u00e9`,
    ]) {
      expect(apiKeyProblem(bad, 'K')).toContain(`generate one with \`${API_KEY_GENERATOR}\``);
    }
  });
  it('is enforced by buildApp itself, before any database is touched', async () => {
    await expect(buildApp({ apiKey: 'short', databaseUrl: 'postgres://127.0.0.1:1/none' })).rejects.toThrow(
      /too short/,
    );
  });
});

describe('controllerEnv', () => {
  const key = { WAVESHIFT_API_KEY: 'a-long-enough-deployment-key' };
  it('refuses to start without an API key', () => {
    expect(() => controllerEnv({}, { host: '0.0.0.0' })).toThrow(/WAVESHIFT_API_KEY is not set/);
    expect(() => controllerEnv({ WAVESHIFT_API_KEY: 'short' }, { host: '0.0.0.0' })).toThrow(/too short/);
  });
  it('reads defaults and overrides', () => {
    expect(controllerEnv(key, { host: '0.0.0.0' })).toEqual({
      apiKey: key.WAVESHIFT_API_KEY,
      databaseUrl: undefined,
      host: '0.0.0.0',
      port: 8080,
      offlineAfterMissedScans: 2,
      dataDir: undefined,
    });
    expect(
      controllerEnv(
        {
          ...key,
          DATABASE_URL: 'postgres://u@h/db',
          PORT: '9000',
          HOST: '127.0.0.1',
          WAVESHIFT_OFFLINE_AFTER_MISSED_SCANS: '1',
        },
        { host: '0.0.0.0' },
      ),
    ).toMatchObject({
      databaseUrl: 'postgres://u@h/db',
      port: 9000,
      host: '127.0.0.1',
      offlineAfterMissedScans: 1,
    });
  });
  it('says which variable is wrong', () => {
    expect(() => controllerEnv({ ...key, PORT: 'http' }, { host: 'h' })).toThrow(/PORT must be an integer/);
    expect(() => controllerEnv({ ...key, DATABASE_URL: 'mysql://x' }, { host: 'h' })).toThrow(
      /postgres:\/\//,
    );
    expect(() => controllerEnv({ ...key, WAVESHIFT_OFFLINE_AFTER_MISSED_SCANS: '0' }, { host: 'h' })).toThrow(
      /OFFLINE_AFTER/,
    );
  });
});

describe('migrations', () => {
  it('are numbered from 1 without gaps and have stable checksums', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    for (const m of MIGRATIONS) expect(checksum(m)).toMatch(/^[0-9a-f]{64}$/);
  });
});
