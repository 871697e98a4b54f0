import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames } from '../../src/aws/naming';
import { runCli } from './cli';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './moto';
import { makeTempDir } from './tmp';

const wg = (args: string[], input?: string) => execFileSync('wg', args, { input }).toString().trim();

/** wavectl.json as the tests edit it: raw JSON, checked by wavectl itself when it loads it. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures edit the document freely
export type ConfigJson = Record<string, any>;

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export const wireGuardKeyPair = (): KeyPair => {
  const privateKey = wg(['genkey']);
  return { privateKey, publicKey: wg(['pubkey'], privateKey) };
};

/**
 * A deployment directory for configure-hub tests: wavectl.json with one access server, secrets in moto's
 * SSM, sites added the way `sites --add` records them (the site's WireGuard and scanner keys in SSM).
 */
export interface RouterDeployment {
  dir: string;
  name: string;
  moto: MotoServer;
  /** The access server's key pair (index 0, public IP 203.0.113.10). */
  server: KeyPair;
  siteKeys: Map<number, KeyPair>;
  readConfig(): Promise<ConfigJson>;
  writeConfig(config: ConfigJson): Promise<void>;
  addSite(n: number, name?: string, router?: { host: string; port: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startRouterDeployment(name = 'routers'): Promise<RouterDeployment> {
  const moto = await startMoto();
  const tmp = await makeTempDir('wavectl-routers-');
  applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), name));
  const ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, profile: name });
  const file = join(tmp.path, 'wavectl.json');
  const server = wireGuardKeyPair();
  const siteKeys = new Map<number, KeyPair>();
  const deployment: RouterDeployment = {
    dir: tmp.path,
    name,
    moto,
    server,
    siteKeys,
    readConfig: async () => JSON.parse(await readFile(file, 'utf8')),
    writeConfig: (config) => writeFile(file, JSON.stringify(config, null, 2)),
    async addSite(n, siteName = `site-${n}`, router) {
      const keys = wireGuardKeyPair();
      siteKeys.set(n, keys);
      const names = parameterNames(name);
      for (const [parameter, value] of [
        [names.sitePrivateKey(n), keys.privateKey],
        [names.siteScannerKey(n), Buffer.alloc(32, n + 1).toString('base64url')],
      ] as const) {
        await ssm.send(
          new PutParameterCommand({ Name: parameter, Value: value, Type: 'SecureString', Overwrite: true }),
        );
      }
      const config = await deployment.readConfig();
      config.sites.push({
        number: n,
        name: siteName,
        publicKey: keys.publicKey,
        accessServer: 0,
        registered: true,
        ...(router ? { router: { ...router, user: 'root' } } : {}),
      });
      await deployment.writeConfig(config);
    },
    async stop() {
      ssm.destroy();
      await moto.stop();
      await tmp.remove();
    },
  };
  await deployment.writeConfig({
    version: 1,
    name,
    identityProvider: 'local',
    aws: { profile: name, region: 'us-east-1', endpointUrl: moto.endpoint },
    accessServers: [{ index: 0, publicKey: server.publicKey, listenPort: 51820, publicIp: '203.0.113.10' }],
    sites: [],
  });
  return deployment;
}

/**
 * `wavectl configure-hub --json` in the deployment, in-process, with the router password in the environment,
 * reconnecting through 127.8.{site}.1 (the sandbox's stand-in for 10.8.N.1) and short rollback and timeout.
 */
export function configureHubRunner(deployment: RouterDeployment, password: string) {
  return (args: string[], env: Record<string, string> = {}) =>
    runCli(
      [
        'configure-hub',
        '--json',
        '--reach',
        '127.8.{site}.1',
        '--rollback-timeout',
        '20',
        '--timeout',
        '30',
        ...args,
      ],
      { cwd: deployment.dir, env: { WAVECTL_ROUTER_PASSWORD: password, SSH_AUTH_SOCK: '', ...env } },
    );
}
