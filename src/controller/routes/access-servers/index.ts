import type { FastifyPluginAsync } from 'fastify';
import { actorOf } from '../../auth/plugin';
import { inTransaction } from '../../db/transaction';
import { badRequest, conflict } from '../../http-errors';
import {
  type AccessServerInput,
  deleteAccessServer,
  listAccessServers,
  upsertAccessServer,
} from '../../repositories/access-servers';
import { recordAudit } from '../../repositories/audit';
import { accessServerBodySchema, accessServerParams } from '../../schemas/access-servers';
import { deletedSchema, responses } from '../../schemas/common';

const ref = { $ref: 'AccessServer#' } as const;
const one = { type: 'object', required: ['accessServer'], properties: { accessServer: ref } } as const;
const many = {
  type: 'object',
  required: ['accessServers'],
  properties: { accessServers: { type: 'array', items: ref } },
} as const;

export const accessServerRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/api/access-servers',
    { schema: { tags: ['access-servers'], response: responses({ 200: many }) } },
    async () => ({ accessServers: await listAccessServers(app.db) }),
  );

  app.put<{ Params: { index: number }; Body: Omit<AccessServerInput, 'index'> & { index?: number } }>(
    '/api/access-servers/:index',
    {
      schema: {
        tags: ['access-servers'],
        summary: 'register or update one access server',
        description: "Rule beyond the schema: an `index` in the body must equal the path's.",
        params: accessServerParams,
        body: accessServerBodySchema,
        response: responses({ 200: one }),
      },
    },
    async (request) => {
      const index = request.params.index;
      if (request.body.index !== undefined && request.body.index !== index) {
        throw badRequest(`body index ${request.body.index} differs from the path's access server ${index}`);
      }
      const accessServer = await inTransaction(app.db, async (client) => {
        const created = await upsertAccessServer(client, { ...request.body, index });
        await recordAudit(client, {
          actor: actorOf(request.principal),
          action: created ? 'access-server.create' : 'access-server.update',
          target: `access-server:${index}`,
          detail: { endpoint: request.body.endpoint, instanceId: request.body.instanceId },
          requestId: request.id,
        });
        return (await listAccessServers(client, [index]))[0];
      });
      return { accessServer };
    },
  );

  app.put<{ Body: { accessServers: AccessServerInput[] } }>(
    '/api/access-servers',
    {
      schema: {
        tags: ['access-servers'],
        summary: 'register or update many access servers in one transaction',
        description: 'All or nothing. Rule beyond the schema: no index may appear twice in one batch.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accessServers'],
          properties: {
            accessServers: {
              type: 'array',
              minItems: 1,
              maxItems: 64,
              items: { $ref: 'AccessServerInput#' },
            },
          },
        },
        response: responses({ 200: many }),
      },
    },
    async (request) => {
      const indexes = request.body.accessServers.map((s) => s.index);
      const duplicate = indexes.find((n, i) => indexes.indexOf(n) !== i);
      if (duplicate !== undefined) throw badRequest(`access server ${duplicate} appears twice in the batch`);
      const accessServers = await inTransaction(app.db, async (client) => {
        for (const input of request.body.accessServers) {
          const created = await upsertAccessServer(client, input);
          await recordAudit(client, {
            actor: actorOf(request.principal),
            action: created ? 'access-server.create' : 'access-server.update',
            target: `access-server:${input.index}`,
            detail: { endpoint: input.endpoint, instanceId: input.instanceId, batch: true },
            requestId: request.id,
          });
        }
        return listAccessServers(client, indexes);
      });
      return { accessServers };
    },
  );

  app.delete<{ Params: { index: number } }>(
    '/api/access-servers/:index',
    {
      schema: {
        tags: ['access-servers'],
        summary: 'remove an access server',
        description: '409 while sites are still assigned to it: move or remove them first.',
        params: accessServerParams,
        response: responses({ 200: deletedSchema }),
      },
    },
    async (request) => {
      const index = request.params.index;
      const result = await inTransaction(app.db, async (client) => {
        const outcome = await deleteAccessServer(client, index);
        if ('deleted' in outcome && outcome.deleted) {
          await recordAudit(client, {
            actor: actorOf(request.principal),
            action: 'access-server.delete',
            target: `access-server:${index}`,
            requestId: request.id,
          });
        }
        return outcome;
      });
      if ('assignedSites' in result) {
        throw conflict(
          `access server ${index} still serves sites ${result.assignedSites.join(', ')}; move or remove them first`,
        );
      }
      return { deleted: result.deleted };
    },
  );
};
