import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { VERSION } from '../version';
import { apiKeyProblem } from './auth/api-key-policy';
import { authPlugin } from './auth/plugin';
import { databaseErrorSummary } from './db/connection-failure';
import { databasePlugin } from './db/plugin';
import { ApiError, errorResponse } from './http-errors';
import { oidcProviderPlugin, oidcSignInRoutes } from './oidc/plugin';
import type { OidcOptions } from './oidc/provider';
import { SECURITY_SCHEMES, trackRoutes, withLinks } from './route-contract';
import { accessServerRoutes } from './routes/access-servers/index';
import { auditRoutes } from './routes/audit/index';
import { authRoutes } from './routes/auth/index';
import { deviceRoutes } from './routes/devices/index';
import { groupRoutes } from './routes/groups/index';
import { healthRoutes } from './routes/health/index';
import { siteRoutes } from './routes/sites/index';
import { userRoutes } from './routes/users/index';
import { accessServerInputSchema, accessServerSchema } from './schemas/access-servers';
import { errorSchema } from './schemas/common';
import { deviceEventSchema, deviceSchema } from './schemas/devices';
import { groupSchema } from './schemas/groups';
import { siteInputSchema, siteSchema } from './schemas/sites';
import { userSchema } from './schemas/users';
import { buildRequestValidator, validationMessage } from './validation';

export interface AppOptions {
  databaseUrl: string;
  /** The deployment key (full rights); only its hash is kept. */
  apiKey: string;
  /** A device goes offline after missing this many consecutive scans of its site (default 2). */
  offlineAfterMissedScans?: number;
  /** Fastify's logger: false (tests), true, or pino options. Secrets are redacted whatever is passed. */
  logger?: boolean | Record<string, unknown>;
  sessionTtlSeconds?: number;
  /** Rate limit of each /auth route per client address (default 10 per minute). */
  authRateLimit?: { max: number; timeWindowMs: number };
  /** Largest accepted request body (default 1 MiB: a full report of 1024 devices is about 100 KB). */
  bodyLimit?: number;
  poolSize?: number;
  /** The OpenID Connect provider (issuer and clients); absent: no provider (tests of other parts). */
  oidc?: OidcOptions;
  /** Serve HTTPS with this certificate and key (PEM); absent: plain HTTP. */
  tls?: { certificatePem: string; keyPem: string };
}

/** Headers and fields that may carry secrets; pino writes `[redacted]` instead. */
export const REDACTED_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.apiKey',
  'body.password',
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function loggerOption(logger: AppOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false || logger === undefined) return false;
  const base = typeof logger === 'object' ? logger : {};
  return { level: 'info', ...base, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
}

/**
 * The controller as a Fastify instance, ready but not listening: tests call `inject()` on it, server.ts
 * listens. Fails (and releases the pool) when the database cannot be reached or migrated.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const keyProblem = apiKeyProblem(options.apiKey, 'the deployment API key');
  if (keyProblem) throw new Error(keyProblem);
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.certificatePem, key: options.tls.keyPem } } : {}),
    logger: loggerOption(options.logger),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // A caller's own X-Request-Id is kept (it ties a relay call to our logs); otherwise a random UUID.
    requestIdHeader: 'x-request-id',
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    schemaController: { compilersFactory: { buildValidator: buildRequestValidator } },
    schemaErrorFormatter: validationMessage,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  // While closing, every response ends its keep-alive connection: Node's server.close() waits for open
  // connections, and a client would otherwise hold an idle one for the whole keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });
  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body, retryAfterSeconds } = errorResponse(error, request.id);
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    if (body.error.code === 'database_unavailable')
      request.log.warn({ err: databaseErrorSummary(error) }, 'database unavailable');
    else if (statusCode >= 500) request.log.error({ err: databaseErrorSummary(error) }, 'request failed');
    else if (!(error instanceof ApiError))
      request.log.info({ code: body.error.code, statusCode }, body.error.message);
    return reply.code(statusCode).send(body);
  });
  trackRoutes(app);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'not_found',
        message: `no route ${request.method} ${request.url.split('?')[0]}`,
        requestId: request.id,
      },
    }),
  );

  for (const schema of [
    errorSchema,
    siteSchema,
    siteInputSchema,
    accessServerSchema,
    accessServerInputSchema,
    deviceSchema,
    deviceEventSchema,
    userSchema,
    groupSchema,
  ]) {
    app.addSchema(schema);
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Waveshift controller', version: VERSION },
      components: {
        securitySchemes: SECURITY_SCHEMES,
      },
      security: [{ apiKey: [] }],
    },
    transformObject: (document) =>
      withLinks('openapiObject' in document ? document.openapiObject : document.swaggerObject),
  });
  await app.register(databasePlugin, { databaseUrl: options.databaseUrl, poolSize: options.poolSize });
  if (options.oidc) await app.register(oidcProviderPlugin, options.oidc);
  await app.register(authPlugin, { apiKey: options.apiKey });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new ApiError(429, 'rate_limited', `too many requests; retry in ${Math.ceil(context.ttl / 1000)}s`),
  });

  await app.register(healthRoutes);
  await app.register(siteRoutes);
  await app.register(accessServerRoutes);
  await app.register(deviceRoutes, { offlineAfterMissedScans: options.offlineAfterMissedScans ?? 2 });
  await app.register(userRoutes);
  await app.register(groupRoutes);
  // The password API and the provider's sign-in pages are limited alike per client address.
  const authRateLimit = options.authRateLimit ?? { max: 10, timeWindowMs: 60_000 };
  await app.register(authRoutes, {
    sessionTtlSeconds: options.sessionTtlSeconds ?? 12 * 3600,
    rateLimit: authRateLimit,
  });
  await app.register(auditRoutes);
  if (options.oidc) {
    await app.register(oidcSignInRoutes, {
      rateLimit: authRateLimit,
      upstream: options.oidc.upstream,
    });
  }
  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
  await app.ready();
  return app;
}
