import type { IncomingMessage } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { DECOY_HASH_PROMISE, verifyPassword } from '../auth/passwords';
import { unknownUsernameTarget } from '../auth/unknown-username';
import { recordAudit } from '../repositories/audit';
import { findLogin } from '../repositories/users';
import { loginPage } from './pages';
import { createProvider, INTERACTION_PATH, OIDC_ROUTES, type OidcOptions } from './provider';
import { USER_FAILURE_WINDOW_MINUTES, userSignInBlocked } from './sign-in-throttle';
import { upstreamSignIn } from './upstream-routes';

export interface OidcPluginOptions extends OidcOptions {
  /** Sign-in attempts per client address and window (brute-force brake), as for /auth/login. */
  rateLimit: { max: number; timeWindowMs: number };
}

type SignInOptions = Pick<OidcPluginOptions, 'rateLimit' | 'upstream'>;

const FORM = 'application/x-www-form-urlencoded';

/**
 * Mounts the OpenID Connect provider under the issuer's path. Its own routes (discovery, authorize, token,
 * userinfo, JWKS, end-session, revocation) go straight to oidc-provider from an onRequest hook, before
 * Fastify parses a body or asks for an API key: they authenticate clients and users themselves. The sign-in
 * page (the provider's "interaction") is ours, checking the controller's users with their scrypt hashes.
 */
declare module 'fastify' {
  interface FastifyInstance {
    oidc: Awaited<ReturnType<typeof createProvider>>;
  }
}

const providerPlugin: FastifyPluginAsync<OidcOptions> = async (app, options) => {
  const created = await createProvider(app.db, options);
  app.decorate('oidc', created);
  const { provider, mountPath } = created;
  const handle = provider.callback();
  const routes = Object.values(OIDC_ROUTES)
    .map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  const providerPath = new RegExp(`^${mountPath}(/\\.well-known/openid-configuration|${routes})(/|\\?|$)`);

  app.addHook('onRequest', async (request, reply) => {
    const url = request.raw.url ?? '';
    if (!providerPath.test(url)) return;
    reply.hijack();
    const raw = request.raw as IncomingMessage & { originalUrl?: string };
    raw.originalUrl = url;
    raw.url = url.slice(mountPath.length) || '/';
    handle(raw, reply.raw);
  });
};

/** The provider and its routes; registered before the API-key check, which its routes do not use. */
export const oidcProviderPlugin = fp(providerPlugin, { name: 'oidc', dependencies: ['waveshift-database'] });

/**
 * The sign-in page. Registered after the rate limiter (it applies to routes defined after it): logins are
 * limited per client address like /auth/login.
 */
export const oidcSignInRoutes: FastifyPluginAsync<SignInOptions> = async (app, options) => {
  const { provider, mountPath } = app.oidc;
  const upstream = options.upstream && upstreamSignIn(app, options.upstream, app.oidc);
  await app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    const rateLimit = { max: options.rateLimit.max, timeWindow: options.rateLimit.timeWindowMs };
    const base = `${mountPath}${INTERACTION_PATH}`;
    upstream?.register(scope, rateLimit);
    const uidParams = {
      type: 'object',
      required: ['uid'],
      properties: { uid: { type: 'string', pattern: '^[A-Za-z0-9_-]{10,64}$' } },
    } as const;

    /** Ends an interaction that needs no input: consent for our first-party clients is given by signing in. */
    const grantConsent = async (raw: IncomingMessage, res: import('node:http').ServerResponse) => {
      const details = await provider.interactionDetails(raw, res);
      const { prompt, params, session, grantId } = details;
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant!.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant!.addOIDCClaims(missing.missingOIDCClaims);
      await provider.interactionFinished(
        raw,
        res,
        { consent: { grantId: await grant!.save() } },
        {
          mergeWithLastSubmission: true,
        },
      );
    };

    scope.get<{ Params: { uid: string } }>(
      `${base}/:uid`,
      { config: { auth: 'none' }, schema: { hide: true, params: uidParams } },
      async (request, reply) => {
        const details = await provider.interactionDetails(request.raw, reply.raw);
        if (details.prompt.name === 'login') {
          if (upstream)
            return upstream.redirect(request, reply, details.uid, String(details.params.client_id));
          return reply
            .type('text/html; charset=utf-8')
            .header('cache-control', 'no-store')
            .send(loginPage(`${base}/${details.uid}/login`, String(details.params.client_id)));
        }
        reply.hijack();
        await grantConsent(request.raw, reply.raw);
      },
    );

    scope.post<{ Params: { uid: string }; Body: { username?: string; password?: string } }>(
      `${base}/:uid/login`,
      {
        config: { auth: 'none', rateLimit },
        schema: {
          hide: true,
          params: uidParams,
          body: {
            type: 'object',
            required: ['username', 'password'],
            properties: {
              username: { type: 'string', maxLength: 128 },
              password: { type: 'string', maxLength: 1024 },
            },
          },
        },
      },
      async (request, reply) => {
        // With an upstream provider, it alone vouches for users: no password is taken here.
        if (upstream)
          return reply.code(404).send({ error: 'Not Found', message: 'sign in at the identity provider' });
        const details = await provider.interactionDetails(request.raw, reply.raw);
        const { username = '', password = '' } = request.body;
        const login = await findLogin(app.db, username);
        const valid = await verifyPassword(password, login?.passwordHash ?? (await DECOY_HASH_PROMISE()));
        const client = String(details.params.client_id);
        const target = login ? `user:${login.user.username}` : unknownUsernameTarget(username);
        if (await userSignInBlocked(app.db, target)) {
          await recordAudit(app.db, {
            actor: 'anonymous',
            action: 'oidc.login-throttled',
            target,
            detail: { client },
            requestId: request.id,
          });
          return reply
            .code(429)
            .type('text/html; charset=utf-8')
            .send(
              loginPage(
                `${base}/${details.uid}/login`,
                client,
                `Too many failed sign-ins for this user: try again in ${USER_FAILURE_WINDOW_MINUTES} minutes.`,
              ),
            );
        }
        if (!login || !valid || login.user.disabled) {
          await recordAudit(app.db, {
            actor: 'anonymous',
            action: 'oidc.login-failed',
            target,
            detail: { client },
            requestId: request.id,
          });
          return reply
            .code(401)
            .type('text/html; charset=utf-8')
            .send(loginPage(`${base}/${details.uid}/login`, client, 'Wrong user name or password.'));
        }
        await recordAudit(app.db, {
          actor: `user:${login.user.username}`,
          action: 'oidc.login',
          target: `client:${client}`,
          requestId: request.id,
        });
        reply.hijack();
        await provider.interactionFinished(
          request.raw,
          reply.raw,
          { login: { accountId: String(login.user.id) } },
          { mergeWithLastSubmission: false },
        );
      },
    );
  });
};
