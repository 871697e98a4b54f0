import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealFor, sealingKeyPair } from '../src/controller/auth/sealed-box';
import { totpCodeAt, totpStepOf, totpUri } from '../src/controller/auth/totp';
import type { RunningController } from '../src/controller/server';
import { ControllerClient } from '../src/controller-client/client';
import { parseRelayOutput, relayTransport } from '../src/controller-client/relay';
import { renderUserList, renderUserResult } from '../src/users/manage';
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
const CLIENT_SECRET = randomBytes(24).toString('base64url');
const STEP_MS = 30_000;
/** RFC 6238's test secret (ASCII "12345678901234567890"), base32. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP codes and the sealed enrolment (pure)', () => {
  it('reads RFC 6238’s SHA-1 vectors as 6-digit codes, one step of drift either way, no more', () => {
    // RFC 6238 appendix B: 94287082 at T=59 s (step 1), 07081804 at T=1111111109 s; their last 6 digits.
    expect(totpCodeAt(RFC_SECRET, 59_000)).toBe('287082');
    expect(totpStepOf('287082', RFC_SECRET, 59_000)).toBe(1);
    expect(totpStepOf('081804', RFC_SECRET, 1_111_111_109_000)).toBe(37_037_036);
    expect(totpStepOf('287 082', RFC_SECRET, 59_000)).toBe(1);
    expect(totpStepOf('287082', RFC_SECRET, 59_000 + STEP_MS)).toBe(1);
    expect(totpStepOf('287082', RFC_SECRET, 59_000 - STEP_MS)).toBe(1);
    expect(totpStepOf('287082', RFC_SECRET, 59_000 + 2 * STEP_MS)).toBeUndefined();
    for (const bad of ['28708', '2870820', '28708a', '', '287082\n1']) {
      expect(totpStepOf(bad, RFC_SECRET, 59_000)).toBeUndefined();
    }
    const uri = new URL(totpUri('ada@example', RFC_SECRET));
    expect(uri.protocol).toBe('otpauth:');
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      issuer: 'Waveshift',
      secret: RFC_SECRET,
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });

  it('opens a sealed secret with the one-time key only', () => {
    const keys = sealingKeyPair();
    const sealed = sealFor(keys.publicKey, 'the secret');
    expect(JSON.stringify(sealed)).not.toContain('the secret');
    expect(keys.open(sealed)).toBe('the secret');
    expect(sealingKeyPair().open(sealed)).toBeUndefined();
    expect(keys.open({ ...sealed, box: sealFor(keys.publicKey, 'x').box })).toBeUndefined();
  });

  it('shows whether TOTP is on, and the enrolment once', () => {
    const user = {
      id: 1,
      username: 'tina',
      displayName: null,
      role: 'user' as const,
      disabled: false,
      totp: true,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
    expect(renderUserList({ users: [user, { ...user, username: 'ulla', totp: false }] })).toMatch(
      /totp[\s\S]*tina.*\bon\b[\s\S]*ulla.*\boff\b/,
    );
    expect(renderUserResult({ action: 'shown', user })).toMatch(/TOTP on/);
    const uri = totpUri('tina', RFC_SECRET);
    expect(
      renderUserResult({ action: 'totp-enabled', user, totp: { uri, secret: RFC_SECRET } }).split('\n'),
    ).toEqual([
      'User tina now gives a TOTP code after the password.',
      'Add it to the user’s authenticator app (shown once, not stored anywhere by wavectl):',
      `  ${uri}`,
      `  secret: ${RFC_SECRET}`,
    ]);
  });
});

describe('TOTP at sign-in (openid-client, real controller and PostgreSQL, HTTPS)', () => {
  let pg: PostgresServer;
  let controller: RunningController;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let ca: string;
  let issuer: string;
  let kasm: oidc.Configuration;

  const api = (method: string, path: string, body?: unknown) =>
    callApi(controller.url, ca, method, path, body);
  const cli = (args: string[]) =>
    runCli(['--dir', tmp.path, 'users', ...args], {
      cwd: tmp.path,
      env: { WAVESHIFT_API_KEY: TEST_API_KEY },
    });
  const addUser = async (username: string) =>
    expect((await api('POST', '/users', { username, password: `${username}-pass-123456` })).status).toBe(201);
  const enrol = async (username: string) => {
    const run = await cli(['totp', 'enable', username, '--json']);
    expect(run.code, run.stderr).toBe(0);
    return run.json<{ user: { totp: boolean }; totp: { uri: string; secret: string } }>();
  };
  const auditOf = async (username: string) =>
    (
      (await api('GET', '/api/audit-log?limit=500')).body.entries as {
        action: string;
        target: string;
        detail: Record<string, unknown> | null;
      }[]
    ).filter((e) => e.target === `user:${username}`);

  /** Kasm starts a sign-in; the browser gives the password. Returns the page that follows and the checks. */
  const passwordStep = async (browser: Browser, username: string, password: string) => {
    const { url, checks } = await authorizationRequest(kasm, REDIRECT);
    const form = await browser.follow(url.href);
    expect(form.text).toMatch(/name="password"/);
    const page = await browser.follow(new URL(actionOf(form.text), issuer).href, { username, password });
    return { page, checks };
  };
  const actionOf = (html: string) => /action="([^"]+)"/.exec(html)![1]!.replace(/&#38;/g, '&');
  const codeStep = (browser: Browser, page: { text: string }, code: string) =>
    browser.follow(new URL(actionOf(page.text), issuer).href, { code });
  const isCodePage = (page: { status: number; text: string }) =>
    page.status === 200 && /name="code"/.test(page.text) && !/name="password"/.test(page.text);

  beforeAll(async () => {
    pg = await startPostgres();
    tmp = await makeTempDir('wavectl-totp-');
    ({ controller, ca, issuer } = await startProviderController(
      await pg.createDatabase('totp'),
      { clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT], postLogoutRedirectUris: [] },
      { loopbackHttpPort: 0 },
    ));
    await writeControllerDeployment(tmp.path, controller.url, ca);
    kasm = await oidc.discovery(new URL(issuer), 'kasm', undefined, oidc.ClientSecretBasic(CLIENT_SECRET), {
      [oidc.customFetch]: fetchTrusting(ca),
    });
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await pg?.stop();
    await tmp?.remove();
  });

  it('enrols with `users totp enable`, then asks for the code after the password, once per code', async () => {
    await addUser('tina');
    const human = await cli(['totp', 'enable', 'tina']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^ {2}otpauth:\/\/totp\/Waveshift:tina\?/m);
    // Turned on already: a second enable is refused rather than silently replacing the user's authenticator.
    const again = await cli(['totp', 'enable', 'tina']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^wavectl: .*TOTP on already: turn it off first/);
    expect((await cli(['totp', 'disable', 'tina', '--yes'])).code).toBe(0);

    const { user, totp } = await enrol('tina');
    expect(user.totp).toBe(true);
    expect(new URL(totp.uri).searchParams.get('secret')).toBe(totp.secret);
    expect((await cli(['show', 'tina', '--json'])).json<{ user: { totp: boolean } }>().user.totp).toBe(true);
    expect((await cli(['list'])).stdout).toMatch(/tina .* on /);
    // The secret is in the enrolment output only.
    expect((await cli(['show', 'tina', '--json'])).stdout).not.toContain(totp.secret);

    // A wrong password looks as it does for anyone: the password form again, no hint of a second step.
    const wrong = await passwordStep(new Browser(ca), 'tina', 'not-tinas-password');
    expect(wrong.page.status).toBe(401);
    expect(wrong.page.text).toMatch(/name="password"/);
    expect(wrong.page.text).not.toMatch(/name="code"/);

    const browser = new Browser(ca);
    const { page, checks } = await passwordStep(browser, 'tina', 'tina-pass-123456');
    expect(isCodePage(page)).toBe(true);
    expect(page.location).toBeUndefined();
    const now = Date.now();
    const right = totpCodeAt(totp.secret, now);
    const wrongCode = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const refused = await codeStep(browser, page, wrongCode);
    expect(refused.status).toBe(401);
    expect(refused.location).toBeUndefined();
    expect(refused.text).toMatch(/Wrong code/);
    const done = await codeStep(browser, refused, right);
    expect(done.location).toMatch(/^https:\/\/kasm\.internal\/api\/oidc_callback\?code=/);
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(done.location!), checks);
    expect(tokens.claims()).toMatchObject({ preferred_username: 'tina' });

    // The same code again, in another sign-in: refused, though its time step is still current.
    const replay = new Browser(ca);
    const second = await passwordStep(replay, 'tina', 'tina-pass-123456');
    const replayed = await codeStep(replay, second.page, right);
    expect(replayed.status).toBe(401);
    expect(replayed.text).toMatch(/used already/);
    // The next step's code (within the allowed drift) still signs in.
    const next = await codeStep(replay, replayed, totpCodeAt(totp.secret, now + STEP_MS));
    expect(next.location).toMatch(/code=/);

    const audit = await auditOf('tina');
    const failures = audit.filter((e) => e.action === 'oidc.login-failed').map((e) => e.detail);
    expect(failures).toEqual([
      { client: 'kasm', reason: 'replayed-code' },
      { client: 'kasm', reason: 'wrong-code' },
      { client: 'kasm', reason: 'wrong-password' },
    ]);
    expect(JSON.stringify(audit)).not.toContain(totp.secret);
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['user.totp-enable', 'user.totp-disable']),
    );
  }, 90_000);

  it('counts wrong codes in the per-user brake: after 10, even the right code waits', async () => {
    await addUser('tom');
    const { totp } = await enrol('tom');
    const browser = new Browser(ca);
    let { page } = await passwordStep(browser, 'tom', 'tom-pass-123456');
    const right = totpCodeAt(totp.secret, Date.now());
    for (let i = 0; i < 10; i++) {
      const wrong = String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0');
      page = await codeStep(browser, page, wrong);
      expect(page.status).toBe(401);
    }
    const held = await codeStep(browser, page, right);
    expect(held.status).toBe(429);
    expect(held.location).toBeUndefined();
    expect((await auditOf('tom')).map((e) => e.action)).toContain('oidc.login-throttled');
  }, 60_000);

  it('turns TOTP off only with consent; the password alone signs in again', async () => {
    await addUser('tess');
    await enrol('tess');
    const refused = await cli(['totp', 'disable', 'tess']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^wavectl: refusing to turn TOTP off for tess without --yes/);
    expect((await cli(['show', 'tess', '--json'])).json<{ user: { totp: boolean } }>().user.totp).toBe(true);
    const off = await cli(['totp', 'disable', 'tess', '--yes', '--json']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.json<{ user: { totp: boolean } }>().user.totp).toBe(false);
    const { page, checks } = await passwordStep(new Browser(ca), 'tess', 'tess-pass-123456');
    expect(page.location).toMatch(/code=/);
    const tokens = await oidc.authorizationCodeGrant(kasm, new URL(page.location!), checks);
    expect(tokens.claims()).toMatchObject({ preferred_username: 'tess' });
  }, 60_000);

  it('asks the session API for the code too', async () => {
    await addUser('ulla');
    const { totp } = await enrol('ulla');
    const login = (code?: string) =>
      api('POST', '/auth/login', {
        username: 'ulla',
        password: 'ulla-pass-123456',
        ...(code ? { code } : {}),
      });
    expect((await login()).status).toBe(401);
    const code = totpCodeAt(totp.secret, Date.now());
    const ok = await login(code);
    expect(ok.status).toBe(200);
    expect(ok.body.user.totp).toBe(true);
    expect((await login(code)).status).toBe(401);
    const reasons = (await auditOf('ulla'))
      .filter((e) => e.action === 'auth.login-failed')
      .map((e) => e.detail?.reason);
    expect(reasons).toEqual(['replayed-code', 'code-missing']);
  }, 60_000);

  it('sends the enrolment through the SSM relay sealed: the relay’s output never holds the secret', async () => {
    await addUser('vera');
    const headerFile = join(tmp.path, 'api-key-header');
    await writeFile(headerFile, `X-API-Key: ${TEST_API_KEY}\n`, { mode: 0o600 });
    const outputs: string[] = [];
    const run = promisify(execFile);
    const relayed = new ControllerClient(
      relayTransport(
        'local shell',
        async (script) => {
          const out = await run('bash', ['-c', script]);
          outputs.push(out.stdout);
          return { ...out, ok: true };
        },
        { baseUrl: controller.loopbackUrl!, headerFile },
      ),
    );
    const vera = (await relayed.listUsers()).find((u) => u.username === 'vera')!;
    const keys = sealingKeyPair();
    const { user, sealed } = await relayed.enableTotp(vera.id, keys.publicKey);
    expect(user.totp).toBe(true);
    const { secret } = JSON.parse(keys.open(sealed)!) as { secret: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const answer = parseRelayOutput(outputs.at(-1)!);
    expect(JSON.stringify(answer.body)).not.toContain(secret);
    const browser = new Browser(ca);
    const { page } = await passwordStep(browser, 'vera', 'vera-pass-123456');
    expect((await codeStep(browser, page, totpCodeAt(secret, Date.now()))).location).toMatch(/code=/);
  }, 60_000);
});
