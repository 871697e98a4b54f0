import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../repositories/audit';
import { responses } from '../schemas/common';
import type { DeploymentKeyRing } from './deployment-keys';

const rotateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['keyHash', 'graceSeconds'],
  properties: {
    keyHash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 (hex) of the new key' },
    graceSeconds: { type: 'integer', minimum: 0, maximum: 7 * 24 * 3600 },
  },
} as const;

const rotateResponse = {
  type: 'object',
  required: ['rotated', 'previousValidUntil'],
  properties: {
    rotated: { type: 'boolean' },
    previousValidUntil: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

/**
 * PUT /api/deployment-key: the deployment key (current, or previous within its grace) names the next key by
 * its hash; the key itself never reaches the controller through the API. Audited.
 */
export function registerRotationRoute(app: FastifyInstance, ring: DeploymentKeyRing): void {
  app.put<{ Body: { keyHash: string; graceSeconds: number } }>(
    '/api/deployment-key',
    {
      schema: {
        tags: ['auth'],
        summary: 'rotate the deployment API key (accept the previous one for a grace period)',
        body: rotateBody,
        response: responses({ 200: rotateResponse }),
      },
    },
    async (request) => {
      const { previousValidUntil } = ring.rotate(request.body.keyHash, request.body.graceSeconds);
      await recordAudit(app.db, {
        // The route requires the deployment key (the plugin's default), so that is who acts.
        actor: 'deployment-key',
        action: 'deployment-key.rotate',
        target: 'deployment-key',
        detail: { graceSeconds: request.body.graceSeconds, previousValidUntil },
        requestId: request.id,
      });
      return { rotated: true, previousValidUntil };
    },
  );
}
