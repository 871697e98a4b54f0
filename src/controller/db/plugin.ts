import fp from 'fastify-plugin';
import pg from 'pg';
import { databaseErrorSummary } from './connection-failure';
import { migrate } from './migrate';

declare module 'fastify' {
  interface FastifyInstance {
    db: pg.Pool;
  }
}

export interface DatabaseOptions {
  databaseUrl: string;
  /** Connections in the pool; reports of different sites run in parallel, one connection each. */
  poolSize?: number;
}

/**
 * Bounds on every wait for the database, so that a frozen or unreachable server turns into a 503 within
 * seconds instead of requests piling up forever: a connection must open within `connectMs`, the server
 * cancels a statement (lock waits included) after `statementMs`, and the client gives up on an answer that
 * does not come (a frozen server cancels nothing) after `queryMs`. A transaction left open by a stuck
 * client is ended by the server after `idleInTransactionMs`.
 */
export const DATABASE_TIMEOUTS = {
  connectMs: 5_000,
  statementMs: 10_000,
  queryMs: 12_000,
  idleInTransactionMs: 30_000,
} as const;

// Return bigint ids and counts as numbers (ours stay far below 2^53), not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * The database: one pg Pool for the app, migrated before the first route is ready, drained when the app
 * closes (after Fastify has finished the requests in flight).
 */
export const databasePlugin = fp<DatabaseOptions>(
  async (app, options) => {
    const poolSize = options.poolSize ?? 20;
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: poolSize,
      // Scanners report every 5 minutes by default, all sites in the same minute (cron). Connections closed after 30 idle
      // seconds would make every burst open them again, each a new backend whose caches and compiled
      // functions start cold: a connection, once opened, stays for the next burst.
      min: poolSize,
      connectionTimeoutMillis: DATABASE_TIMEOUTS.connectMs,
      statement_timeout: DATABASE_TIMEOUTS.statementMs,
      query_timeout: DATABASE_TIMEOUTS.queryMs,
      idle_in_transaction_session_timeout: DATABASE_TIMEOUTS.idleInTransactionMs,
      application_name: 'waveshift-controller',
    });
    // A connection the server drops must never crash the process. pg-pool listens on idle clients only, and
    // withClient listens on the ones it holds, but between the two there is a window: the server's error can
    // arrive in the same network read that completes the connection or the hand-over, before the caller's
    // listener exists. So every connection carries a listener for its whole life; the error still reaches
    // whoever uses the connection, as a failed query.
    pool.on('connect', (client) => client.on('error', () => undefined));
    // An idle connection dropped by the server: logged; the next query reconnects.
    pool.on('error', (error) =>
      app.log.warn({ err: databaseErrorSummary(error) }, 'idle database connection lost'),
    );
    try {
      const result = await migrate(pool);
      app.log.info({ applied: result.applied, schemaVersion: result.current }, 'database migrated');
    } catch (error) {
      await pool.end();
      throw error;
    }
    app.decorate('db', pool);
    app.addHook('onClose', async () => {
      await pool.end();
    });
  },
  { name: 'waveshift-database', fastify: '5.x' },
);
