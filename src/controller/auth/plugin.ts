import fp from 'fastify-plugin';
import { forbidden, unauthorized } from '../http-errors';
import { siteOfScannerKey } from '../repositories/sites';
import { DeploymentKeyRing } from './deployment-keys';
import { registerRotationRoute } from './rotation-route';
import { hashScannerKey, sameKeyHash } from './scanner-key';

/** Who a request acts as, decided from its X-API-Key before the body is even read. */
export type Principal = { kind: 'anonymous' } | { kind: 'deployment' } | { kind: 'scanner'; site: number };

/**
 * What a route requires, in its `config.auth`: 'deployment' (the default, so a route that forgets to say is
 * closed), 'site-scanner' (the deployment key, or the scanner key of the site in `params.number`), or
 * 'none' (health, OpenAPI, login; /auth/session checks its own bearer token).
 */
export type AuthRequirement = 'deployment' | 'site-scanner' | 'none';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    auth?: AuthRequirement;
  }
}

export const actorOf = (p: Principal): string =>
  p.kind === 'scanner' ? `scanner:site-${p.site}` : p.kind === 'deployment' ? 'deployment-key' : 'anonymous';

export const authPlugin = fp<{ apiKey: string }>(
  async (app, options) => {
    // Only hashes of deployment keys stay in memory, compared in constant time like the scanner keys.
    const deploymentKeys = new DeploymentKeyRing(hashScannerKey(options.apiKey));
    registerRotationRoute(app, deploymentKeys);
    app.decorateRequest('principal', null as never);
    app.addHook('onRequest', async (request) => {
      request.principal = { kind: 'anonymous' };
      const required = request.routeOptions.config?.auth ?? 'deployment';
      const header = request.headers['x-api-key'];
      const key = typeof header === 'string' ? header : undefined;
      if (key) {
        const hash = hashScannerKey(key);
        if (deploymentKeys.accepts(hash)) request.principal = { kind: 'deployment' };
        else if (required === 'site-scanner') {
          const found = await siteOfScannerKey(app.db, hash);
          if (found && sameKeyHash(hash, found.keyHash))
            request.principal = { kind: 'scanner', site: found.site };
        }
      }
      if (required === 'none') return;
      const principal = request.principal;
      if (principal.kind === 'anonymous') throw unauthorized();
      if (principal.kind === 'deployment') return;
      const site = Number((request.params as { number?: string } | undefined)?.number);
      if (required !== 'site-scanner' || principal.site !== site) {
        throw forbidden("a scanner key may only report its own site's devices");
      }
    });
  },
  { name: 'waveshift-auth', dependencies: ['waveshift-database'], fastify: '5.x' },
);
