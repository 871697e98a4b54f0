import { isConnectionFailure } from './db/connection-failure';

/**
 * Failures the API reports to its caller: an HTTP status and a stable `code`, with a message safe to show
 * (never SQL, never a stack). Everything else that escapes a handler is a 500 whose detail only goes to the
 * log. Response shape everywhere: `{ "error": { "code", "message", "requestId" } }`.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
  }
}

export const badRequest = (message: string) => new ApiError(400, 'bad_request', message);
/** No detail on purpose: a caller probing keys learns nothing from the answer. */
export const unauthorized = () => new ApiError(401, 'unauthorized', 'unauthorized');
export const forbidden = (message = 'forbidden') => new ApiError(403, 'forbidden', message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

export interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

export interface ErrorResponse {
  statusCode: number;
  body: ErrorBody;
  /** Sent as Retry-After: the failure is expected to pass. */
  retryAfterSeconds?: number;
}

/** A restarting PostgreSQL is usually back within seconds; clients retry after this long. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** PostgreSQL SQLSTATEs that are the caller's fault rather than ours. */
const PG_CONFLICT = new Set(['23505', '23503']);
/**
 * A transaction PostgreSQL ended to break a deadlock or a serialization conflict with another one (two
 * sites' reports moving each other's devices at once): nothing was written, and the same request succeeds
 * when sent again. A scanner keeps its report and sends it at its next run; wavectl asks again.
 */
const PG_TRANSIENT = new Set(['40P01', '40001']);
export const TRANSIENT_RETRY_AFTER_SECONDS = 1;
const PG_BAD_INPUT = new Set(['22P02', '22007', '22008', '23514']);

/**
 * Maps anything thrown to the status and body sent. Pure, so every branch is unit-tested. A 5xx never
 * carries the error's own message: that could hold SQL, a host name or a stack.
 */
export function errorResponse(error: unknown, requestId: string): ErrorResponse {
  const body = (statusCode: number, code: string, message: string) => ({
    statusCode,
    body: { error: { code, message, requestId } },
  });
  if (error instanceof ApiError) return body(error.statusCode, error.code, error.message);
  if (isConnectionFailure(error)) {
    return {
      ...body(503, 'database_unavailable', 'the database is unavailable; retry shortly'),
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
    };
  }
  const e = (error ?? {}) as {
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
    validation?: unknown;
  };
  if (typeof e.code === 'string' && PG_TRANSIENT.has(e.code)) {
    return {
      ...body(503, 'transaction_conflict', 'the change collided with a concurrent one; send it again'),
      retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS,
    };
  }
  if (typeof e.code === 'string' && PG_CONFLICT.has(e.code)) {
    return body(409, 'conflict', 'the change conflicts with existing data');
  }
  if (typeof e.code === 'string' && PG_BAD_INPUT.has(e.code)) {
    return body(400, 'bad_request', 'a value is out of range or malformed');
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const message = typeof e.message === 'string' && e.message.length > 0 ? e.message : 'bad request';
    return body(status, CODES[status] ?? 'bad_request', message);
  }
  if (status === 503) return body(503, 'unavailable', 'service unavailable, try again');
  return body(500, 'internal_error', 'internal error');
}
