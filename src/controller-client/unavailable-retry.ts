import type { ControllerRequest, ControllerResponse } from './types';

/**
 * When to ask again after the controller answered 503 (its database is away: restarting, failing over,
 * a connection cut). Only methods that are safe to repeat are repeated, and a request may opt out (a
 * key rotation must not run twice). The wait follows Retry-After, bounded, within a total budget. Pure.
 */
export const UNAVAILABLE_RETRY_BUDGET_MS = 30_000;
const MAX_ATTEMPTS = 8;
const REPEATABLE: ReadonlySet<ControllerRequest['method']> = new Set(['GET', 'PUT', 'DELETE']);

export function unavailableRetryDelayMs(
  request: ControllerRequest,
  response: Pick<ControllerResponse, 'status' | 'retryAfterSeconds'>,
  attempt: number,
  waitedMs: number,
): number | undefined {
  if (response.status !== 503 || !REPEATABLE.has(request.method) || request.once) return undefined;
  if (attempt >= MAX_ATTEMPTS) return undefined;
  const seconds = response.retryAfterSeconds;
  const delayMs = Math.min(Math.max(Number.isFinite(seconds) ? (seconds as number) : 1, 0.5), 10) * 1000;
  return waitedMs + delayMs > UNAVAILABLE_RETRY_BUDGET_MS ? undefined : delayMs;
}

/** Retry-After as seconds (its delay-seconds form; the HTTP-date form is not sent by the controller). */
export function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}
