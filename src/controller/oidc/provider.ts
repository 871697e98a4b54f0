import type { Pool } from 'pg';
import { groupNamesOf } from '../repositories/groups';
import { getUser } from '../repositories/users';
import { postgresAdapter } from './adapter';
import { claimsOf } from './claims';
import { loadProviderKeys } from './keys';
import { errorPage, loggedOutPage, logoutPage } from './pages';
import type { UpstreamOptions } from './upstream';

/** A relying party of the provider (Kasm): its secret comes from SSM through the controller's environment. */
export interface OidcClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface OidcOptions {
  /** https://waveshift.internal/auth in a deployment. */
  issuer: string;
  clients: OidcClient[];
  /** Sign-in delegated to this upstream provider instead of the controller's password form. */
  upstream?: UpstreamOptions;
}

/** Where the provider's own routes live under the issuer; /auth/login etc. stay the session API's. */
export const OIDC_ROUTES = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/jwks',
  end_session: '/end-session',
  revocation: '/revoke',
  introspection: '/introspect',
} as const;

export const INTERACTION_PATH = '/interaction';

/** How long a sign-in (oidc-provider's interaction) may take. */
export const INTERACTION_SECONDS = 600;

/**
 * The OpenID Connect provider (oidc-provider, OpenID Certified): authorization code (PKCE verified when
 * sent, required of public clients), refresh tokens for clients allowed them, RP-initiated logout, RS256 ID tokens. Accounts are
 * the controller's users; a disabled or removed user has no account, so their codes, tokens and refreshes
 * stop working at once.
 */
export async function createProvider(db: Pool, options: OidcOptions) {
  const { default: Provider } = await import('oidc-provider');
  const keys = await loadProviderKeys(db);
  const mountPath = new URL(options.issuer).pathname.replace(/\/$/, '');
  const provider = new Provider(options.issuer, {
    adapter: postgresAdapter(db),
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    })),
    jwks: keys.jwks as never,
    cookies: { keys: keys.cookieKeys },
    routes: OIDC_ROUTES,
    scopes: ['openid', 'offline_access', 'profile', 'groups'],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
    // The ID token carries the granted claims too (groups among them), not only userinfo: Kasm may read either.
    conformIdTokenClaims: false,
    // PKCE is required of clients that cannot keep a secret; a confidential client (Kasm's backend, which
    // authenticates with its secret) may omit it, as RFC 9700 §2.1.1 allows, since whether Kasm sends it
    // is not documented. A challenge that is sent is always verified.
    pkce: { required: (_ctx, client) => client.tokenEndpointAuthMethod === 'none' },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = loggedOutPage();
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `${mountPath}${INTERACTION_PATH}/${interaction.uid}` },
    // Kasm is a first-party client: signing in grants it the scopes it asked for, without a consent page.
    loadExistingGrant: async (ctx) => {
      const oidc = ctx.oidc;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(oidc.client!.clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      const grant = new oidc.provider.Grant({
        clientId: oidc.client!.clientId,
        accountId: oidc.session!.accountId,
      });
      grant.addOIDCScope(String(oidc.params!.scope ?? 'openid'));
      await grant.save();
      oidc.session!.grantIdFor(oidc.client!.clientId, grant.jti);
      return grant;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx, sub) => {
      const id = Number(sub);
      const user = Number.isSafeInteger(id) ? await getUser(db, id) : undefined;
      if (!user || user.disabled) return undefined;
      const claims = claimsOf(user, await groupNamesOf(db, user.id));
      return { accountId: sub, claims: async () => claims as { sub: string } };
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(
        String(out.error),
        out.error_description ? String(out.error_description) : undefined,
      );
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 86_400,
      Interaction: INTERACTION_SECONDS,
      Session: 12 * 3600,
      Grant: 14 * 86_400,
    },
  });
  provider.proxy = false;
  return { provider, mountPath };
}

export type WaveshiftProvider = Awaited<ReturnType<typeof createProvider>>['provider'];
