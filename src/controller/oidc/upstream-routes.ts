import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../repositories/audit';
import { savePendingUpstreamLogin, takePendingUpstreamLogin } from '../repositories/upstream-logins';
import { errorPage } from './pages';
import { INTERACTION_SECONDS, type WaveshiftProvider } from './provider';
import {
  UPSTREAM_CALLBACK_PATH,
  type UpstreamOptions,
  UpstreamRefusedError,
  UpstreamUnreachableError,
  upstreamRelyingParty,
} from './upstream';
import { signInUpstreamUser } from './upstream-accounts';
import { emailDomainProblem, upstreamIdentity } from './upstream-mapping';

const STATE_COOKIE = 'waveshift_upstream_state';

const epochSeconds = () => Math.floor(Date.now() / 1000);

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * Sign-in delegated to the upstream provider. The login interaction sends the browser there with a fresh
 * state, nonce and PKCE verifier (kept in PostgreSQL, keyed by the state, and the state also in a cookie
 * bound to this browser); the callback takes them once (a replay finds nothing), checks the cookie against
 * the state, exchanges the code, maps the user, and ends oidc-provider's interaction as the password form
 * does, so Kasm gets its code as with local users.
 */
export function upstreamSignIn(
  app: FastifyInstance,
  upstream: UpstreamOptions,
  oidc: { provider: WaveshiftProvider; mountPath: string },
) {
  const { provider, mountPath } = oidc;
  const callbackPath = `${mountPath}${UPSTREAM_CALLBACK_PATH}`;
  const party = upstreamRelyingParty(upstream, new URL(callbackPath, provider.issuer).href);
  const cookie = (value: string, maxAge: number) =>
    `${STATE_COOKIE}=${value}; Path=${callbackPath}; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`;

  const failed = async (
    request: FastifyRequest,
    reply: FastifyReply,
    code: number,
    reason: string,
    client = 'unknown',
  ) => {
    await recordAudit(app.db, {
      actor: 'anonymous',
      action: 'oidc.upstream-login-failed',
      target: `upstream:${upstream.issuer}`,
      detail: { client, reason },
      requestId: request.id,
    });
    return reply
      .code(code)
      .header('cache-control', 'no-store')
      .header('set-cookie', cookie('', 0))
      .type('text/html; charset=utf-8')
      .send(errorPage('Sign-in failed', reason));
  };

  return {
    /** Answers the login prompt of interaction `uid`: a redirect to the upstream provider. */
    async redirect(request: FastifyRequest, reply: FastifyReply, uid: string, client: string) {
      let started: Awaited<ReturnType<typeof party.start>>;
      try {
        started = await party.start();
      } catch (error) {
        if (!(error instanceof UpstreamUnreachableError)) throw error;
        request.log.warn({ err: error }, 'upstream identity provider unreachable');
        return failed(
          request,
          reply,
          502,
          'the identity provider cannot be reached; try again later',
          client,
        );
      }
      const { state, nonce, codeVerifier } = started.checks;
      await savePendingUpstreamLogin(
        app.db,
        state,
        { uid, codeVerifier, nonce, client },
        INTERACTION_SECONDS,
      );
      return reply
        .code(303)
        .header('cache-control', 'no-store')
        .header('set-cookie', cookie(state, INTERACTION_SECONDS))
        .header('location', started.url.href)
        .send();
    },

    /** The upstream's callback route, limited per address like the password form. */
    register(scope: FastifyInstance, rateLimit: { max: number; timeWindow: number }) {
      scope.get<{ Querystring: { state?: string } }>(
        callbackPath,
        {
          config: { auth: 'none', rateLimit },
          schema: {
            hide: true,
            querystring: { type: 'object', properties: { state: { type: 'string', maxLength: 256 } } },
          },
        },
        async (request, reply) => {
          const state = request.query.state ?? '';
          // Checked before the state is taken: a callback sent to another browser leaves the sign-in alive.
          if (!state || cookieValue(request.headers.cookie, STATE_COOKIE) !== state) {
            return failed(
              request,
              reply,
              400,
              'this sign-in was not started in this browser, or was already used',
            );
          }
          const pending = await takePendingUpstreamLogin(app.db, state);
          if (!pending) return failed(request, reply, 400, 'this sign-in expired or was already used');
          let claims: Record<string, unknown>;
          try {
            claims = await party.finish(new URL(request.url, provider.issuer), { ...pending, state });
          } catch (error) {
            if (error instanceof UpstreamRefusedError || error instanceof UpstreamUnreachableError) {
              return failed(request, reply, 400, `the identity provider: ${error.message}`, pending.client);
            }
            throw error;
          }
          const outsider = emailDomainProblem(claims, upstream.allowedEmailDomain);
          if (outsider) return failed(request, reply, 403, outsider, pending.client);
          const identity = upstreamIdentity(claims, upstream);
          const result = await signInUpstreamUser(app.db, upstream.issuer, identity, {
            client: pending.client,
            requestId: request.id,
          });
          if (result.status === 'disabled') {
            return failed(
              request,
              reply,
              403,
              `the Waveshift account ${result.user.username} is disabled`,
              pending.client,
            );
          }
          const interaction = await provider.Interaction.find(pending.uid);
          if (!interaction) return failed(request, reply, 400, 'this sign-in expired', pending.client);
          interaction.result = { login: { accountId: String(result.user.id) } };
          await interaction.save(interaction.exp - epochSeconds());
          return reply
            .code(303)
            .header('cache-control', 'no-store')
            .header('set-cookie', cookie('', 0))
            .header('location', interaction.returnTo)
            .send();
        },
      );
    },
  };
}
