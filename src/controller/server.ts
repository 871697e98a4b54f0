import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from './app';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './embedded/embedded-postgres';

export interface StartOptions extends Omit<AppOptions, 'databaseUrl'> {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** PostgreSQL to use; absent: an embedded PostgreSQL kept in `dataDir`. */
  databaseUrl?: string;
  /** Where the embedded PostgreSQL keeps its data (default ./.waveshift-controller). */
  dataDir?: string;
  /**
   * With `tls`: also answer plain HTTP on 127.0.0.1 at this port, for the instance's own health probe and
   * the SSM relay's curl (loopback only: nothing off the host reaches it). 0 picks a free port.
   */
  loopbackHttpPort?: number;
}

export interface RunningController {
  /** http(s)://host:port of the listening server. */
  url: string;
  /** http://127.0.0.1:port when a loopback HTTP listener was asked for. */
  loopbackUrl?: string;
  app: FastifyInstance;
  /** Where the data lives when the database is embedded. */
  dataDir?: string;
  /** With an embedded database: resolves with a reason if that database dies on its own. */
  databaseDied?: Promise<string>;
  /** Stops taking requests, finishes those in flight, drains the pool, then stops an embedded database. */
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = '.waveshift-controller';
const DRAIN_MS = 20_000;

/** Starts the controller listening on host:port: the one code path of tests, `wavectl controller serve` and EC2. */
export async function startController(options: StartOptions): Promise<RunningController> {
  const { host, port, dataDir, databaseUrl, loopbackHttpPort, ...appOptions } = options;
  let embedded: EmbeddedDatabase | undefined;
  if (!databaseUrl) embedded = await startEmbeddedPostgres(dataDir ?? DEFAULT_DATA_DIR);
  let app: FastifyInstance | undefined;
  let loopback: Server | undefined;
  try {
    app = await buildApp({ ...appOptions, databaseUrl: databaseUrl ?? embedded!.url });
    await app.listen({ host, port });
    if (appOptions.tls && loopbackHttpPort !== undefined) {
      const routed = app;
      loopback = createServer((req, res) => routed.routing(req, res));
      await new Promise<void>((resolve, reject) => {
        loopback!.once('error', reject).listen(loopbackHttpPort, '127.0.0.1', resolve);
      });
    }
  } catch (error) {
    loopback?.close();
    await app?.close();
    await embedded?.stop();
    throw error;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  const running = app;
  const loopbackAddress = loopback?.address();
  return {
    url: `${appOptions.tls ? 'https' : 'http'}://${urlHost}:${boundPort}`,
    loopbackUrl:
      typeof loopbackAddress === 'object' && loopbackAddress
        ? `http://127.0.0.1:${loopbackAddress.port}`
        : undefined,
    app: running,
    dataDir: embedded?.dataDir,
    databaseDied: embedded?.died,
    close() {
      closing ??= (async () => {
        // Requests in flight get DRAIN_MS to finish; connections still open after that are cut.
        const cut = setTimeout(() => running.server.closeAllConnections(), DRAIN_MS);
        try {
          loopback?.closeAllConnections();
          loopback?.close();
          await running.close();
        } finally {
          clearTimeout(cut);
          await embedded?.stop();
        }
      })();
      return closing;
    },
  };
}
