import * as oidc from 'openid-client';
import type { OidcClient } from '../../src/controller/oidc/provider';
import { type RunningController, type StartOptions, startController } from '../../src/controller/server';
import { exchange } from '../../src/controller-client/http-exchange';
import { createCertificateAuthority, issueServerCertificate } from '../../src/tls/certificates';
import { TEST_API_KEY } from './controller';
import { freePort } from './ports';

/** A browser: a cookie jar per origin, manual redirects, trusting the given CAs only. */
export class Browser {
  private jars = new Map<string, Map<string, string>>();
  constructor(private readonly ca: string) {}

  setCookie(url: string, name: string, value: string) {
    const origin = new URL(url).origin;
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    this.jars.get(origin)!.set(name, value);
  }

  async open(url: string, form?: Record<string, string>) {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const res = await exchange(url, {
      method: form ? 'POST' : 'GET',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body,
      ca: this.ca,
      timeoutMs: 30_000,
    });
    for (const line of res.headers['set-cookie'] ?? []) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      const expired =
        value === '' || attributes.some((a) => /expires=Thu, 01 Jan 1970|max-age=0\b/i.test(a.trim()));
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.location ? new URL(res.headers.location, url).href : undefined;
    return { ...res, location };
  }

  /** Follows redirects until `stop` says so (by default: leaving for Kasm), or a page is shown. */
  async follow(
    url: string,
    form?: Record<string, string>,
    stop = (location: string) => location.startsWith('https://kasm.internal'),
  ) {
    let page = await this.open(url, form);
    for (let hops = 0; page.location && !stop(page.location); hops++) {
      if (hops > 12) throw new Error('redirect loop');
      page = await this.open(page.location);
    }
    return page;
  }
}

/** fetch for openid-client (playing Kasm) that trusts only the deployment CA. */
export function fetchTrusting(ca: string): typeof fetch {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = Object.fromEntries(
      new Headers(init?.headers ?? (input instanceof Request ? input.headers : {})),
    );
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body);
    const res = await exchange(url, { method: init?.method ?? 'GET', headers, body, ca, timeoutMs: 30_000 });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
    return new Response(res.text, { status: res.status, headers: out });
  };
}

/**
 * The options of a controller on loopback at `port` serving HTTPS with a CA made for the test (`ca`), the
 * OpenID provider of one client `kasm`; the deployment key is TEST_API_KEY.
 */
export async function providerControllerOptions(
  databaseUrl: string,
  kasm: Omit<OidcClient, 'clientId'>,
  port: number,
  more: Partial<StartOptions> = {},
): Promise<{ options: StartOptions; ca: string; issuer: string }> {
  const authority = await createCertificateAuthority('oidctest', new Date());
  const tls = await issueServerCertificate(
    authority,
    { names: ['localhost'], ips: ['127.0.0.1'] },
    new Date(),
  );
  const issuer = `https://127.0.0.1:${port}/auth`;
  const options: StartOptions = {
    host: '127.0.0.1',
    port,
    databaseUrl,
    apiKey: TEST_API_KEY,
    logger: false,
    tls,
    authRateLimit: { max: 1000, timeWindowMs: 60_000 },
    oidc: { issuer, clients: [{ clientId: 'kasm', ...kasm }] },
    ...more,
  };
  return { options, ca: authority.certificatePem, issuer };
}

/** A controller started with providerControllerOptions on a free port. */
export async function startProviderController(
  databaseUrl: string,
  kasm: Omit<OidcClient, 'clientId'>,
  more: Partial<StartOptions> = {},
): Promise<{ controller: RunningController; ca: string; issuer: string }> {
  const { options, ca, issuer } = await providerControllerOptions(databaseUrl, kasm, await freePort(), more);
  return { controller: await startController(options), ca, issuer };
}

/** One call of the controller's API with the deployment key, over HTTPS trusting `ca`. */
export async function callApi(baseUrl: string, ca: string, method: string, path: string, body?: unknown) {
  const res = await exchange(`${baseUrl}${path}`, {
    method,
    headers: { 'x-api-key': TEST_API_KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    ca,
    timeoutMs: 30_000,
  });
  return { status: res.status, body: JSON.parse(res.text || '{}') };
}

/** What Kasm does to start a sign-in: PKCE, state and nonce; the URL it sends the browser to, and the checks. */
export async function authorizationRequest(kasm: oidc.Configuration, redirectUri: string) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(kasm, {
    redirect_uri: redirectUri,
    scope: 'openid profile groups offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
}
