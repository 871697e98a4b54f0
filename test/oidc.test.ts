import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerEnv } from '../src/controller/config';
import { groupsOf } from '../src/controller/oidc/claims';
import type { RunningController } from '../src/controller/server';
import { runCli } from './helpers/cli';
import { TEST_API_KEY, writeControllerDeployment } from './helpers/controller';
import {
  authorizationRequest,
  Browser,
  callApi,
  fetchTrusting,
  startProviderController,
} from './helpers/oidc-bed';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

const REDIRECT = 'https://kasm.internal/api/oidc_callback';
const AFTER_LOGOUT = 'https://kasm.internal/';
const SECRET = randomBytes(24).toString('base64url');

describe('the provider’s settings and claims (pure)', () => {
  const base = { WAVESHIFT_API_KEY: TEST_API_KEY };
  it('reads the issuer and Kasm’s client from the environment, and refuses half a configuration', () => {
    expect(controllerEnv(base, { host: '0.0.0.0' }).oidc).toBeUndefined();
    const env = {
      ...base,
      WAVESHIFT_OIDC_ISSUER: 'https://waveshift.internal/auth',
      WAVESHIFT_KASM_CLIENT_SECRET: 's'.repeat(40),
    };
    expect(controllerEnv(env, { host: '0.0.0.0' }).oidc).toEqual({
      issuer: 'https://waveshift.internal/auth',
      clients: [
        {
          clientId: 'kasm',
          clientSecret: 's'.repeat(40),
          redirectUris: ['https://kasm.internal/api/oidc_callback'],
          postLogoutRedirectUris: ['https://kasm.internal/'],
        },
      ],
    });
    expect(() => controllerEnv({ ...env, WAVESHIFT_KASM_CLIENT_SECRET: '' }, { host: '0.0.0.0' })).toThrow(
      /WAVESHIFT_KASM_CLIENT_SECRET/,
    );
    expect(() =>
      controllerEnv({ ...env, WAVESHIFT_OIDC_ISSUER: 'http://waveshift.internal/auth' }, { host: '0.0.0.0' }),
    ).toThrow(/https/);
  });
  it('puts admins in both groups and users in one', () => {
    expect(groupsOf({ role: 'admin' })).toEqual(['waveshift-admins', 'waveshift-users']);
    expect(groupsOf({ role: 'user' })).toEqual(['waveshift-users']);
    // The groups rows a user is in join them, sorted and without repeats.
    expect(groupsOf({ role: 'user' }, ['zeta', 'Lab', 'waveshift-users'])).toEqual([
      'Lab',
      'waveshift-users',
      'zeta',
    ]);
  });
});

describe('Waveshift as the OpenID Connect provider of Kasm (openid-client, real PostgreSQL, HTTPS)', () => {
  let pg: PostgresServer;
  let controller: RunningController;
  let ca: string;
  let issuer: string;
  let kasm: oidc.Configuration;
  const api = (method: string, path: string, body?: unknown) =>
    callApi(controller.url, ca, method, path, body);
  const discover = (secret: string) =>
    oidc.discovery(new URL(issuer), 'kasm', undefined, oidc.ClientSecretBasic(secret), {
      [oidc.customFetch]: fetchTrusting(ca),
    });

  /** One sign-in as Kasm starts it: PKCE, state and nonce; returns the callback URL and the checks. */
  const signIn = async (browser: Browser, username: string, password: string, redirectUri = REDIRECT) => {
    const { url, checks } = await authorizationRequest(kasm, redirectUri);
    const form = await browser.follow(url.href);
    if (form.status !== 200 || !/Sign in to Waveshift/.test(form.text)) return { refused: form };
    const action = /action="([^"]+)"/.exec(form.text)![1]!.replace(/&#38;/g, '&');
    const done = await browser.follow(new URL(action, issuer).href, { username, password });
    return { callback: done.location, page: done, checks };
  };

  const writeDeployment = (dir: string, withCa: boolean) =>
    writeControllerDeployment(dir, controller.url, withCa ? ca : undefined);
  const wavectl = (dir: string, args: string[], more: { stdin?: string; tty?: boolean } = {}) =>
    runCli(['--dir', dir, ...args], { cwd: dir, env: { WAVESHIFT_API_KEY: TEST_API_KEY }, ...more });

  beforeAll(async () => {
    pg = await startPostgres();
    ({ controller, ca, issuer } = await startProviderController(await pg.createDatabase('oidc'), {
      clientSecret: SECRET,
      redirectUris: [REDIRECT],
      postLogoutRedirectUris: [AFTER_LOGOUT],
    }));
    for (const [username, role] of [
      ['ada', 'admin'],
      ['bob', 'user'],
    ]) {
      const created = await api('POST', '/users', { username, password: `${username}-pass-123456`, role });
      expect(created.status).toBe(201);
    }
    kasm = await discover(SECRET);
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await pg?.stop();
  });

  it('signs a user in with PKCE: ID token and userinfo carry the groups; refresh; logout', async () => {
    expect(kasm.serverMetadata().issuer).toBe(issuer);
    expect(kasm.serverMetadata().code_challenge_methods_supported).toContain('S256');
    const browser = new Browser(ca);
    const { callback, checks } = await signIn(browser, 'ada', 'ada-pass-123456');
    expect(callback).toMatch(/^https:\/\/kasm\.internal\/api\/oidc_callback\?code=/);
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(callback!), checks);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: issuer,
      aud: 'kasm',
      preferred_username: 'ada',
      groups: ['waveshift-admins', 'waveshift-users'],
    });
    const info = await oidc.fetchUserInfo(kasm, tokens.access_token, claims.sub);
    expect(info).toMatchObject({
      preferred_username: 'ada',
      groups: ['waveshift-admins', 'waveshift-users'],
    });

    expect(tokens.refresh_token).toEqual(expect.any(String));
    const refreshed = await oidc.refreshTokenGrant(kasm, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);

    // Logout: the confirmation page's form, confirmed, lands back at Kasm; the next sign-in asks again.
    const logout = oidc.buildEndSessionUrl(kasm, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: AFTER_LOGOUT,
    });
    const confirm = await browser.follow(logout.href);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1];
    const action = /action="([^"]+)"/.exec(confirm.text)?.[1];
    expect(xsrf && action).toBeTruthy();
    const out = await browser.follow(new URL(action!, issuer).href, { xsrf: xsrf!, logout: 'yes' });
    expect(out.location).toBe(AFTER_LOGOUT);
    const again = await signIn(browser, 'ada', 'wrong-password-000');
    expect(again.page?.status).toBe(401);
  }, 60_000);

  it('signs Kasm’s backend in without PKCE (it authenticates with its secret); a sent challenge is verified', async () => {
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(kasm, {
      redirect_uri: REDIRECT,
      scope: 'openid profile groups',
      state,
      nonce,
    });
    const browser = new Browser(ca);
    const form = await browser.follow(url.href);
    expect(form.status).toBe(200);
    const action = /action="([^"]+)"/.exec(form.text)![1]!.replace(/&#38;/g, '&');
    const done = await browser.follow(new URL(action, issuer).href, {
      username: 'bob',
      password: 'bob-pass-123456',
    });
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(done.location!), {
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()).toMatchObject({ preferred_username: 'bob', groups: ['waveshift-users'] });
    // RS256, the algorithm every OpenID client supports.
    const header = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString('utf8'));
    expect(header.alg).toBe('RS256');

    const { callback, checks } = await signIn(new Browser(ca), 'bob', 'bob-pass-123456');
    await expect(
      oidc.authorizationCodeGrant(kasm, new URL(callback!), {
        ...checks,
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  }, 60_000);

  it('refuses a wrong password, a wrong redirect URI, a replayed code and a wrong client secret', async () => {
    const wrong = await signIn(new Browser(ca), 'bob', 'not-bobs-password');
    expect(wrong.page?.status).toBe(401);
    expect(wrong.callback).toBeUndefined();

    const elsewhere = await signIn(new Browser(ca), 'bob', 'bob-pass-123456', 'https://attacker.example/cb');
    expect(elsewhere.refused?.status).toBe(400);
    expect(elsewhere.refused?.text).toMatch(/redirect_uri/);

    const { callback, checks } = await signIn(new Browser(ca), 'bob', 'bob-pass-123456');
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(callback!), checks);
    expect(tokens.claims()!.groups).toEqual(['waveshift-users']);
    await expect(oidc.authorizationCodeGrant(kasm, new URL(callback!), checks)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Replaying the code revoked what it had issued.
    await expect(oidc.refreshTokenGrant(kasm, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });

    const impostor = await discover('not-the-secret');
    const second = await signIn(new Browser(ca), 'bob', 'bob-pass-123456');
    const refused = await oidc
      .authorizationCodeGrant(impostor, new URL(second.callback!), second.checks)
      .catch((e: { status?: number; cause?: unknown }) => e);
    expect(refused).toMatchObject({ status: 401 });
    expect(JSON.stringify((refused as { cause?: unknown }).cause)).toContain('invalid_client');
  }, 60_000);

  it('holds one user’s sign-in after 10 failures (even the right password), not other users’, and audits it', async () => {
    expect((await api('POST', '/users', { username: 'frank', password: 'frank-pass-123456' })).status).toBe(
      201,
    );
    for (let i = 0; i < 10; i++) {
      expect((await signIn(new Browser(ca), 'frank', `guess-number-${i}`)).page?.status).toBe(401);
    }
    const blocked = await signIn(new Browser(ca), 'frank', 'frank-pass-123456');
    expect(blocked.page?.status).toBe(429);
    expect(blocked.callback).toBeUndefined();
    // Another user is not held back by frank's failures.
    expect((await signIn(new Browser(ca), 'bob', 'bob-pass-123456')).callback).toMatch(/code=/);
    const audit = await api('GET', '/api/audit-log?limit=100');
    const actions = (audit.body.entries as { action: string; target: string }[])
      .filter((e) => e.target === 'user:frank')
      .map((e) => e.action);
    expect(actions).toContain('oidc.login-throttled');
    expect(actions.filter((a) => a === 'oidc.login-failed')).toHaveLength(10);
  }, 60_000);

  it('counts failed logins at the session API and the sign-in page together: either door closes both', async () => {
    expect((await api('POST', '/users', { username: 'hank', password: 'hank-pass-123456' })).status).toBe(
      201,
    );
    const login = (password: string) =>
      callApi(controller.url, ca, 'POST', '/auth/login', { username: 'hank', password });
    for (let i = 0; i < 6; i++) expect((await login(`guess-number-${i}`)).status).toBe(401);
    for (let i = 0; i < 4; i++) {
      expect((await signIn(new Browser(ca), 'hank', `page-guess-${i}`)).page?.status).toBe(401);
    }
    const held = await login('hank-pass-123456');
    expect(held.status).toBe(429);
    expect(held.body.error.message).toMatch(/too many failed logins for this user/);
    expect((await signIn(new Browser(ca), 'hank', 'hank-pass-123456')).page?.status).toBe(429);
    // Other users, and unknown names, have brakes of their own.
    expect(
      (
        await callApi(controller.url, ca, 'POST', '/auth/login', {
          username: 'bob',
          password: 'bob-pass-123456',
        })
      ).status,
    ).toBe(200);
    const actions = (
      (await api('GET', '/api/audit-log?limit=200')).body.entries as { action: string; target: string }[]
    )
      .filter((e) => e.target === 'user:hank')
      .map((e) => e.action);
    expect(actions).toContain('auth.login-throttled');
    expect(actions.filter((a) => a === 'auth.login-failed')).toHaveLength(6);
  }, 60_000);

  it('ends a disabled user’s tokens and refuses their next sign-in', async () => {
    const created = await api('POST', '/users', { username: 'carol', password: 'carol-pass-123456' });
    const { callback, checks } = await signIn(new Browser(ca), 'carol', 'carol-pass-123456');
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(callback!), checks);
    expect((await api('POST', `/users/${created.body.user.id}/disable`)).status).toBe(200);
    await expect(oidc.refreshTokenGrant(kasm, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.fetchUserInfo(kasm, tokens.access_token, tokens.claims()!.sub)).rejects.toMatchObject({
      status: 401,
    });
    const after = await signIn(new Browser(ca), 'carol', 'carol-pass-123456');
    expect(after.page?.status).toBe(401);
  }, 60_000);

  it('wavectl users: add with a generated password, sign in with it, disable, enable, reset, remove', async () => {
    const tmp = await makeTempDir('wavectl-users-');
    try {
      const cli = (args: string[], more: { stdin?: string; tty?: boolean } = {}) =>
        wavectl(tmp.path, ['users', ...args], more);
      // Without the recorded CA, wavectl refuses the controller's certificate.
      await writeDeployment(tmp.path, false);
      const untrusted = await cli(['list']);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(/^wavectl: .*no deployment CA to verify it with/);
      await writeDeployment(tmp.path, true);

      const added = await cli(['add', 'dora', '--role', 'admin', '--generate-password', '--json']);
      expect(added.code, added.stderr).toBe(0);
      const { user, generatedPassword } = added.json<{
        user: { username: string };
        generatedPassword: string;
      }>();
      expect(user.username).toBe('dora');
      expect(generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
      const signedIn = await signIn(new Browser(ca), 'dora', generatedPassword);
      expect(signedIn.callback).toMatch(/code=/);

      expect((await cli(['add', 'eve'])).stderr).toMatch(/no terminal to type a password/);
      expect((await cli(['add', 'eve', '--password-stdin'], { stdin: 'short\n' })).code).toBe(2);
      const typed = await cli(['add', 'eve', '--password-stdin', '--json'], {
        stdin: 'eve-typed-password-1\n',
      });
      expect(typed.code, typed.stderr).toBe(0);
      expect(typed.stdout).not.toContain('eve-typed-password-1');
      expect((await signIn(new Browser(ca), 'eve', 'eve-typed-password-1')).callback).toMatch(/code=/);

      const list = (await cli(['list', '--json'])).json<{
        users: { username: string; disabled: boolean }[];
      }>();
      expect(list.users.map((u) => u.username)).toEqual(expect.arrayContaining(['dora', 'eve']));
      expect((await cli(['disable', 'eve'])).stdout).toMatch(
        /sessions, sign-ins and refresh tokens are ended/,
      );
      expect((await signIn(new Browser(ca), 'eve', 'eve-typed-password-1')).page?.status).toBe(401);
      expect(
        (await cli(['show', 'eve', '--json'])).json<{ user: { disabled: boolean } }>().user.disabled,
      ).toBe(true);
      expect((await cli(['enable', 'eve'])).code).toBe(0);
      const reset = await cli(['reset-password', 'eve', '--password-stdin'], {
        stdin: 'eve-second-password\n',
      });
      expect(reset.code, reset.stderr).toBe(0);
      expect((await signIn(new Browser(ca), 'eve', 'eve-typed-password-1')).page?.status).toBe(401);
      expect((await signIn(new Browser(ca), 'eve', 'eve-second-password')).callback).toMatch(/code=/);

      // No terminal is never a yes: without --yes the user stays.
      const refused = await cli(['remove', 'eve']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^wavectl: refusing to remove user eve without --yes/);
      expect((await cli(['show', 'eve'])).code).toBe(0);
      expect((await cli(['remove', 'eve', '--yes'])).code).toBe(0);
      expect((await cli(['show', 'eve'])).stderr).toMatch(/^wavectl: no user eve/);
    } finally {
      await tmp.remove();
    }
  }, 90_000);

  it('wavectl groups: a group a user is added to is in their ID token; taking it away ends their tokens', async () => {
    expect((await api('POST', '/users', { username: 'gina', password: 'gina-pass-123456' })).status).toBe(
      201,
    );
    const tmp = await makeTempDir('wavectl-groups-');
    try {
      await writeDeployment(tmp.path, true);
      const cli = (...args: string[]) => wavectl(tmp.path, ['groups', ...args]);
      expect((await cli('add', 'kasm-ops', '--description', 'Kasm operators')).code).toBe(0);
      const added = await cli('add-member', 'kasm-ops', 'gina');
      expect(added.code, added.stderr).toBe(0);

      const { callback, checks } = await signIn(new Browser(ca), 'gina', 'gina-pass-123456');
      const tokens = await oidc.authorizationCodeGrant(kasm, new URL(callback!), checks);
      expect(tokens.claims()!.groups).toEqual(['kasm-ops', 'waveshift-users']);
      const info = await oidc.fetchUserInfo(kasm, tokens.access_token, tokens.claims()!.sub);
      expect(info.groups).toEqual(['kasm-ops', 'waveshift-users']);

      // Kasm must not keep a group that was taken away: the refresh token dies with the membership.
      expect((await cli('remove-member', 'kasm-ops', 'gina')).code).toBe(0);
      await expect(oidc.refreshTokenGrant(kasm, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      const again = await signIn(new Browser(ca), 'gina', 'gina-pass-123456');
      const next = await oidc.authorizationCodeGrant(kasm, new URL(again.callback!), again.checks);
      expect(next.claims()!.groups).toEqual(['waveshift-users']);
    } finally {
      await tmp.remove();
    }
  }, 60_000);
});
