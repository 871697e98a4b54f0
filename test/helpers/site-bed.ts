import { mkdir } from 'node:fs/promises';
import {
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { resourceTags } from '../../src/aws/naming';
import { type RunningController, startController } from '../../src/controller/server';
import { runCli } from './cli';
import { motoWithManagedPolicies } from './deploy-fixture';
import { startForwardingProxy } from './forwarding-proxy';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './moto';
import { type PostgresServer, startPostgres } from './postgres';
import { makeTempDir } from './tmp';

export const API_KEY = 'test-deployment-key-0123456789abcdef';
export const DEPLOYMENT = 'acme';
export const REGION = 'us-east-1';

/**
 * The peers of the sites and access-servers tests: moto (AWS), a real controller on a real PostgreSQL, a
 * deployment directory whose controller.url points at a pass-through proxy that can fail chosen requests
 * (a failure injected mid-batch), and the minimum VPC `deploy` makes, tagged as deploy tags it.
 */
export interface SiteBed {
  moto: MotoServer;
  controller: RunningController;
  dir: string;
  ec2: EC2Client;
  env: Record<string, string>;
  /** Fail the next request whose "METHOD path" matches, with 503, before it reaches the controller. */
  failNext(match: RegExp): void;
  /** Requests the proxy saw, "METHOD path". */
  seen: string[];
  cli(args: string[]): ReturnType<typeof runCli>;
  stop(): Promise<void>;
}

function startProxy(target: string, bed: { failing: RegExp[]; seen: string[] }) {
  return startForwardingProxy(target, (req) => {
    const line = `${req.method} ${req.url}`;
    bed.seen.push(line);
    const fail = bed.failing.findIndex((m) => m.test(line));
    if (fail < 0) return undefined;
    bed.failing.splice(fail, 1);
    // A 502 from something in front of the controller: wavectl does not ask again (it does after a 503).
    return {
      status: 502,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: { code: 'bad_gateway', message: 'injected failure', requestId: 'x' } }),
    };
  });
}

export async function startSiteBed(): Promise<SiteBed & { postgres: PostgresServer }> {
  const tmp = await makeTempDir();
  motoWithManagedPolicies();
  const moto = await startMoto();
  const postgres = await startPostgres();
  const controller = await startController({
    host: '127.0.0.1',
    port: 0,
    databaseUrl: await postgres.createDatabase('sites'),
    apiKey: API_KEY,
    logger: false,
  });
  const state = { failing: [] as RegExp[], seen: [] as string[] };
  const proxy = await startProxy(controller.url, state);
  const profileEnv = await writeAwsProfile(`${tmp.path}/aws`, 'waveshift-test', REGION);
  applyEnv(profileEnv);
  const env = { ...profileEnv, AWS_ENDPOINT_URL: moto.endpoint, WAVESHIFT_API_KEY: API_KEY };
  const dir = `${tmp.path}/deployment`;
  await mkdir(dir);
  const cli = (args: string[]) => runCli([...args, '--dir', dir], { cwd: tmp.path, env });
  const init = await cli([
    'init',
    '--identity-provider',
    'local',
    '--profile',
    'waveshift-test',
    '--region',
    REGION,
    '--name',
    DEPLOYMENT,
    '--controller-url',
    proxy.url,
  ]);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);

  const ec2 = new EC2Client({
    region: REGION,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const tags = (type: string, component: string) => [
    { ResourceType: type as never, Tags: resourceTags(DEPLOYMENT, component) },
  ];
  const vpc = await ec2.send(
    new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', TagSpecifications: tags('vpc', 'vpc') }),
  );
  const VpcId = vpc.Vpc!.VpcId!;
  for (const [cidr, component] of [
    ['10.0.1.0/24', 'public-subnet'],
    ['10.0.2.0/24', 'private-subnet'],
  ] as const) {
    await ec2.send(
      new CreateSubnetCommand({ VpcId, CidrBlock: cidr, TagSpecifications: tags('subnet', component) }),
    );
  }
  for (const component of ['public-route-table', 'private-route-table']) {
    await ec2.send(new CreateRouteTableCommand({ VpcId, TagSpecifications: tags('route-table', component) }));
  }

  return {
    moto,
    postgres,
    controller,
    dir,
    ec2,
    env,
    seen: state.seen,
    failNext: (match) => state.failing.push(match),
    cli,
    async stop() {
      ec2.destroy();
      await proxy.stop();
      await controller.close();
      await postgres.stop();
      await moto.stop();
      await tmp.remove();
    },
  };
}
