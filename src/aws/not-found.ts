import { errorName, retryWhile } from './retry';

/** `InvalidGroup.NotFound`, `InvalidRouteTableID.NotFound`, `NoSuchEntity`…: what eventual consistency answers. */
const isNotFound = (error: unknown): boolean => /NotFound$|NoSuchEntity/.test(errorName(error));

/**
 * A call that follows a create: under EC2's and IAM's eventual consistency the new resource may not be
 * visible to the next call for a few seconds, which answers `*.NotFound`. Retried with back-off for about
 * twenty seconds, then the error stands.
 */
export function retryNotFound<T>(action: string, work: () => Promise<T>): Promise<T> {
  return retryWhile(action, work, isNotFound, { attempts: 8, delayMs: 250, backoff: 2, maxDelayMs: 4000 });
}
