import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, issueServerCertificate } from '../../src/tls/certificates';

/** A user of the stand-in provider: a password it checks, and the claims it vouches for. */
export interface UpstreamAccount {
  password: string;
  claims: { preferred_username?: string; name?: string; email?: string; groups?: string[] };
}

export interface UpstreamIdp {
  issuer: string;
  /** PEM of the throwaway CA its certificate chains to (the controller's "extra CA"). */
  caPem: string;
  /** Accounts by subject; change them between sign-ins as an administrator at Okta would. */
  accounts: Map<string, UpstreamAccount>;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function formOf(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

/**
 * A second OpenID provider standing in for Okta/Google: another oidc-provider, over HTTPS with its own CA
 * made at run time, one confidential client, PKCE required, and a sign-in page that checks the password (a
 * provider that let anyone in would let a test pass that a real one fails). The groups claim comes in
 * userinfo (and in the ID token only when asked for by the claims parameter), as oidc-provider conforms.
 */
export async function startUpstreamIdp(client: {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}): Promise<UpstreamIdp> {
  const { default: Provider } = await import('oidc-provider');
  const authority = await createCertificateAuthority('upstream-idp', new Date());
  const tls = await issueServerCertificate(
    authority,
    { names: ['localhost'], ips: ['127.0.0.1'] },
    new Date(),
  );
  const accounts = new Map<string, UpstreamAccount>();
  const loginBySub = (login: string) =>
    [...accounts].find(([, a]) => a.claims.preferred_username === login)?.[0];

  // The port is needed for the issuer before the provider exists: listen first, dispatch once built.
  let dispatch: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createHttpsServer({ key: tls.keyPem, cert: tls.certificatePem }, (req, res) =>
    dispatch(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // RS256, as Okta, Google and Azure AD sign ID tokens.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [client.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: {
      keys: [{ ...(privateKey.export({ format: 'jwk' }) as object), use: 'sig', alg: 'RS256', kid: 'k1' }],
    } as never,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId,
      });
      grant.addOIDCScope(String(ctx.oidc.params!.scope));
      await grant.save();
      return grant;
    },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, ...account.claims, email_verified: Boolean(account.claims.email) }),
      };
    },
  });
  const handle = provider.callback();
  dispatch = (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url ?? '');
    if (!match) return void handle(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const form = (problem = '') =>
        `<!DOCTYPE html><title>Upstream sign-in</title>${problem}<form method="post" action="/interaction/${esc(details.uid)}/login"><input name="login"><input name="password" type="password"></form>`;
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(form());
        return;
      }
      const { login = '', password = '' } = await formOf(req);
      const sub = loginBySub(login);
      if (!sub || accounts.get(sub)!.password !== password) {
        res.writeHead(401, { 'content-type': 'text/html' }).end(form('<p>wrong password</p>'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: sub } });
    })().catch((error: Error) => res.writeHead(500).end(error.message));
  };
  return {
    issuer,
    caPem: authority.certificatePem,
    accounts,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
