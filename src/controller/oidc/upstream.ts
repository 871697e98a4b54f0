import { readFile } from 'node:fs/promises';
import * as client from 'openid-client';
import { trustingFetch } from './trusting-fetch';
import type { UpstreamMapping } from './upstream-mapping';

/** The upstream OpenID provider the controller delegates sign-in to (Okta, Azure AD, Google, Keycloak…). */
export interface UpstreamOptions extends UpstreamMapping {
  /** The provider's issuer; its discovery document is read from `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** A PEM file of an extra CA to trust besides the system's (a private provider's). */
  caFile?: string;
}

/** Where the upstream sends the browser back: register exactly this at the provider. */
export const UPSTREAM_CALLBACK_PATH = '/upstream/callback';

/** What the callback must check, kept between the redirect and the callback. */
export interface UpstreamChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export class UpstreamUnreachableError extends Error {}
export class UpstreamRefusedError extends Error {}

/**
 * The controller as an OpenID relying party of the upstream (openid-client): authorization code with PKCE,
 * state and nonce, client_secret_basic. Discovery is read at the first sign-in and kept; a failed one is
 * tried again at the next, so a controller starts while its upstream is unreachable.
 */
export function upstreamRelyingParty(options: UpstreamOptions, redirectUri: string) {
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = () => {
    discovered ??= (async () => {
      const ca = options.caFile ? await readFile(options.caFile, 'utf8') : undefined;
      const fetchWithCa = trustingFetch(ca);
      const config = await client.discovery(
        new URL(options.issuer),
        options.clientId,
        undefined,
        client.ClientSecretBasic(options.clientSecret),
        { [client.customFetch]: fetchWithCa, timeout: 15 },
      );
      config[client.customFetch] = fetchWithCa;
      return config;
    })().catch((error: unknown) => {
      discovered = undefined;
      throw new UpstreamUnreachableError(
        `cannot read the discovery document of ${options.issuer}: ${refusal(error)}`,
      );
    });
    return discovered;
  };

  return {
    /** The upstream's authorization URL for a new sign-in, and what its callback must match. */
    async start(): Promise<{ url: URL; checks: UpstreamChecks }> {
      const config = await configuration();
      const checks = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
      };
      // Okta wants the `groups` scope for the groups claim; Google refuses scopes it does not know.
      const offered = config.serverMetadata().scopes_supported ?? [];
      const scope = ['openid', 'profile', 'email', ...(offered.includes('groups') ? ['groups'] : [])];
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: scope.join(' '),
        state: checks.state,
        nonce: checks.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, checks };
    },

    /**
     * The code of `callbackUrl` exchanged and verified (state, PKCE, the ID token's signature, issuer,
     * audience, nonce): the ID token's claims with userinfo's added (some providers put groups only there).
     */
    async finish(callbackUrl: URL, checks: UpstreamChecks): Promise<Record<string, unknown>> {
      const config = await configuration();
      let claims: Record<string, unknown>;
      let accessToken: string;
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        claims = { ...tokens.claims()! };
        accessToken = tokens.access_token;
      } catch (error) {
        throw new UpstreamRefusedError(refusal(error));
      }
      if (!config.serverMetadata().userinfo_endpoint) return claims;
      try {
        const info = await client.fetchUserInfo(config, accessToken, String(claims.sub));
        // openid-client checked that userinfo speaks of the ID token's subject; its claims are the fresher.
        return { ...claims, ...info };
      } catch (error) {
        throw new UpstreamRefusedError(`userinfo: ${refusal(error)}`);
      }
    },
  };
}

/**
 * The provider's error code and description when it gave them, else openid-client's message with its causes
 * (its "something went wrong" wraps the TLS or network error that says what).
 */
function refusal(error: unknown): string {
  const e = error as { error?: string; error_description?: string };
  if (e.error) return e.error_description ? `${e.error}: ${e.error_description}` : e.error;
  const messages: string[] = [];
  for (let at: unknown = error; at && messages.length < 4; at = (at as { cause?: unknown }).cause) {
    messages.push(at instanceof Error ? at.message : String(at));
  }
  return messages.join(': ');
}
