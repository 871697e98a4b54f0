import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../../version';
import { responses } from '../../schemas/common';

const healthSchema = {
  type: 'object',
  required: ['status', 'version', 'uptimeSeconds', 'database'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unhealthy'] },
    version: { type: 'string' },
    uptimeSeconds: { type: 'number' },
    database: { type: 'string', enum: ['ok', 'unreachable'] },
  },
} as const;

/** GET /health, without a key: used by systemd's install check, the load of a relay, and monitoring. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  const startedAt = Date.now();
  app.get(
    '/health',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        tags: ['health'],
        summary: 'liveness and database reachability',
        response: responses({ 200: healthSchema, 503: healthSchema }),
      },
    },
    async (_request, reply) => {
      let database: 'ok' | 'unreachable' = 'ok';
      try {
        await app.db.query('select 1');
      } catch {
        database = 'unreachable';
      }
      const uptimeSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
      const healthy = database === 'ok';
      return reply
        .code(healthy ? 200 : 503)
        .send({ status: healthy ? 'ok' : 'unhealthy', version: VERSION, uptimeSeconds, database });
    },
  );
};
