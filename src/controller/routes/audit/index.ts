import type { FastifyPluginAsync } from 'fastify';
import { listAudit } from '../../repositories/audit';
import { responses, timestamp } from '../../schemas/common';

/** GET /api/audit-log: the newest changes made through the API, newest first (deployment key). */
export const auditRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { limit?: number } }>(
    '/api/audit-log',
    {
      schema: {
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: responses({
          200: {
            type: 'object',
            required: ['entries'],
            properties: {
              entries: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'at', 'actor', 'action', 'target', 'detail', 'requestId'],
                  properties: {
                    id: { type: 'integer' },
                    at: timestamp,
                    actor: { type: 'string' },
                    action: { type: 'string' },
                    target: { type: 'string' },
                    detail: {},
                    requestId: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
        }),
      },
    },
    async (request) => ({ entries: await listAudit(app.db, request.query.limit ?? 100) }),
  );
};
