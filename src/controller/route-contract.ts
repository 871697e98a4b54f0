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
 * Allow header rather than a 404 that says the path does not exist. Call before registering routes.
 */
export function trackRoutes(app: FastifyInstance): { allowedMethods(path: string): string[] } {
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
  return {
    allowedMethods(path) {
      const allowed = new Set<string>();
      for (const route of routes) {
        if (route.matcher.test(path)) for (const m of route.methods) allowed.add(m);
      }
      return [...allowed].sort();
    },
  };
}
