/**
 * Tells a database that is down, restarting, frozen or cut off from a query that is wrong. The first kind is
 * nobody's fault and passes: the API answers 503 with Retry-After; the second stays a 4xx or a 500. Pure.
 */

/** Socket errors of the connection to PostgreSQL. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01-57P03 (shut down by an
 * administrator, crash, cannot connect now: starting or stopping), 53300 (too many connections) and 57014
 * (statement_timeout: the server is too slow to answer in time).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

/** Messages of node-postgres's own failures, which carry no code. */
const CLIENT_MESSAGES = [
  /^Connection terminated/i, // unexpectedly, or due to connection timeout
  /^timeout exceeded when trying to connect/i, // pool: no connection within connectionTimeoutMillis
  /^Query read timeout/i, // query_timeout
  /is not queryable/i, // a client already broken by an earlier error
  /^Client was closed/i,
  /^Cannot use a pool after calling end/i,
];

export function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  }
  return typeof message === 'string' && CLIENT_MESSAGES.some((pattern) => pattern.test(message));
}

/**
 * What a log line keeps of a database error: pg-pool attaches the whole client to the errors of idle
 * connections (`err.client`, several KB with the backend's cancel key), and pino would write all of it.
 */
export function databaseErrorSummary(error: unknown): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  const e = error as Record<string, unknown>;
  const summary: Record<string, unknown> = {};
  for (const key of ['type', 'message', 'code', 'severity', 'routine', 'stack']) {
    const value = key === 'type' ? (error as Error).name : e[key];
    if (typeof value === 'string') summary[key] = value;
  }
  return summary;
}
