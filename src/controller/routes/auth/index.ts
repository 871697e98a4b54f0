import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { passwordFailure } from '../../auth/login-failure';
import { DECOY_HASH_PROMISE, verifyPassword } from '../../auth/passwords';
import { hashToken, newSessionToken } from '../../auth/tokens';
import { acceptTotpCode } from '../../auth/totp';
import { unknownUsernameTarget } from '../../auth/unknown-username';
import { databaseErrorSummary } from '../../db/connection-failure';
import { ApiError, unauthorized } from '../../http-errors';
import {
  API_LOGIN_FAILED,
  USER_FAILURE_WINDOW_MINUTES,
  userSignInBlocked,
} from '../../oidc/sign-in-throttle';
import { recordAudit } from '../../repositories/audit';
import {
  createSession,
  deleteSession,
  findLogin,
  findSession,
  type Login,
  purgeExpiredSessions,
} from '../../repositories/users';
import { responses, timestamp } from '../../schemas/common';
import { loginSchema, sessionSchema } from '../../schemas/users';

export interface AuthRouteOptions {
  sessionTtlSeconds: number;
  /** Requests per client address and window on every /auth route (brute-force brake). */
  rateLimit: { max: number; timeWindowMs: number };
}

const bearer = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(header) : null;
  return match?.[1];
};

/** A user with TOTP gives the code with the password here: an API has no second page. */
const totpLoginFailure = async (
  db: FastifyInstance['db'],
  login: Login,
  code: string | undefined,
): Promise<string | undefined> => {
  if (login.totpSecret === null) return undefined;
  if (code === undefined) return 'code-missing';
  const verdict = await acceptTotpCode(db, { id: login.user.id, totpSecret: login.totpSecret }, code);
  return verdict === 'accepted' ? undefined : verdict;
};

/** Password login for users (Kasm and the controller's own UI): sessions are bearer tokens that expire. */
export const authRoutes: FastifyPluginAsync<AuthRouteOptions> = async (app, options) => {
  const rateLimit = { max: options.rateLimit.max, timeWindow: options.rateLimit.timeWindowMs };
  const headers = {
    type: 'object',
    properties: { authorization: { type: 'string', description: 'Bearer <session token>' } },
  } as const;

  const loginFailure = async (login: Login | undefined, valid: boolean, code: string | undefined) =>
    passwordFailure(login, valid) ?? (login ? await totpLoginFailure(app.db, login, code) : undefined);

  app.post<{ Body: { username: string; password: string; code?: string } }>(
    '/auth/login',
    {
      config: { auth: 'none', rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'log in with a password (and a TOTP code, for a user with TOTP); returns a session token',
        body: loginSchema,
        response: responses({
          200: {
            type: 'object',
            required: ['token', 'expiresAt', 'user'],
            properties: { token: { type: 'string' }, expiresAt: timestamp, user: { $ref: 'User#' } },
          },
        }),
      },
    },
    async (request) => {
      const login = await findLogin(app.db, request.body.username);
      const target = login ? `user:${login.user.username}` : unknownUsernameTarget(request.body.username);
      if (await userSignInBlocked(app.db, target)) {
        await recordAudit(app.db, {
          actor: 'anonymous',
          action: 'auth.login-throttled',
          target,
          requestId: request.id,
        });
        throw new ApiError(
          429,
          'rate_limited',
          `too many failed logins for this user; try again in ${USER_FAILURE_WINDOW_MINUTES} minutes`,
        );
      }
      const valid = await verifyPassword(
        request.body.password,
        login?.passwordHash ?? (await DECOY_HASH_PROMISE()),
      );
      const failure = await loginFailure(login, valid, request.body.code);
      if (!login || failure !== undefined) {
        await recordAudit(app.db, {
          actor: 'anonymous',
          action: API_LOGIN_FAILED,
          target,
          detail: { reason: failure },
          requestId: request.id,
        });
        throw unauthorized();
      }
      const token = newSessionToken();
      const { expiresAt } = await createSession(app.db, {
        tokenHash: hashToken(token),
        userId: login.user.id,
        ttlSeconds: options.sessionTtlSeconds,
      });
      await recordAudit(app.db, {
        actor: `user:${login.user.username}`,
        action: 'auth.login',
        target: `user:${login.user.username}`,
        requestId: request.id,
      });
      return { token, expiresAt, user: login.user };
    },
  );

  app.get(
    '/auth/session',
    {
      config: { auth: 'none', rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'check a session token',
        security: [{ session: [] }],
        headers,
        response: responses({ 200: sessionSchema }),
      },
    },
    async (request) => {
      const token = bearer(request);
      const session = token ? await findSession(app.db, hashToken(token)) : undefined;
      if (!session) throw unauthorized();
      return session;
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { auth: 'none', rateLimit },
      schema: {
        tags: ['auth'],
        summary: 'end a session',
        security: [{ session: [] }],
        headers,
        response: responses({
          200: { type: 'object', required: ['loggedOut'], properties: { loggedOut: { type: 'boolean' } } },
        }),
      },
    },
    async (request) => {
      const token = bearer(request);
      if (!token) throw unauthorized();
      const userId = await deleteSession(app.db, hashToken(token));
      // A token that opens no session is a wrong credential, as on /auth/session.
      if (userId === undefined) throw unauthorized();
      await recordAudit(app.db, {
        actor: `user-id:${userId}`,
        action: 'auth.logout',
        target: `user-id:${userId}`,
        requestId: request.id,
      });
      return { loggedOut: true };
    },
  );

  // Expired sessions are refused at once (findSession checks expires_at); this only keeps the table small.
  const sweep = setInterval(() => {
    purgeExpiredSessions(app.db).catch((error) =>
      app.log.warn({ err: databaseErrorSummary(error) }, 'session sweep failed'),
    );
  }, 10 * 60_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
};
