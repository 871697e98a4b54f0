import type { Pool, PoolClient } from 'pg';
import { isConnectionFailure } from './connection-failure';

/** The state of one checked-out connection, as `withClient` sees it. */
export interface Checkout {
  /** True once the connection failed: nothing more can be sent on it. */
  broken(): boolean;
  /** Marks the connection unusable (it is destroyed on release, never lent out again). */
  discard(error: Error): void;
}

/**
 * Runs `work` on one connection checked out of the pool. A checked-out client is not covered by the pool's
 * own `error` listener: without one here, a connection the server terminates mid-request (restart,
 * pg_terminate_backend) is an unhandled 'error' event that kills the process. A client that failed is
 * released with its error, so the pool destroys it instead of lending it out again.
 */
export async function withClient<T>(
  pool: Pool,
  work: (client: PoolClient, checkout: Checkout) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  client.on('error', onError);
  const checkout: Checkout = { broken: () => failure !== undefined, discard: onError };
  try {
    return await work(client, checkout);
  } catch (error) {
    if (isConnectionFailure(error)) onError(error as Error);
    throw error;
  } finally {
    if (failure) {
      // Destroyed by the pool; the listener stays, for errors the dying socket may still emit.
      client.release(failure);
    } else {
      client.release();
      client.off('error', onError); // back in the pool, which watches idle clients itself
    }
  }
}

/** Runs `work` in a transaction on one pooled connection: commit on success, rollback on any error. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client, checkout) => {
    await client.query('begin');
    try {
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      // On a broken connection there is nothing to roll back: the server ends the transaction with it.
      if (!checkout.broken() && !isConnectionFailure(error)) {
        await client.query('rollback').catch((rollbackError: Error) => checkout.discard(rollbackError));
      }
      throw error;
    }
  });
}
