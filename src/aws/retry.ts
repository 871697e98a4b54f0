import { toAwsError } from './aws-error';

/**
 * How long to wait between polls. Against an emulator (an endpoint override), resources are ready at once,
 * so polls are fast; against AWS the SDK waiters' own back-off is kept.
 */
export interface WaitOptions {
  emulator: boolean;
}

/** Waiter configuration for the SDK's waitUntil* functions. */
export function waiterConfig<C>(client: C, wait: WaitOptions, maxWaitTime: number) {
  return wait.emulator
    ? { client, maxWaitTime, minDelay: 1, maxDelay: 1 }
    : { client, maxWaitTime, minDelay: 5, maxDelay: 30 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `work`, retrying while `retryable(error)` (eventual consistency: a resource just created is not yet
 * visible to another API). Other errors, or the last attempt's, become an AwsError naming `action`.
 */
export async function retryWhile<T>(
  action: string,
  work: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  options: { attempts: number; delayMs: number; backoff?: number; maxDelayMs?: number },
): Promise<T> {
  let delay = options.delayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= options.attempts || !retryable(error)) throw toAwsError(action, error);
      await sleep(delay);
      delay = Math.min(delay * (options.backoff ?? 1), options.maxDelayMs ?? delay);
    }
  }
}

export const errorName = (error: unknown): string => (error as { name?: string } | undefined)?.name ?? '';

/** Runs an SDK call, turning its failure into an AwsError that names the call. */
export async function call<T>(action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toAwsError(action, error);
  }
}

/** Every page of an SDK paginator, its failure an AwsError that names the call. */
export async function collect<T>(action: string, pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const page of pages) out.push(page);
  } catch (error) {
    throw toAwsError(action, error);
  }
  return out;
}
