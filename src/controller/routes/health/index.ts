import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'pg';
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

/**
 * How long /health waits for the database. A frozen PostgreSQL accepts connections and never answers; the
 * health check must still answer (503) well inside a monitor's timeout, so it does not wait for the pool's
 * own timeouts (those end the hung query later and free its connection).
 */
export const HEALTH_DATABASE_DEADLINE_MS = 1_500;

async function databaseAnswers(db: Pool): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), HEALTH_DATABASE_DEADLINE_MS);
  });
  const query = db.query('select 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([query, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

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
      const database = (await databaseAnswers(app.db)) ? 'ok' : 'unreachable';
      const uptimeSeconds = Math.round((Date.now() - startedAt) / 100) / 10;
      const healthy = database === 'ok';
      return reply
        .code(healthy ? 200 : 503)
        .send({ status: healthy ? 'ok' : 'unhealthy', version: VERSION, uptimeSeconds, database });
    },
  );
};
