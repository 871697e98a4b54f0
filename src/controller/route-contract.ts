import type { FastifyInstance, RouteOptions } from 'fastify';
import type { AuthRequirement } from './auth/plugin';

/** The OpenAPI security schemes: who can call what, as the auth plugin enforces it. */
export const SECURITY_SCHEMES = {
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: "the deployment's API key: every route but the public ones",
  },
  scannerKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: "a site scanner's own key: only POST /api/sites/{number}/devices of its site",
  },
  session: { type: 'http', scheme: 'bearer', description: 'a session token from POST /auth/login' },
} as const;

/** The `security` of a route in the OpenAPI document, from its `config.auth` (public routes: none). */
export function securityOf(auth: AuthRequirement | undefined): Record<string, string[]>[] {
  if (auth === 'none') return [];
  if (auth === 'site-scanner') return [{ apiKey: [] }, { scannerKey: [] }];
  return [{ apiKey: [] }];
}

/**
 * OpenAPI links: which answer names the resource another operation takes. They tell a client (and a
 * stateful fuzzer) that the user POST /users creates is /users/{id}, and so on.
 */
const LINKS: {
  from: [string, string, string];
  to: [string, string][];
  parameters: Record<string, string>;
}[] = [
  {
    from: ['post', '/users', '201'],
    to: [
      ['get', '/users/{id}'],
      ['patch', '/users/{id}'],
      ['post', '/users/{id}/disable'],
      ['post', '/users/{id}/totp'],
      ['delete', '/users/{id}/totp'],
      ['delete', '/users/{id}'],
    ],
    parameters: { id: '$response.body#/user/id' },
  },
  {
    from: ['post', '/api/groups', '201'],
    to: [
      ['get', '/api/groups/{id}'],
      ['put', '/api/groups/{id}/members/{userId}'],
      ['delete', '/api/groups/{id}/members/{userId}'],
      ['delete', '/api/groups/{id}'],
    ],
    parameters: { id: '$response.body#/group/id' },
  },
  {
    from: ['put', '/api/sites/{number}', '200'],
    to: [
      ['get', '/api/sites/{number}'],
      ['post', '/api/sites/{number}/devices'],
      ['delete', '/api/sites/{number}'],
    ],
    parameters: { number: '$response.body#/site/number' },
  },
  {
    from: ['put', '/api/access-servers/{index}', '200'],
    to: [['delete', '/api/access-servers/{index}']],
    parameters: { index: '$response.body#/accessServer/index' },
  },
];

type OpenApiDocument = {
  paths?: Record<string, Record<string, { responses?: Record<string, { links?: Record<string, unknown> }> }>>;
};

/** Adds the LINKS to an OpenAPI document (@fastify/swagger's transformObject). */
export function withLinks<T>(document: T): T {
  const paths = (document as OpenApiDocument).paths ?? {};
  for (const { from, to, parameters } of LINKS) {
    const [method, path, status] = from;
    const response = paths[path]?.[method]?.responses?.[status];
    if (!response) continue;
    response.links = Object.fromEntries(
      to.map(([toMethod, toPath]) => [
        `${toMethod}${toPath.replace(/[^A-Za-z0-9]+/g, '-')}`.replace(/-$/, ''),
        {
          operationRef: `#/paths/${toPath.replace(/~/g, '~0').replace(/\//g, '~1')}/${toMethod}`,
          parameters,
        },
      ]),
    );
  }
  return document;
}

/** A route path as a matcher of request paths: `/users/:id` matches `/users/7`. */
const matcherOf = (url: string): RegExp =>
  new RegExp(
    `^${url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/')}/?$`,
  );

/**
 * Fills in what each route tells the world as it is added: its OpenAPI security (unless the route states
 * its own), and the methods a path answers to, so that a request with another method is a 405 with an
 * Allow header rather than a 404 that says the path does not exist. Call before registering any plugin.
 */
export function trackRoutes(app: FastifyInstance): void {
  const routes: { matcher: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config as { auth?: AuthRequirement } | undefined;
    if (route.schema && !('security' in route.schema)) {
      (route.schema as Record<string, unknown>).security = securityOf(config?.auth);
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const matcher = matcherOf(route.url);
    const known = routes.find((r) => r.matcher.source === matcher.source);
    if (known) for (const m of methods) known.methods.add(m);
    else routes.push({ matcher, methods: new Set(methods) });
  });
  const allowedMethods = (path: string) => {
    const allowed = new Set<string>();
    for (const route of routes) {
      if (route.matcher.test(path)) for (const m of route.methods) allowed.add(m);
    }
    return [...allowed].sort();
  };
  // First of all hooks: before the key is checked (the OpenAPI document that lists the routes is public)
  // and before a body is parsed (Fastify would refuse a QUERY or PROPFIND without a Content-Type first).
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(path);
    if (allowed.length === 0) return;
    return reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send({
        error: {
          code: 'method_not_allowed',
          message: `${request.method} is not supported on ${path}; use ${allowed.join(', ')}`,
          requestId: request.id,
        },
      });
  });
}
