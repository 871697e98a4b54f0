import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/controller/app';
import { unknownUsernameTarget } from '../src/controller/auth/unknown-username';
import { accessServerInput, asScanner, DEPLOYMENT, siteInput, TEST_API_KEY } from './helpers/controller';
import { type PostgresServer, startPostgres } from './helpers/postgres';

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(() => pg?.stop());

/** Every endpoint of the contract (briefs/controller-api.md) against a real PostgreSQL, through inject(). */
describe('controller API', () => {
  let app: FastifyInstance;
  const call = (
    method: string,
    url: string,
    payload?: unknown,
    headers: Record<string, string> = DEPLOYMENT,
  ) =>
    app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  beforeAll(async () => {
    app = await buildApp({
      databaseUrl: await pg.createDatabase('api'),
      apiKey: TEST_API_KEY,
      authRateLimit: { max: 1000, timeWindowMs: 60_000 },
    });
  });
  afterAll(() => app?.close());

  describe('health and OpenAPI', () => {
    it('answers /health without a key', async () => {
      const res = await app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        status: 'ok',
        version: expect.any(String),
        uptimeSeconds: expect.any(Number),
        database: 'ok',
      });
    });

    it('answers 503 on /health while the database is unreachable', async () => {
      const url = await pg.createDatabase('unhealthy');
      const sick = await buildApp({ databaseUrl: url, apiKey: TEST_API_KEY });
      const admin = new (await import('pg')).default.Client({ connectionString: pg.url });
      await admin.connect();
      try {
        await admin.query('alter database unhealthy allow_connections false');
        await admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where datname = 'unhealthy'",
        );
        const res = await sick.inject({ method: 'GET', url: '/health' });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ status: 'unhealthy', database: 'unreachable' });
        await admin.query('alter database unhealthy allow_connections true');
        expect((await sick.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      } finally {
        await admin.end();
        await sick.close();
      }
    });

    it('serves an OpenAPI document listing every route with its schemas', async () => {
      const res = await app.inject({ method: 'GET', url: '/openapi.json' });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toBe('3.0.3');
      for (const path of [
        '/health',
        '/api/sites',
        '/api/sites/{number}',
        '/api/sites/{number}/devices',
        '/api/access-servers',
        '/api/access-servers/{index}',
        '/api/devices',
        '/users',
        '/users/{id}',
        '/auth/login',
        '/auth/session',
        '/auth/logout',
      ]) {
        expect(doc.paths, path).toHaveProperty([path]);
      }
      expect(doc.paths['/api/sites/{number}'].put.requestBody).toBeDefined();
      expect(doc.components.securitySchemes.apiKey).toMatchObject({
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
      });
    });

    it('says in the OpenAPI document which key each route takes, and which routes are public', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'scannerKey', 'session']);
      expect(doc.paths['/health'].get.security).toEqual([]);
      expect(doc.paths['/auth/login'].post.security).toEqual([]);
      expect(doc.paths['/auth/session'].get.security).toEqual([{ session: [] }]);
      expect(doc.paths['/auth/logout'].post.security).toEqual([{ session: [] }]);
      expect(doc.paths['/api/sites/{number}/devices'].post.security).toEqual([
        { apiKey: [] },
        { scannerKey: [] },
      ]);
      for (const [path, operations] of Object.entries(
        doc.paths as Record<string, Record<string, { security?: unknown }>>,
      )) {
        if (path.startsWith('/auth/') || path === '/health' || path.endsWith('/devices')) continue;
        for (const [method, operation] of Object.entries(operations)) {
          expect(operation.security, `${method} ${path}`).toEqual([{ apiKey: [] }]);
        }
      }
      expect(doc.paths['/users'].post.responses['201'].links['get-users-id']).toEqual({
        operationRef: '#/paths/~1users~1{id}/get',
        parameters: { id: '$response.body#/user/id' },
      });
      // What JSON Schema cannot say is said in words.
      expect(doc.paths['/api/sites/{number}'].put.description).toMatch(/10\.8\.N\.0\/24/);
      expect(doc.paths['/api/sites/{number}/devices'].post.description).toMatch(/inside the site/);
    });

    it('answers 405 with Allow for a method a path does not support, 404 for a path that does not exist', async () => {
      const res = await call('PATCH', '/api/sites/3', {});
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('DELETE, GET, HEAD, PUT');
      expect(res.json().error).toMatchObject({ code: 'method_not_allowed' });
      expect((await call('DELETE', '/health', undefined, {})).headers.allow).toBe('GET, HEAD');
      expect(
        (await app.inject({ method: 'QUERY' as 'GET', url: '/users/1', headers: DEPLOYMENT })).statusCode,
      ).toBe(405);
      expect((await call('DELETE', '/api/devices')).headers.allow).toBe('GET, HEAD');
      expect((await call('PUT', '/users/7/disable')).headers.allow).toBe('POST');
      expect((await call('GET', '/api/nothing-here')).statusCode).toBe(404);
    });
  });

  describe('authentication', () => {
    it('answers 401 without detail for no key or a wrong key', async () => {
      const attempts: Record<string, string>[] = [{}, { 'x-api-key': 'wrong-key' }, { 'x-api-key': '' }];
      for (const headers of attempts) {
        const res = await call('GET', '/api/sites', undefined, headers);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({
          error: { code: 'unauthorized', message: 'unauthorized', requestId: expect.any(String) },
        });
      }
    });

    it("limits a scanner key to posting its own site's devices", async () => {
      for (const n of [1, 2])
        expect((await call('PUT', `/api/sites/${n}`, siteInput(n))).statusCode).toBe(200);
      const report = { scannedAt: '2026-01-01T00:00:00Z', devices: [{ ip: '10.8.1.10' }] };
      expect((await call('POST', '/api/sites/1/devices', report, asScanner(1))).statusCode).toBe(200);
      const other = await call('POST', '/api/sites/2/devices', { ...report, devices: [] }, asScanner(1));
      expect(other.statusCode).toBe(403);
      expect(other.json().error.code).toBe('forbidden');
      for (const [method, url] of [
        ['GET', '/api/sites'],
        ['GET', '/api/devices'],
        ['PUT', '/api/sites/1'],
        ['DELETE', '/api/sites/1'],
        ['GET', '/users'],
      ] as const) {
        const res = await call(method, url, method === 'PUT' ? siteInput(1) : undefined, asScanner(1));
        expect([401, 403], `${method} ${url}`).toContain(res.statusCode);
      }
      // A key that is nobody's is refused before the site is even looked at.
      expect((await call('POST', '/api/sites/1/devices', report, { 'x-api-key': 'nobody' })).statusCode).toBe(
        401,
      );
    });

    it('stops accepting a scanner key once the site registers a new one', async () => {
      const renewed = { ...siteInput(2), scannerKeyHash: 'a'.repeat(64) };
      expect((await call('PUT', '/api/sites/2', renewed)).statusCode).toBe(200);
      const res = await call(
        'POST',
        '/api/sites/2/devices',
        { scannedAt: '2026-01-01T00:00:00Z', devices: [] },
        asScanner(2),
      );
      expect(res.statusCode).toBe(401);
    });

    it('accepts the deployment key for a report and keeps the scanner keys hashed', async () => {
      const res = await call('POST', '/api/sites/1/devices', {
        scannedAt: '2026-01-01T00:05:00Z',
        devices: [],
      });
      expect(res.statusCode).toBe(200);
      const { rows } = await app.db.query("select key_hash from api_keys where kind = 'scanner'");
      for (const row of rows) expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('sites', () => {
    it('upserts one site, lists it, gets it and 404s an absent one', async () => {
      const created = await call('PUT', '/api/sites/10', siteInput(10, 1));
      expect(created.statusCode).toBe(200);
      const site = created.json().site;
      expect(site).toEqual({
        number: 10,
        name: 'site-10',
        cidr: '10.8.10.0/24',
        publicKey: siteInput(10).publicKey,
        accessServer: 1,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        lastReportAt: null,
        deviceCount: 0,
        onlineCount: 0,
      });
      expect(site).not.toHaveProperty('scannerKeyHash');
      const renamed = await call('PUT', '/api/sites/10', {
        ...siteInput(10, 1),
        name: 'renamed',
        number: 10,
      });
      expect(renamed.json().site).toMatchObject({ name: 'renamed', createdAt: site.createdAt });
      expect((await call('GET', '/api/sites/10')).json().site.name).toBe('renamed');
      expect(
        (await call('GET', '/api/sites')).json().sites.map((s: { number: number }) => s.number),
      ).toContain(10);
      const absent = await call('GET', '/api/sites/200');
      expect(absent.statusCode).toBe(404);
      expect(absent.json().error.code).toBe('not_found');
    });

    it('refuses invalid registrations with a 400 that names the problem', async () => {
      const cases: [string, unknown][] = [
        ['/api/sites/11', { ...siteInput(11), cidr: '10.8.12.0/24' }],
        ['/api/sites/11', { ...siteInput(11), publicKey: 'not-a-key' }],
        ['/api/sites/11', { ...siteInput(11), scannerKeyHash: 'xyz' }],
        ['/api/sites/11', { ...siteInput(11), extra: true }],
        ['/api/sites/11', { ...siteInput(11), number: 12 }],
        ['/api/sites/256', siteInput(0)],
        ['/api/sites/11', { ...siteInput(11), name: '' }],
      ];
      for (const [url, body] of cases) {
        const res = await call('PUT', url, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.code).toBe('bad_request');
        expect(res.json().error.message.length).toBeGreaterThan(5);
      }
      expect((await call('GET', '/api/sites/11')).statusCode).toBe(404);
    });

    it('registers a batch in one transaction: all or nothing', async () => {
      const sites = [20, 21, 22].map((n) => ({ number: n, ...siteInput(n) }));
      const ok = await call('PUT', '/api/sites', { sites });
      expect(ok.statusCode).toBe(200);
      expect(ok.json().sites.map((s: { number: number }) => s.number)).toEqual([20, 21, 22]);
      // The second site's scanner key hash is already the first's: the unique key refuses it, and the
      // batch's first site (new) must not remain.
      const clash = [
        { number: 23, ...siteInput(23) },
        { number: 24, ...siteInput(24), scannerKeyHash: siteInput(20).scannerKeyHash },
      ];
      const refused = await call('PUT', '/api/sites', { sites: clash });
      expect(refused.statusCode).toBe(409);
      expect(JSON.stringify(refused.json())).not.toMatch(/insert|constraint|api_keys|at .*\.ts/i);
      expect((await call('GET', '/api/sites/23')).statusCode).toBe(404);
      const twice = await call('PUT', '/api/sites', { sites: [sites[0], sites[0]] });
      expect(twice.statusCode).toBe(400);
      expect((await call('PUT', '/api/sites', { sites: [] })).statusCode).toBe(400);
      const tooMany = Array.from({ length: 257 }, (_, n) => ({ number: n % 256, ...siteInput(n % 256) }));
      expect((await call('PUT', '/api/sites', { sites: tooMany })).statusCode).toBe(400);
    });

    it('deletes a site with its devices and scanner key', async () => {
      await call('PUT', '/api/sites/30', siteInput(30));
      await call(
        'POST',
        '/api/sites/30/devices',
        { scannedAt: '2026-01-01T00:00:00Z', devices: [{ ip: '10.8.30.5' }] },
        asScanner(30),
      );
      const del = await call('DELETE', '/api/sites/30');
      expect(del.json()).toEqual({ deleted: true });
      expect((await call('DELETE', '/api/sites/30')).json()).toEqual({ deleted: false });
      expect((await call('GET', '/api/devices?site=30')).json().devices).toEqual([]);
      const again = await call(
        'POST',
        '/api/sites/30/devices',
        { scannedAt: '2026-01-02T00:00:00Z', devices: [] },
        asScanner(30),
      );
      expect(again.statusCode).toBe(401);
    });
  });

  describe('access servers', () => {
    it('upserts, lists, batches and deletes; 409 while sites use one', async () => {
      const one = await call('PUT', '/api/access-servers/0', accessServerInput(0));
      expect(one.statusCode).toBe(200);
      expect(one.json().accessServer).toEqual({
        index: 0,
        ...accessServerInput(0),
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const batch = await call('PUT', '/api/access-servers', {
        accessServers: [1, 2].map((i) => ({
          index: i,
          ...accessServerInput(i),
          endpoint: null,
          instanceId: null,
        })),
      });
      expect(batch.statusCode).toBe(200);
      expect(
        batch.json().accessServers.map((s: { index: number; endpoint: null }) => [s.index, s.endpoint]),
      ).toEqual([
        [1, null],
        [2, null],
      ]);
      const list = (await call('GET', '/api/access-servers')).json().accessServers;
      expect(list.map((s: { index: number }) => s.index)).toEqual([0, 1, 2]);
      await call('PUT', '/api/sites/40', siteInput(40, 2));
      const busy = await call('DELETE', '/api/access-servers/2');
      expect(busy.statusCode).toBe(409);
      expect(busy.json().error.message).toMatch(/sites 40/);
      await call('DELETE', '/api/sites/40');
      expect((await call('DELETE', '/api/access-servers/2')).json()).toEqual({ deleted: true });
      expect((await call('DELETE', '/api/access-servers/2')).json()).toEqual({ deleted: false });
    });

    it('validates index, endpoint and tunnel address', async () => {
      expect((await call('PUT', '/api/access-servers/64', accessServerInput(0))).statusCode).toBe(400);
      expect(
        (await call('PUT', '/api/access-servers/3', { ...accessServerInput(3), endpoint: 'no-port' }))
          .statusCode,
      ).toBe(400);
      expect(
        (await call('PUT', '/api/access-servers/3', { ...accessServerInput(3), tunnelAddress: '10.0.0.1' }))
          .statusCode,
      ).toBe(400);
    });
  });

  describe('devices', () => {
    it('filters the inventory by site, online state and MAC', async () => {
      await call('PUT', '/api/sites/50', siteInput(50));
      await call('POST', '/api/sites/50/devices', {
        scannedAt: '2026-02-01T00:00:00Z',
        devices: [
          { ip: '10.8.50.10', mac: '00:00:0c:00:00:01', hostname: 'switch' },
          { ip: '10.8.50.11', mac: 'f4:f5:d8:00:00:02' },
        ],
      });
      await call('POST', '/api/sites/50/devices', {
        scannedAt: '2026-02-01T00:10:00Z',
        devices: [{ ip: '10.8.50.10', mac: '00:00:0c:00:00:01' }],
      });
      const offlineAfter = await call('POST', '/api/sites/50/devices', {
        scannedAt: '2026-02-01T00:20:00Z',
        devices: [{ ip: '10.8.50.10', mac: '00:00:0c:00:00:01' }],
      });
      expect(offlineAfter.json().markedOffline).toBe(1);
      const all = (await call('GET', '/api/devices?site=50')).json().devices;
      expect(all).toHaveLength(2);
      expect(all[0]).toEqual({
        site: 50,
        ip: '10.8.50.10',
        mac: '00:00:0c:00:00:01',
        hostname: 'switch',
        vendor: 'Cisco Systems, Inc',
        online: true,
        firstSeen: '2026-02-01T00:00:00.000Z',
        lastSeen: '2026-02-01T00:20:00.000Z',
        missedScans: 0,
        previousSite: null,
        movedAt: null,
      });
      const offline = (await call('GET', '/api/devices?site=50&online=false')).json().devices;
      expect(offline.map((d: { ip: string; missedScans: number }) => [d.ip, d.missedScans])).toEqual([
        ['10.8.50.11', 2],
      ]);
      expect((await call('GET', '/api/devices?mac=F4-F5-D8-00-00-02')).json().devices).toHaveLength(1);
      expect((await call('GET', '/api/devices?site=abc')).statusCode).toBe(400);
      expect((await call('GET', '/api/devices?color=red')).statusCode).toBe(400);
      const site = (await call('GET', '/api/sites/50')).json().site;
      expect(site).toMatchObject({
        deviceCount: 2,
        onlineCount: 1,
        lastReportAt: '2026-02-01T00:20:00.000Z',
      });
    });

    it('refuses reports with foreign addresses, too many devices, or for unknown sites', async () => {
      const foreign = await call('POST', '/api/sites/50/devices', {
        scannedAt: '2026-02-02T00:00:00Z',
        devices: [{ ip: '10.8.51.1' }],
      });
      expect(foreign.statusCode).toBe(400);
      expect(foreign.json().error.message).toMatch(/not inside site 50/);
      const many = Array.from({ length: 1025 }, (_, i) => ({ ip: `10.8.50.${i % 250}` }));
      expect(
        (await call('POST', '/api/sites/50/devices', { scannedAt: '2026-02-02T00:00:00Z', devices: many }))
          .statusCode,
      ).toBe(400);
      const unknown = await call('POST', '/api/sites/99/devices', {
        scannedAt: '2026-02-02T00:00:00Z',
        devices: [],
      });
      expect(unknown.statusCode).toBe(404);
      expect((await call('POST', '/api/sites/50/devices', { devices: [] })).statusCode).toBe(400);
    });
  });

  describe('users and sessions', () => {
    it('creates, lists, updates, disables and deletes users; passwords stay hashed', async () => {
      const created = await call('POST', '/users', {
        username: 'alice',
        password: 'a-long-password-1',
        role: 'admin',
      });
      expect(created.statusCode).toBe(201);
      const alice = created.json().user;
      expect(alice).toEqual({
        id: expect.any(Number),
        username: 'alice',
        displayName: null,
        role: 'admin',
        disabled: false,
        totp: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(JSON.stringify(created.json())).not.toMatch(/password/);
      expect(
        (await call('POST', '/users', { username: 'ALICE', password: 'a-long-password-2' })).statusCode,
      ).toBe(409);
      expect((await call('POST', '/users', { username: 'bob', password: 'short' })).statusCode).toBe(400);
      const { rows } = await app.db.query('select password_hash from users where id = $1', [alice.id]);
      expect(rows[0].password_hash).toMatch(/^scrypt\$/);
      expect(
        (await call('GET', '/users')).json().users.map((u: { username: string }) => u.username),
      ).toContain('alice');
      expect((await call('GET', `/users/${alice.id}`)).json().user.username).toBe('alice');
      const patched = await call('PATCH', `/users/${alice.id}`, { displayName: 'Alice A.', role: 'user' });
      expect(patched.json().user).toMatchObject({ displayName: 'Alice A.', role: 'user' });
      expect((await call('PATCH', `/users/${alice.id}`, {})).statusCode).toBe(400);
      expect((await call('POST', `/users/${alice.id}/disable`)).json().user.disabled).toBe(true);
      expect((await call('DELETE', `/users/${alice.id}`)).json()).toEqual({ deleted: true });
      expect((await call('GET', `/users/${alice.id}`)).statusCode).toBe(404);
      expect((await call('DELETE', `/users/${alice.id}`)).json()).toEqual({ deleted: false });
    });

    it('logs in with a password, checks and ends the session', async () => {
      const user = (await call('POST', '/users', { username: 'carol', password: 'carol-password-1' })).json()
        .user;
      const wrong = await call('POST', '/auth/login', { username: 'carol', password: 'nope-nope-nope' }, {});
      expect(wrong.statusCode).toBe(401);
      expect(
        (await call('POST', '/auth/login', { username: 'nobody', password: 'carol-password-1' }, {}))
          .statusCode,
      ).toBe(401);
      const login = await call(
        'POST',
        '/auth/login',
        { username: 'Carol', password: 'carol-password-1' },
        {},
      );
      expect(login.statusCode).toBe(200);
      const { token, expiresAt } = login.json();
      expect(token).toMatch(/^[\w-]{43}$/);
      expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 11 * 3600_000);
      const bearer = { authorization: `Bearer ${token}` };
      const session = await call('GET', '/auth/session', undefined, bearer);
      expect(session.statusCode).toBe(200);
      expect(session.json().user.username).toBe('carol');
      // The token is stored hashed only.
      const { rows } = await app.db.query('select token_hash from sessions');
      expect(rows.map((r) => r.token_hash)).not.toContain(token);
      expect((await call('POST', '/auth/logout', undefined, bearer)).json()).toEqual({ loggedOut: true });
      expect((await call('GET', '/auth/session', undefined, bearer)).statusCode).toBe(401);
      expect((await call('POST', '/auth/logout', undefined, bearer)).statusCode).toBe(401);

      // Sessions expire; disabling a user or changing the password ends them.
      const second = (
        await call('POST', '/auth/login', { username: 'carol', password: 'carol-password-1' }, {})
      ).json().token;
      await app.db.query("update sessions set expires_at = now() - interval '1 second'");
      expect(
        (await call('GET', '/auth/session', undefined, { authorization: `Bearer ${second}` })).statusCode,
      ).toBe(401);
      const third = (
        await call('POST', '/auth/login', { username: 'carol', password: 'carol-password-1' }, {})
      ).json().token;
      await call('PATCH', `/users/${user.id}`, { password: 'carol-password-2' });
      expect(
        (await call('GET', '/auth/session', undefined, { authorization: `Bearer ${third}` })).statusCode,
      ).toBe(401);
      await call('POST', `/users/${user.id}/disable`);
      expect(
        (await call('POST', '/auth/login', { username: 'carol', password: 'carol-password-2' }, {}))
          .statusCode,
      ).toBe(401);
    });
  });

  describe('hostile input', () => {
    const raw = (
      method: string,
      url: string,
      payload: string,
      headers: Record<string, string> = DEPLOYMENT,
    ) =>
      app.inject({
        method: method as 'POST',
        url,
        headers: { ...headers, 'content-type': 'application/json' },
        payload,
      });

    it('refuses control characters in every text field with a 400, the login included', async () => {
      const nul = 'a\u0000b';
      const attempts = [
        call('PUT', '/api/sites/40', { ...siteInput(40), name: nul }),
        call('PUT', '/api/access-servers/40', { ...accessServerInput(40), instanceId: nul }),
        call('POST', '/users', { username: 'nul-user', password: 'a-long-password-1', displayName: nul }),
        call('POST', '/users', { username: `x${nul}`, password: 'a-long-password-1' }),
        call('POST', '/auth/login', { username: nul, password: 'a-long-password-1' }, {}),
        call('POST', '/auth/login', { username: 'a\u001bb', password: 'a-long-password-1' }, {}),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().error.code).toBe('bad_request');
      }
      await call('PUT', '/api/sites/41', siteInput(41));
      const report = await call('POST', '/api/sites/41/devices', {
        scannedAt: new Date().toISOString(),
        devices: [{ ip: '10.8.41.2', hostname: `printer${nul}` }],
      });
      expect(report.statusCode).toBe(400);
    });

    it('refuses ids beyond the largest integer and numbers that are not finite', async () => {
      for (const url of ['/users/51776662148415684608', '/users/9007199254740992/disable']) {
        const res = await call(url.endsWith('disable') ? 'POST' : 'GET', url);
        expect(res.statusCode, url).toBe(400);
      }
      const body = JSON.stringify({ ...siteInput(42), accessServer: 0 }).replace(
        '"accessServer":0',
        '"accessServer":1e309',
      );
      expect((await raw('PUT', '/api/sites/42', body)).statusCode).toBe(400);
      expect((await call('GET', '/api/devices?site=1e309')).statusCode).toBe(400);
      expect((await call('GET', '/api/audit-log?limit=Infinity')).statusCode).toBe(400);
    });

    it('says what a MAC filter with mixed separators should look like', async () => {
      const res = await call('GET', '/api/devices?mac=aa:bb-cc:dd:ee:ff');
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toBe(
        'querystring/mac must be a MAC address like aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff, with one kind of separator',
      );
      expect((await call('GET', '/api/devices?mac=AA-BB-CC-DD-EE-FF')).statusCode).toBe(200);
    });

    it('keeps no password typed into the user name field in the audit log', async () => {
      const typedPassword = 'my-secret-password-typed-in-the-wrong-field';
      const res = await call(
        'POST',
        '/auth/login',
        { username: typedPassword, password: 'whatever-else' },
        {},
      );
      expect(res.statusCode).toBe(401);
      const { rows } = await app.db.query("select target from audit_log where action = 'auth.login-failed'");
      expect(JSON.stringify(rows)).not.toContain(typedPassword);
      expect(rows.map((r) => r.target)).toContain(unknownUsernameTarget(typedPassword));
      expect(unknownUsernameTarget(typedPassword)).toMatch(/^unknown-user:sha256-[0-9a-f]{8}$/);
    });

    it('takes body values as sent: no coercion of a boolean, a number or a null', async () => {
      const user = (await call('POST', '/users', { username: 'dora', password: 'a-long-password-1' })).json()
        .user;
      await call('POST', `/users/${user.id}/disable`);
      const refused = [
        call('PATCH', `/users/${user.id}`, { displayName: false }),
        call('PATCH', `/users/${user.id}`, { disabled: null }),
        call('PATCH', `/users/${user.id}`, { disabled: 'false' }),
        call('PUT', '/api/sites/43', { ...siteInput(43), accessServer: '0' }),
        call('PUT', '/api/sites/43', { ...siteInput(43), name: 43 }),
      ];
      for (const res of await Promise.all(refused)) expect(res.statusCode, res.body).toBe(400);
      const after = (await call('GET', `/users/${user.id}`)).json().user;
      expect(after).toMatchObject({ displayName: null, disabled: true });
      // Query strings and paths are text: they are still read as the numbers and booleans they spell.
      expect((await call('GET', '/api/devices?site=43&online=true')).statusCode).toBe(200);
    });
  });

  describe('errors and audit', () => {
    it('answers with the stable error shape, echoing the request id', async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/nowhere',
        headers: { ...DEPLOYMENT, 'x-request-id': 'relay-42' },
      });
      expect(res.statusCode).toBe(404);
      expect(res.headers['x-request-id']).toBe('relay-42');
      expect(res.json()).toEqual({
        error: { code: 'not_found', message: 'no route GET /nowhere', requestId: 'relay-42' },
      });
      const badJson = await app.inject({
        method: 'PUT',
        url: '/api/sites/1',
        headers: { ...DEPLOYMENT, 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      expect(badJson.statusCode).toBe(400);
      expect(badJson.json().error.code).toBe('bad_request');
      expect(badJson.body).not.toMatch(/at .*\(|node_modules/);
    });

    it('refuses bodies over the size limit', async () => {
      const huge = {
        scannedAt: '2026-01-01T00:00:00Z',
        devices: [{ ip: '10.8.1.1', hostname: 'x'.repeat(2 * 1024 * 1024) }],
      };
      const res = await call('POST', '/api/sites/1/devices', huge);
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('payload_too_large');
    });

    it('hides database failures behind a 500 without SQL or stack', async () => {
      const broken = await buildApp({ databaseUrl: await pg.createDatabase('broken'), apiKey: TEST_API_KEY });
      try {
        await broken.db.query('drop table devices cascade');
        const res = await broken.inject({ method: 'GET', url: '/api/devices', headers: DEPLOYMENT });
        expect(res.statusCode).toBe(500);
        expect(res.json()).toEqual({
          error: { code: 'internal_error', message: 'internal error', requestId: expect.any(String) },
        });
      } finally {
        await broken.close();
      }
    });

    it('records every change in the audit log: who, what, when', async () => {
      const res = await call('GET', '/api/audit-log?limit=500');
      const entries = res.json().entries as { actor: string; action: string; target: string; at: string }[];
      const actions = new Set(entries.map((e) => e.action));
      for (const action of [
        'site.create',
        'site.update',
        'site.delete',
        'access-server.create',
        'access-server.delete',
        'devices.report',
        'user.create',
        'user.update',
        'user.disable',
        'user.delete',
        'auth.login',
        'auth.login-failed',
        'auth.logout',
      ]) {
        expect(actions, action).toContain(action);
      }
      expect(
        entries.find((e) => e.action === 'devices.report' && e.actor === 'scanner:site-1'),
      ).toBeDefined();
      expect(entries.find((e) => e.action === 'site.delete' && e.target === 'site:30')).toMatchObject({
        actor: 'deployment-key',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
    });
  });
});

describe('rate limit on /auth', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp({
      databaseUrl: await pg.createDatabase('limits'),
      apiKey: TEST_API_KEY,
      authRateLimit: { max: 3, timeWindowMs: 60_000 },
    });
  });
  afterAll(() => app?.close());

  it('answers 429 once a client exceeds the limit, and only on /auth', async () => {
    const attempt = () =>
      app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'x', password: 'guess-guess-guess' },
      });
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
    const limited = await attempt();
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/retry in \d+s/),
    });
    for (let i = 0; i < 5; i++)
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
