import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerEnv, upstreamEnv } from '../src/controller/config';
import { inTransaction } from '../src/controller/db/transaction';
import { trustingFetch } from '../src/controller/oidc/trusting-fetch';
import { UpstreamUnreachableError, upstreamRelyingParty } from '../src/controller/oidc/upstream';
import { signInUpstreamUser } from '../src/controller/oidc/upstream-accounts';
import {
  emailDomainProblem,
  mapGroups,
  upstreamGroupsOf,
  upstreamIdentity,
  usernameAttempt,
  usernameFrom,
} from '../src/controller/oidc/upstream-mapping';
import { addMember, createGroup, findGroup } from '../src/controller/repositories/groups';
import { createUpstreamUser } from '../src/controller/repositories/upstream-users';
import { type RunningController, startController } from '../src/controller/server';
import { exchange } from '../src/controller-client/http-exchange';
import { TEST_API_KEY } from './helpers/controller';
import { authorizationRequest, Browser, callApi, providerControllerOptions } from './helpers/oidc-bed';
import { freePort } from './helpers/ports';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';
import { startUpstreamIdp, type UpstreamIdp } from './helpers/upstream-idp';

const KASM_REDIRECT = 'https://kasm.internal/api/oidc_callback';

describe('mapping upstream users and groups (pure)', () => {
  it('derives a user name in Waveshift’s alphabet from preferred_username, else email, else the subject', () => {
    expect(usernameFrom({ sub: '1', preferred_username: 'ada@example.com', email: 'x@y' })).toBe(
      'ada@example.com',
    );
    expect(usernameFrom({ sub: '1', email: 'bob.smith@example.com' })).toBe('bob.smith@example.com');
    expect(usernameFrom({ sub: '00u1abc', preferred_username: '  ' })).toBe('user-00u1abc');
    expect(usernameFrom({ sub: '1', preferred_username: 'Zoë Müller (ops)' })).toBe('Zoe-Muller-ops');
    expect(usernameFrom({ sub: '1', preferred_username: '日本' })).toBe('user');
    expect(usernameFrom({ sub: '1', preferred_username: 'a'.repeat(200) })).toHaveLength(60);
    expect([0, 1, 2].map((n) => usernameAttempt('bob', n))).toEqual(['bob', 'bob-2', 'bob-3']);
  });
  it('reads the groups claim as a list or one name, maps names case-insensitively, drops repeats', () => {
    expect(upstreamGroupsOf({ groups: ['a', 'b', 'a', '', 3] }, 'groups')).toEqual(['a', 'b']);
    expect(upstreamGroupsOf({ roles: 'ops' }, 'roles')).toEqual(['ops']);
    expect(upstreamGroupsOf({ groups: { a: 1 } }, 'groups')).toEqual([]);
    expect(upstreamGroupsOf({}, 'groups')).toEqual([]);
    expect(
      mapGroups(['Engineering', 'ENG', 'sales'], { engineering: 'engineers', eng: 'engineers' }),
    ).toEqual(['engineers', 'sales']);
  });
  it('lets the upstream decide the role only when admin groups are configured', () => {
    const mapping = { groupsClaim: 'groups', groupMap: {}, adminGroups: [] };
    expect(upstreamIdentity({ sub: 's', groups: ['admins'] }, mapping).role).toBeUndefined();
    const withAdmins = { ...mapping, adminGroups: ['Admins'] };
    expect(upstreamIdentity({ sub: 's', groups: ['admins'] }, withAdmins).role).toBe('admin');
    expect(upstreamIdentity({ sub: 's', groups: ['staff'] }, withAdmins)).toEqual({
      subject: 's',
      username: 'user-s',
      displayName: null,
      groups: ['staff'],
      role: 'user',
    });
  });
  it('admits only verified addresses of the allowed email domain, when one is set', () => {
    expect(emailDomainProblem({ email: 'a@evil.example' })).toBeUndefined();
    expect(
      emailDomainProblem({ email: 'a@corp.example', email_verified: true }, 'corp.example'),
    ).toBeUndefined();
    expect(emailDomainProblem({ email: 'a@CORP.example' }, 'corp.example')).toBeUndefined();
    expect(emailDomainProblem({ email: 'a@corp.example.evil' }, 'corp.example')).toMatch(
      /not in corp.example/,
    );
    expect(emailDomainProblem({ email: 'a@corp.example', email_verified: false }, 'corp.example')).toMatch(
      /not verified/,
    );
    expect(emailDomainProblem({}, 'corp.example')).toMatch(/no email address/);
  });
  it('reads the upstream from the controller’s environment and refuses half of it', () => {
    const env = {
      WAVESHIFT_UPSTREAM_ISSUER: 'https://corp.okta.com',
      WAVESHIFT_UPSTREAM_CLIENT_ID: '0oa1',
      WAVESHIFT_IDP_CLIENT_SECRET: 'shh',
    };
    expect(upstreamEnv({})).toBeUndefined();
    expect(upstreamEnv(env)).toEqual({
      issuer: 'https://corp.okta.com',
      clientId: '0oa1',
      clientSecret: 'shh',
      groupsClaim: 'groups',
      groupMap: {},
      adminGroups: [],
    });
    expect(
      upstreamEnv({
        ...env,
        WAVESHIFT_UPSTREAM_GROUPS_CLAIM: 'roles',
        WAVESHIFT_UPSTREAM_GROUP_MAP: '{"Engineering":"engineers"}',
        WAVESHIFT_UPSTREAM_ADMIN_GROUPS: 'it-admins, ops ',
        WAVESHIFT_UPSTREAM_EMAIL_DOMAIN: 'corp.example',
        WAVESHIFT_UPSTREAM_CA_FILE: '/etc/waveshift/upstream-ca.pem',
      }),
    ).toMatchObject({
      groupsClaim: 'roles',
      groupMap: { Engineering: 'engineers' },
      adminGroups: ['it-admins', 'ops'],
      allowedEmailDomain: 'corp.example',
      caFile: '/etc/waveshift/upstream-ca.pem',
    });
    expect(() => upstreamEnv({ ...env, WAVESHIFT_UPSTREAM_ISSUER: 'http://corp.okta.com' })).toThrow(/https/);
    expect(() => upstreamEnv({ ...env, WAVESHIFT_IDP_CLIENT_SECRET: '' })).toThrow(
      /WAVESHIFT_IDP_CLIENT_SECRET/,
    );
    expect(() => upstreamEnv({ ...env, WAVESHIFT_UPSTREAM_CLIENT_ID: '' })).toThrow(/CLIENT_ID/);
    expect(() => upstreamEnv({ ...env, WAVESHIFT_UPSTREAM_GROUP_MAP: '["a"]' })).toThrow(/JSON object/);
    const full = controllerEnv(
      {
        ...env,
        WAVESHIFT_API_KEY: TEST_API_KEY,
        WAVESHIFT_OIDC_ISSUER: 'https://waveshift.internal/auth',
        WAVESHIFT_KASM_CLIENT_SECRET: 's'.repeat(40),
      },
      { host: '0.0.0.0' },
    );
    expect(full.oidc?.upstream?.issuer).toBe('https://corp.okta.com');
  });
});

describe('sign-in delegated to an upstream OpenID provider (a second oidc-provider standing in for Okta)', () => {
  let pg: PostgresServer;
  let idp: UpstreamIdp;
  let controller: RunningController;
  let ca: string;
  let issuer: string;
  let kasm: oidc.Configuration;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let controllerOptions: Parameters<typeof startController>[0];
  const kasmSecret = randomBytes(24).toString('base64url');
  const api = (method: string, path: string, body?: unknown) =>
    callApi(controller.url, ca, method, path, body);
  const callbackPrefix = () => `${issuer}/upstream/callback`;

  /** Kasm starts a sign-in; the browser goes to Waveshift, on to the upstream, and shows its form. */
  const startSignIn = async (browser: Browser) => {
    const { url, checks } = await authorizationRequest(kasm, KASM_REDIRECT);
    const form = await browser.follow(url.href);
    expect(form.status, form.text).toBe(200);
    expect(form.text).toMatch(/Upstream sign-in/);
    const action = new URL(/action="([^"]+)"/.exec(form.text)![1]!, idp.issuer).href;
    return { action, checks };
  };

  /** Signs in at the upstream and stops where it sends the browser back to Waveshift's callback. */
  const upstreamLogin = async (browser: Browser, login: string, password: string) => {
    const { action, checks } = await startSignIn(browser);
    const back = await browser.follow(action, { login, password }, (l) => l.startsWith(callbackPrefix()));
    expect(back.location, back.text).toMatch(/\/upstream\/callback\?code=/);
    return { callback: back.location!, checks };
  };

  /** The whole round: upstream sign-in, callback, code to Kasm, tokens; or the page that refused. */
  const signIn = async (login: string, password: string) => {
    const browser = new Browser(ca);
    const { callback, checks } = await upstreamLogin(browser, login, password);
    const done = await browser.follow(callback);
    if (!done.location?.startsWith(KASM_REDIRECT)) return { refused: done };
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(done.location), checks);
    return { claims: tokens.claims()! };
  };

  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-upstream-');
    pg = await startPostgres();
    const port = await freePort();
    issuer = `https://127.0.0.1:${port}/auth`;
    const upstreamSecret = randomBytes(24).toString('base64url');
    idp = await startUpstreamIdp({
      clientId: 'waveshift',
      clientSecret: upstreamSecret,
      redirectUri: `${issuer}/upstream/callback`,
    });
    idp.accounts.set('00u-ada', {
      password: 'ada-upstream-pass',
      claims: {
        preferred_username: 'ada@corp.example',
        name: 'Ada Lovelace',
        email: 'ada@corp.example',
        groups: ['Engineering', 'it-admins', 'not-a-waveshift-group'],
      },
    });
    idp.accounts.set('00u-bob', {
      password: 'bob-upstream-pass',
      claims: { preferred_username: 'bob', name: 'Bob Upstream', email: 'bob@corp.example', groups: [] },
    });
    const caFile = join(tmp.path, 'upstream-ca.pem');
    await writeFile(caFile, idp.caPem);

    const bed = await providerControllerOptions(
      await pg.createDatabase('upstream'),
      {
        clientSecret: kasmSecret,
        redirectUris: [KASM_REDIRECT],
        postLogoutRedirectUris: ['https://kasm.internal/'],
      },
      port,
    );
    ca = `${bed.ca}\n${idp.caPem}`;
    controllerOptions = {
      ...bed.options,
      oidc: {
        ...bed.options.oidc!,
        upstream: {
          issuer: idp.issuer,
          clientId: 'waveshift',
          clientSecret: upstreamSecret,
          caFile,
          groupsClaim: 'groups',
          groupMap: { Engineering: 'engineers' },
          adminGroups: ['it-admins'],
        },
      },
    };
    controller = await startController(controllerOptions);
    await inTransaction(controller.app.db, async (tx) => {
      for (const name of ['engineers', 'sales', 'on-call'])
        await createGroup(tx, { name, description: null });
    });
    // A local user named like an upstream one: the upstream user must not take over this account.
    const local = await api('POST', '/users', { username: 'bob', password: 'bob-local-pass-123' });
    expect(local.status).toBe(201);
    kasm = await oidc.discovery(new URL(issuer), 'kasm', undefined, oidc.ClientSecretBasic(kasmSecret), {
      [oidc.customFetch]: trustingFetch(bed.ca),
    });
    kasm[oidc.customFetch] = trustingFetch(bed.ca);
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await idp?.close();
    await pg?.stop();
    await tmp?.remove();
  });

  it('first sign-in creates the user with mapped groups; the next replaces upstream groups, keeps local ones', async () => {
    const first = await signIn('ada@corp.example', 'ada-upstream-pass');
    expect(first.claims).toMatchObject({
      iss: issuer,
      aud: 'kasm',
      preferred_username: 'ada@corp.example',
      name: 'Ada Lovelace',
      groups: ['engineers', 'waveshift-admins', 'waveshift-users'],
    });
    const users = (await api('GET', '/users')).body.users as { id: number; username: string; role: string }[];
    const ada = users.find((u) => u.username === 'ada@corp.example')!;
    expect(ada.role).toBe('admin');

    // An operator adds ada to on-call here; upstream, she leaves Engineering and it-admins for sales.
    await inTransaction(controller.app.db, async (tx) =>
      addMember(tx, (await findGroup(tx, 'on-call'))!.id, ada.id),
    );
    idp.accounts.get('00u-ada')!.claims.groups = ['sales'];
    const second = await signIn('ada@corp.example', 'ada-upstream-pass');
    expect(second.claims?.sub).toBe(first.claims?.sub);
    expect(second.claims?.groups).toEqual(['on-call', 'sales', 'waveshift-users']);
    const after = (await api('GET', '/users')).body.users as { username: string; role: string }[];
    expect(after.filter((u) => u.username.startsWith('ada'))).toEqual([
      expect.objectContaining({ username: 'ada@corp.example', role: 'user' }),
    ]);

    const audit = (await api('GET', '/api/audit-log?limit=100')).body.entries as {
      action: string;
      actor: string;
      target: string;
      detail: Record<string, unknown> | null;
    }[];
    const ofAda = audit.filter(
      (e) => e.target === 'user:ada@corp.example' || e.actor === 'user:ada@corp.example',
    );
    expect(ofAda.map((e) => e.action).sort()).toEqual([
      'oidc.login',
      'oidc.login',
      'user.create',
      'user.groups',
      'user.groups',
      'user.update',
    ]);
    expect(ofAda.find((e) => e.action === 'oidc.login' && e.detail?.ignoredGroups)?.detail).toEqual({
      upstream: idp.issuer,
      ignoredGroups: ['it-admins', 'not-a-waveshift-group'],
    });
  }, 90_000);

  it('gives an upstream user whose name is taken a name of their own, and no local password', async () => {
    const signedIn = await signIn('bob', 'bob-upstream-pass');
    expect(signedIn.claims).toMatchObject({ preferred_username: 'bob-2', groups: ['waveshift-users'] });
    const login = async (username: string, password: string) =>
      (
        await exchange(`${controller.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
          ca,
          timeoutMs: 30_000,
        })
      ).status;
    expect(await login('bob', 'bob-local-pass-123')).toBe(200);
    expect(await login('bob-2', '!upstream')).toBe(401);
    // Nor can an operator give them one, or a TOTP: a second way in the upstream's policies never see.
    const bob2 = ((await api('GET', '/users')).body.users as { id: number; username: string }[]).find(
      (u) => u.username === 'bob-2',
    )!;
    const reset = await api('PATCH', `/users/${bob2.id}`, { password: 'a-local-password-1234' });
    expect(reset.status).toBe(409);
    expect(reset.body.error.message).toMatch(/signs in through https:\/\/.*: a password is kept there/);
    const totp = await api('POST', `/users/${bob2.id}/totp`, { recipientPublicKey: `${'A'.repeat(43)}=` });
    expect(totp.status).toBe(409);
    expect(await login('bob-2', 'a-local-password-1234')).toBe(401);
  }, 60_000);

  it('refuses a disabled user, a wrong state, a callback from another browser and a replayed one', async () => {
    idp.accounts.set('00u-carol', {
      password: 'carol-upstream-pass',
      claims: { preferred_username: 'carol', email: 'carol@corp.example', groups: ['sales'] },
    });
    expect((await signIn('carol', 'carol-upstream-pass')).claims?.groups).toEqual([
      'sales',
      'waveshift-users',
    ]);
    const carol = ((await api('GET', '/users')).body.users as { id: number; username: string }[]).find(
      (u) => u.username === 'carol',
    )!;
    expect((await api('POST', `/users/${carol.id}/disable`)).status).toBe(200);
    const disabled = await signIn('carol', 'carol-upstream-pass');
    expect(disabled.refused?.status).toBe(403);
    expect(disabled.refused?.text).toMatch(/account carol is disabled/);

    // A state that was never issued, even with a cookie to match.
    const browser = new Browser(ca);
    const { callback } = await upstreamLogin(browser, 'ada@corp.example', 'ada-upstream-pass');
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state-value');
    const forger = new Browser(ca);
    forger.setCookie(callback, 'waveshift_upstream_state', 'forged-state-value');
    const wrongState = await forger.open(forged.href);
    expect(wrongState.status).toBe(400);
    expect(wrongState.text).toMatch(/expired or was already used/);

    // The callback delivered to a browser that did not start the sign-in.
    const stranger = await new Browser(ca).open(callback);
    expect(stranger.status).toBe(400);
    expect(stranger.location).toBeUndefined();

    // The right browser completes it; replayed afterwards, even with the state cookie put back, it fails.
    const state = new URL(callback).searchParams.get('state')!;
    const done = await browser.follow(callback);
    expect(done.location).toMatch(/^https:\/\/kasm\.internal\/api\/oidc_callback\?code=/);
    browser.setCookie(callback, 'waveshift_upstream_state', state);
    const replayed = await browser.open(callback);
    expect(replayed.status).toBe(400);
    expect(replayed.location).toBeUndefined();

    const failures = (
      (await api('GET', '/api/audit-log?limit=200')).body.entries as {
        action: string;
        detail: { reason: string };
      }[]
    )
      .filter((e) => e.action === 'oidc.upstream-login-failed')
      .map((e) => e.detail.reason);
    expect(failures).toEqual(
      expect.arrayContaining([
        'the Waveshift account carol is disabled',
        'this sign-in expired or was already used',
      ]),
    );
  }, 90_000);

  it('verifies the upstream’s certificate: without its CA the provider cannot be reached', async () => {
    const options = {
      issuer: idp.issuer,
      clientId: 'waveshift',
      clientSecret: 'unused',
      groupsClaim: 'groups',
      groupMap: {},
      adminGroups: [],
    };
    const untrusting = upstreamRelyingParty(options, `${issuer}/upstream/callback`);
    const refused = await untrusting.start().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UpstreamUnreachableError);
    expect((refused as Error).message).toMatch(/certificate/i);
    const caFile = join(tmp.path, 'upstream-ca.pem');
    const trusting = upstreamRelyingParty({ ...options, caFile }, `${issuer}/upstream/callback`);
    expect((await trusting.start()).url.href.startsWith(`${idp.issuer}/`)).toBe(true);
  });

  it('makes one user of two first sign-ins of one subject at once', async () => {
    const identity = { subject: '00u-twin', username: 'twin', displayName: 'Twin', groups: [] };
    const audit = { client: 'kasm', requestId: 'req-twin' };
    // The first sign-in has inserted the user and not committed yet when the second one starts.
    const first = await controller.app.db.connect();
    try {
      await first.query('begin');
      const made = await createUpstreamUser(first, { ...identity, issuer: idp.issuer, role: 'user' });
      expect(made.created).toBe(true);
      // Renamed upstream in between: only the (issuer, subject) conflicts, not the name.
      const second = signInUpstreamUser(
        controller.app.db,
        idp.issuer,
        { ...identity, username: 'twin-renamed' },
        audit,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.query('commit');
      const result = await second;
      expect(result).toMatchObject({ status: 'signed-in', created: false, user: { id: made.user.id } });
    } finally {
      first.release();
    }
  });

  it('limits callbacks per address like the password form', async () => {
    const limited = await startController({
      ...controllerOptions,
      port: 0,
      authRateLimit: { max: 2, timeWindowMs: 60_000 },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await exchange(`${limited.url}/auth/upstream/callback?state=guess-${i}&code=x`, {
          method: 'GET',
          headers: {},
          ca,
          timeoutMs: 30_000,
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([400, 400, 429]);
    } finally {
      await limited.close();
    }
  }, 60_000);

  it('takes no password at Waveshift’s own form while an upstream provider is configured', async () => {
    const browser = new Browser(ca);
    const { action } = await startSignIn(browser);
    expect(action.startsWith(idp.issuer)).toBe(true);
    const posted = await browser.open(`${issuer}/interaction/abcdefghijklmnop/login`, {
      username: 'bob',
      password: 'bob-local-pass-123',
    });
    expect(posted.status).toBe(404);
  }, 60_000);
});
