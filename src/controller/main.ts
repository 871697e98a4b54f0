import { controllerEnv } from './config';
import { startController } from './server';
import { closeOnSignal } from './shutdown';
import { readTlsFiles } from './tls-source';

/**
 * Entry of dist/controller.cjs, the single bundled file run by systemd on the controller instance:
 * configuration from the environment (/etc/waveshift/controller.env), JSON logs on stdout (journald),
 * graceful shutdown on SIGTERM.
 */
async function run(): Promise<number> {
  let config: ReturnType<typeof controllerEnv>;
  try {
    config = controllerEnv(process.env, { host: '0.0.0.0' });
  } catch (error) {
    process.stderr.write(`waveshift-controller: ${(error as Error).message}\n`);
    return 2;
  }
  const tls = await readTlsFiles(config.tlsCertFile, config.tlsKeyFile);
  const controller = await startController({
    tls,
    loopbackHttpPort: config.loopbackHttpPort,
    oidc: config.oidc,
    host: config.host,
    port: config.port,
    apiKey: config.apiKey,
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    offlineAfterMissedScans: config.offlineAfterMissedScans,
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
  });
  controller.app.log.info({ url: controller.url }, 'controller listening');
  await closeOnSignal(controller.close, (signal) => controller.app.log.info({ signal }, 'shutting down'));
  return 0;
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`waveshift-controller: failed to start: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
