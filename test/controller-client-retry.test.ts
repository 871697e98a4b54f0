import { describe, expect, it } from 'vitest';
import {
  parseRetryAfter,
  UNAVAILABLE_RETRY_BUDGET_MS,
  unavailableRetryDelayMs,
} from '../src/controller-client/unavailable-retry';

const get = { method: 'GET', path: '/api/sites' } as const;

describe('asking an unavailable controller again', () => {
  it('repeats GET, PUT and DELETE on 503 only, never POST, PATCH or a request sent once', () => {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      expect(unavailableRetryDelayMs({ method, path: '/x' }, { status: 503 }, 1, 0)).toBe(1000);
    }
    for (const method of ['POST', 'PATCH'] as const) {
      expect(unavailableRetryDelayMs({ method, path: '/x' }, { status: 503 }, 1, 0)).toBeUndefined();
    }
    expect(unavailableRetryDelayMs({ ...get, once: true }, { status: 503 }, 1, 0)).toBeUndefined();
    for (const status of [200, 400, 401, 404, 429, 500, 502, 504]) {
      expect(unavailableRetryDelayMs(get, { status }, 1, 0)).toBeUndefined();
    }
  });

  it('waits as Retry-After says, between half a second and ten seconds', () => {
    expect(unavailableRetryDelayMs(get, { status: 503, retryAfterSeconds: 2 }, 1, 0)).toBe(2000);
    expect(unavailableRetryDelayMs(get, { status: 503, retryAfterSeconds: 0 }, 1, 0)).toBe(500);
    expect(unavailableRetryDelayMs(get, { status: 503, retryAfterSeconds: 3600 }, 1, 0)).toBe(10_000);
  });

  it('gives up after eight attempts or when the next wait would pass the budget', () => {
    expect(unavailableRetryDelayMs(get, { status: 503 }, 7, 0)).toBe(1000);
    expect(unavailableRetryDelayMs(get, { status: 503 }, 8, 0)).toBeUndefined();
    expect(unavailableRetryDelayMs(get, { status: 503 }, 2, UNAVAILABLE_RETRY_BUDGET_MS - 1000)).toBe(1000);
    expect(
      unavailableRetryDelayMs(get, { status: 503 }, 2, UNAVAILABLE_RETRY_BUDGET_MS - 999),
    ).toBeUndefined();
  });

  it('reads Retry-After in seconds and ignores what is not', () => {
    expect(parseRetryAfter('2')).toBe(2);
    expect(parseRetryAfter([' 5 '])).toBe(5);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
    expect(parseRetryAfter('-1')).toBeUndefined();
  });
});
