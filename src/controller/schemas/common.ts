/**
 * JSON schemas shared by the routes. Fastify validates every body, query and params against them (Ajv),
 * serialises every response through them, and @fastify/swagger publishes them in the OpenAPI document.
 */
export const WIREGUARD_KEY_PATTERN = '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$';

/**
 * Text without control characters: PostgreSQL refuses NUL in text (SQLSTATE 22021), and the others have no
 * business in a name, a host name or an ID, where they would reach terminals and logs.
 */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$';

/** A text field: at most `maxLength` characters, none of them a control character. */
export const text = (maxLength: number, minLength = 0) =>
  ({ type: 'string', minLength, maxLength, pattern: NO_CONTROL_CHARACTERS }) as const;
/** The same, or null. */
export const nullableText = (maxLength: number) =>
  ({ type: ['string', 'null'], maxLength, pattern: NO_CONTROL_CHARACTERS }) as const;

/** A MAC address with one kind of separator throughout: aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff. */
export const MAC_PATTERN = '^[0-9A-Fa-f]{2}((:[0-9A-Fa-f]{2}){5}|(-[0-9A-Fa-f]{2}){5})$';

/** What a value refused by one of these patterns should look like: the 400's message says so. */
export const PATTERN_MEANINGS: Readonly<Record<string, string>> = {
  [MAC_PATTERN]: 'a MAC address like aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff, with one kind of separator',
  [NO_CONTROL_CHARACTERS]: 'text without control characters',
  [WIREGUARD_KEY_PATTERN]: 'a WireGuard public key (44 characters of base64)',
};

/** The largest id the API takes: ids travel as JSON numbers, exact up to 2^53 - 1. */
const MAX_ID = Number.MAX_SAFE_INTEGER;
/** A row's id in a path. */
export const idSchema = { type: 'integer', minimum: 1, maximum: MAX_ID } as const;

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
