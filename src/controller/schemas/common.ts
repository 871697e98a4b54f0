/**
 * JSON schemas shared by the routes. Fastify validates every body, query and params against them (Ajv),
 * serialises every response through them, and @fastify/swagger publishes them in the OpenAPI document.
 */
export const WIREGUARD_KEY_PATTERN = '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        requestId: { type: 'string' },
      },
    },
  },
} as const;

const errorRef = { $ref: 'Error#' } as const;

/** A route's responses: its own success shapes plus the error shape for every 4xx and 5xx. */
export function responses<T extends Record<number, unknown>>(success: T) {
  return { ...success, '4xx': errorRef, '5xx': errorRef };
}

export const timestamp = { type: 'string', format: 'date-time' } as const;
export const nullableTimestamp = { type: ['string', 'null'], format: 'date-time' } as const;

export const deletedSchema = {
  type: 'object',
  required: ['deleted'],
  properties: { deleted: { type: 'boolean' } },
} as const;
