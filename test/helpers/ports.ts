import { freeLoopbackPort } from '../../src/network/free-port';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = freeLoopbackPort;

/** Resolves once `check` succeeds, polling until `timeoutMs`; rejects with the last error. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await check();
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}: ${(last as Error)?.message ?? last}`);
}
