import type { FastifyPluginAsync } from 'fastify';
import { actorOf } from '../../auth/plugin';
import { inTransaction } from '../../db/transaction';
import { badRequest, notFound } from '../../http-errors';
import { recordAudit } from '../../repositories/audit';
import { deleteSite, getSite, listSites, type SiteInput, upsertSite } from '../../repositories/sites';
import { deletedSchema, responses } from '../../schemas/common';
import { siteBodySchema, siteParams } from '../../schemas/sites';

export const MAX_SITES_PER_BATCH = 256;

const siteRef = { $ref: 'Site#' } as const;
const oneSite = { type: 'object', required: ['site'], properties: { site: siteRef } } as const;
const manySites = {
  type: 'object',
  required: ['sites'],
  properties: { sites: { type: 'array', items: siteRef } },
} as const;

/** A site's CIDR is fixed by its number (DESIGN §3); checked here so the caller hears which site is wrong. */
function checkSite(site: SiteInput): SiteInput {
  const expected = `10.8.${site.number}.0/24`;
  if (site.cidr !== expected)
    throw badRequest(`site ${site.number} must have cidr ${expected}, not ${site.cidr}`);
  return { ...site, scannerKeyHash: site.scannerKeyHash.toLowerCase() };
}

export const siteRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/api/sites',
    { schema: { tags: ['sites'], summary: 'list sites', response: responses({ 200: manySites }) } },
    async () => ({ sites: await listSites(app.db) }),
  );

  app.get<{ Params: { number: number } }>(
    '/api/sites/:number',
    { schema: { tags: ['sites'], params: siteParams, response: responses({ 200: oneSite }) } },
    async (request) => {
      const site = await getSite(app.db, request.params.number);
      if (!site) throw notFound(`site ${request.params.number} is not registered`);
      return { site };
    },
  );

  app.put<{ Params: { number: number }; Body: Omit<SiteInput, 'number'> & { number?: number } }>(
    '/api/sites/:number',
    {
      schema: {
        tags: ['sites'],
        summary: 'register or update one site',
        description:
          "Rules beyond the schema: `cidr` must be 10.8.N.0/24 for site number N; a `number` in the body must equal the path's. " +
          "`scannerKeyHash` (SHA-256 of the scanner key, hex) replaces the site's scanner key: the old key stops working.",
        params: siteParams,
        body: siteBodySchema,
        response: responses({ 200: oneSite }),
      },
    },
    async (request) => {
      const number = request.params.number;
      if (request.body.number !== undefined && request.body.number !== number) {
        throw badRequest(`body number ${request.body.number} differs from the path's site ${number}`);
      }
      const input = checkSite({ ...request.body, number });
      const site = await inTransaction(app.db, async (client) => {
        const created = await upsertSite(client, input);
        await recordAudit(client, {
          actor: actorOf(request.principal),
          action: created ? 'site.create' : 'site.update',
          target: `site:${number}`,
          detail: { name: input.name, accessServer: input.accessServer },
          requestId: request.id,
        });
        return getSite(client, number);
      });
      return { site };
    },
  );

  app.put<{ Body: { sites: SiteInput[] } }>(
    '/api/sites',
    {
      schema: {
        tags: ['sites'],
        summary: 'register or update many sites in one transaction',
        description:
          'All or nothing. Rules beyond the schema: each `cidr` must be 10.8.N.0/24 for its site number N, and no site ' +
          'number may appear twice in one batch.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['sites'],
          properties: {
            sites: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_SITES_PER_BATCH,
              items: { $ref: 'SiteInput#' },
            },
          },
        },
        response: responses({ 200: manySites }),
      },
    },
    async (request) => {
      const inputs = request.body.sites.map(checkSite);
      const numbers = inputs.map((s) => s.number);
      const duplicate = numbers.find((n, i) => numbers.indexOf(n) !== i);
      if (duplicate !== undefined) throw badRequest(`site ${duplicate} appears twice in the batch`);
      const sites = await inTransaction(app.db, async (client) => {
        for (const input of inputs) {
          const created = await upsertSite(client, input);
          await recordAudit(client, {
            actor: actorOf(request.principal),
            action: created ? 'site.create' : 'site.update',
            target: `site:${input.number}`,
            detail: { name: input.name, accessServer: input.accessServer, batch: true },
            requestId: request.id,
          });
        }
        return listSites(client, numbers);
      });
      return { sites };
    },
  );

  app.delete<{ Params: { number: number } }>(
    '/api/sites/:number',
    {
      schema: {
        tags: ['sites'],
        summary: 'remove a site with its devices and scanner key',
        params: siteParams,
        response: responses({ 200: deletedSchema }),
      },
    },
    async (request) => {
      const deleted = await inTransaction(app.db, async (client) => {
        const removed = await deleteSite(client, request.params.number);
        if (removed) {
          await recordAudit(client, {
            actor: actorOf(request.principal),
            action: 'site.delete',
            target: `site:${request.params.number}`,
            requestId: request.id,
          });
        }
        return removed;
      });
      return { deleted };
    },
  );
};
