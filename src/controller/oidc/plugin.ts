import type { IncomingMessage } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { passwordFailure } from '../auth/login-failure';
import { DECOY_HASH_PROMISE, verifyPassword } from '../auth/passwords';
import { acceptTotpCode } from '../auth/totp';
import { unknownUsernameTarget } from '../auth/unknown-username';
import { recordAudit } from '../repositories/audit';
import {
  endPendingSecondFactor,
  holdPendingSecondFactor,
  pendingSecondFactor,
} from '../repositories/pending-second-factor';
import { findLogin, findLoginById } from '../repositories/users';
import { codePage, loginPage } from './pages';
import { createProvider, INTERACTION_PATH, OIDC_ROUTES, type OidcOptions } from './provider';
import { SIGN_IN_FAILED, USER_FAILURE_WINDOW_MINUTES, userSignInBlocked } from './sign-in-throttle';
import { upstreamSignIn } from './upstream-routes';

const TOO_MANY = `Too many failed sign-ins for this user: try again in ${USER_FAILURE_WINDOW_MINUTES} minutes.`;

export interface OidcPluginOptions extends OidcOptions {
  /** Sign-in attempts per client address and window (brute-force brake), as for /auth/login. */
  rateLimit: { max: number; timeWindowMs: number };
}

type SignInOptions = Pick<OidcPluginOptions, 'rateLimit' | 'upstream'>;

const FORM = 'application/x-www-form-urlencoded';

declare module 'fastify' {
  interface FastifyInstance {
    oidc: Awaited<ReturnType<typeof createProvider>>;
  }
}

/**
 * Mounts the OpenID Connect provider under the issuer's path. Its own routes (discovery, authorize, token,
 * userinfo, JWKS, end-session, revocation) go straight to oidc-provider from an onRequest hook, before
 * Fastify parses a body or asks for an API key: they authenticate clients and users themselves. The sign-in
 * page (the provider's "interaction") is ours, checking the controller's users with their scrypt hashes.
 */
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
 * The sign-in pages. Registered after the rate limiter (it applies to routes defined after it): logins are
 * limited per client address like /auth/login. A user with TOTP gives their code on a second page, shown
 * only once their password was right; until then every user looks the same.
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
    /** A form the sign-in pages post: rate-limited per address, kept out of the OpenAPI document. */
    const formRoute = (body: Record<string, unknown>) => ({
      config: { auth: 'none' as const, rateLimit },
      schema: { hide: true, params: uidParams, body },
    });
    const loginAction = (uid: string) => `${base}/${uid}/login`;
    const codeAction = (uid: string) => `${base}/${uid}/code`;
    const html = (reply: FastifyReply, status: number, body: string) =>
      reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

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

    /** A failed sign-in: audited with its reason (it counts toward the user's throttle), never the secret typed. */
    const recordFailure = (request: FastifyRequest, target: string, client: string, reason: string) =>
      recordAudit(app.db, {
        actor: 'anonymous',
        action: SIGN_IN_FAILED,
        target,
        detail: { client, reason },
        requestId: request.id,
      });

    /** The per-user brake: audited, and answered with the page the user was on. */
    const throttled = async (
      request: FastifyRequest,
      reply: FastifyReply,
      target: string,
      client: string,
      page: string,
    ) => {
      if (!(await userSignInBlocked(app.db, target))) return false;
      await recordAudit(app.db, {
        actor: 'anonymous',
        action: 'oidc.login-throttled',
        target,
        detail: { client },
        requestId: request.id,
      });
      html(reply, 429, page);
      return true;
    };

    const finishSignIn = async (
      request: FastifyRequest,
      reply: FastifyReply,
      user: { id: number; username: string },
      client: string,
      secondFactor: 'totp' | undefined,
    ) => {
      await recordAudit(app.db, {
        actor: `user:${user.username}`,
        action: 'oidc.login',
        target: `client:${client}`,
        ...(secondFactor ? { detail: { secondFactor } } : {}),
        requestId: request.id,
      });
      reply.hijack();
      await provider.interactionFinished(
        request.raw,
        reply.raw,
        { login: { accountId: String(user.id) } },
        { mergeWithLastSubmission: false },
      );
    };

    scope.get<{ Params: { uid: string } }>(
      `${base}/:uid`,
      // Rate-limited like the forms: with an upstream provider, each view writes a pending sign-in row.
      { config: { auth: 'none', rateLimit }, schema: { hide: true, params: uidParams } },
      async (request, reply) => {
        const details = await provider.interactionDetails(request.raw, reply.raw);
        if (details.prompt.name === 'login') {
          const client = String(details.params.client_id);
          if (upstream) return upstream.redirect(request, reply, details.uid, client);
          const waiting = await pendingSecondFactor(app.db, details.uid);
          return html(
            reply,
            200,
            waiting === undefined
              ? loginPage(loginAction(details.uid), client)
              : codePage(codeAction(details.uid), client),
          );
        }
        reply.hijack();
        await grantConsent(request.raw, reply.raw);
      },
    );

    scope.post<{ Params: { uid: string }; Body: { username?: string; password?: string } }>(
      `${base}/:uid/login`,
      formRoute({
        type: 'object',
        required: ['username', 'password'],
        properties: {
          username: { type: 'string', maxLength: 128 },
          password: { type: 'string', maxLength: 1024 },
        },
      }),
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
        const again = (problem: string) => loginPage(loginAction(details.uid), client, problem);
        if (await throttled(request, reply, target, client, again(TOO_MANY))) return reply;
        const failure = passwordFailure(login, valid);
        if (!login || failure !== undefined) {
          await recordFailure(request, target, client, failure ?? 'unknown-user');
          return html(reply, 401, again('Wrong user name or password.'));
        }
        if (login.totpSecret !== null) {
          const ttlSeconds = Math.max(1, (details.exp ?? 0) - Math.floor(Date.now() / 1000));
          await holdPendingSecondFactor(app.db, details.uid, login.user.id, ttlSeconds);
          return html(reply, 200, codePage(codeAction(details.uid), client));
        }
        await finishSignIn(request, reply, login.user, client, undefined);
      },
    );

    scope.post<{ Params: { uid: string }; Body: { code?: string } }>(
      `${base}/:uid/code`,
      formRoute({
        type: 'object',
        required: ['code'],
        properties: { code: { type: 'string', maxLength: 16 } },
      }),
      async (request, reply) => {
        const details = await provider.interactionDetails(request.raw, reply.raw);
        const client = String(details.params.client_id);
        const userId = await pendingSecondFactor(app.db, details.uid);
        const login = userId === undefined ? undefined : await findLoginById(app.db, userId);
        if (!login || login.user.disabled || login.totpSecret === null) {
          // Expired, or the user changed meanwhile: back to the password.
          await endPendingSecondFactor(app.db, details.uid);
          return html(
            reply,
            401,
            loginPage(loginAction(details.uid), client, 'Sign in again with your user name and password.'),
          );
        }
        const target = `user:${login.user.username}`;
        const again = (problem: string) => codePage(codeAction(details.uid), client, problem);
        if (await throttled(request, reply, target, client, again(TOO_MANY))) return reply;
        const verdict = await acceptTotpCode(
          app.db,
          { id: login.user.id, totpSecret: login.totpSecret },
          request.body.code ?? '',
        );
        if (verdict !== 'accepted') {
          await recordFailure(request, target, client, verdict);
          return html(
            reply,
            401,
            again(
              verdict === 'replayed-code'
                ? 'That code was used already: wait for the next one.'
                : 'Wrong code: type the code your authenticator app shows now.',
            ),
          );
        }
        await endPendingSecondFactor(app.db, details.uid);
        await finishSignIn(request, reply, login.user, client, 'totp');
      },
    );
  });
};
