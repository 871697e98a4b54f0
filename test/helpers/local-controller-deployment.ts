import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WavectlConfig } from '../../src/config/schema';
import { type RunningController, startController } from '../../src/controller/server';
import { runCli } from './cli';
import { initDeployment, motoWithManagedPolicies, PROFILE } from './deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './moto';
import { type PostgresServer, startPostgres } from './postgres';
import { recordSendCommands, type SentCommand } from './send-command-recorder';
import { makeTempDir } from './tmp';

export interface LocalControllerDeployment {
  moto: MotoServer;
  controller: RunningController;
  /** The deployment directory (wavectl.json points at the local controller). */
  dir: string;
  /** A scratch directory removed by `stop`. */
  tmp: string;
  /** The real CLI on this deployment, against moto, with the controller's API key. */
  cli(...args: string[]): ReturnType<typeof runCli>;
  /**
   * Every SSM SendCommand the CLI made, as it asked for it, oldest first. moto's ListCommands cannot say
   * where a command went: without Targets it names every instance of the account in each command.
   */
  sentCommands: SentCommand[];
  stop(): Promise<void>;
}

/**
 * A deployment made by the real `init` against moto, whose controller is a local one (real PostgreSQL) set
 * as `controller.url`: moto runs no command, so the SSM relay cannot reach a controller there.
 */
export async function startLocalControllerDeployment(
  name: string,
  region: string,
  apiKey: string,
): Promise<LocalControllerDeployment> {
  motoWithManagedPolicies();
  const moto = await startMoto();
  const postgres: PostgresServer = await startPostgres();
  const controller = await startController({
    host: '127.0.0.1',
    port: 0,
    databaseUrl: await postgres.createDatabase(name.replace(/-/g, '_')),
    apiKey,
    logger: false,
  });
  const recorder = await recordSendCommands(moto.endpoint);
  const tmp = await makeTempDir();
  applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, region));
  const dir = await initDeployment(tmp.path, name, region);
  const file = join(dir, 'wavectl.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as WavectlConfig;
  await writeFile(file, JSON.stringify({ ...config, controller: { url: controller.url } }, null, 2));
  return {
    moto,
    controller,
    dir,
    tmp: tmp.path,
    cli: (...args) =>
      runCli([...args, '--dir', dir, '--endpoint-url', recorder.url], {
        cwd: dir,
        env: { WAVESHIFT_API_KEY: apiKey },
      }),
    sentCommands: recorder.sent,
    async stop() {
      await recorder.stop();
      await controller.close();
      await postgres.stop();
      await moto.stop();
      await tmp.remove();
    },
  };
}
