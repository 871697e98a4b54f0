import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceTags } from '../src/aws/naming';
import type { WavectlConfig } from '../src/config/schema';
import { runCli } from './helpers/cli';
import { motoWithManagedPolicies } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { recordSendCommands } from './helpers/send-command-recorder';
import { makeTempDir } from './helpers/tmp';

const NAME = 'relay';
const REGION = 'eu-west-1';
const KEY_IN_ENV = 'this-key-must-never-travel-through-ssm';

/**
 * Without controller.url, wavectl reaches the controller through SSM Run Command on the controller
 * instance. moto accepts the command but runs nothing (its output is empty), so this checks the wiring:
 * which instance the relay targets, what the command carries (never the API key), and the messages when
 * there is no controller or no answer. The script itself runs against a real controller in sites-relay.test.ts.
 */
describe('controller relay through SSM Run Command (moto)', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let dir: string;
  let env: Record<string, string>;
  let recorder: Awaited<ReturnType<typeof recordSendCommands>>;
  const cli = (args: string[]) => runCli([...args, '--dir', dir], { cwd: tmp.path, env });
  const config = async () => JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;

  beforeAll(async () => {
    tmp = await makeTempDir();
    motoWithManagedPolicies();
    moto = await startMoto();
    const profile = await writeAwsProfile(join(tmp.path, 'aws'), 'relay-test', REGION);
    applyEnv(profile);
    recorder = await recordSendCommands(moto.endpoint);
    env = { ...profile, AWS_ENDPOINT_URL: recorder.url, WAVESHIFT_API_KEY: KEY_IN_ENV };
    dir = join(tmp.path, 'deployment');
    await mkdir(dir);
    const init = await cli([
      'init',
      '--identity-provider',
      'local',
      '--profile',
      'relay-test',
      '--region',
      REGION,
      '--name',
      NAME,
    ]);
    expect(init.code, init.stderr).toBe(0);
    const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint, credentials });
    ssm = new SSMClient({ region: REGION, endpoint: moto.endpoint, credentials });
    const vpc = await ec2.send(
      new CreateVpcCommand({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: [{ ResourceType: 'vpc', Tags: resourceTags(NAME, 'vpc') }],
      }),
    );
    await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpc.Vpc!.VpcId!,
        CidrBlock: '10.0.1.0/24',
        TagSpecifications: [{ ResourceType: 'subnet', Tags: resourceTags(NAME, 'public-subnet') }],
      }),
    );
  }, 120_000);
  afterAll(async () => {
    ec2?.destroy();
    ssm?.destroy();
    await recorder?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('says there is no controller to relay through, leaving the server to be registered by a re-run', async () => {
    const run = await cli(['access-servers', '--add', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(
      /no running controller instance in deployment relay: run `wavectl deploy`, or set controller.url$/,
    );
    expect((await config()).accessServers).toMatchObject([{ index: 0, registered: false }]);
  });

  it('sends the registration to the controller instance through SSM, without the API key', async () => {
    const launched = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: resourceTags(NAME, 'controller') }],
      }),
    );
    const controllerId = launched.Instances![0]!.InstanceId!;
    const run = await cli(['access-servers', '--add', '1']);
    // moto runs nothing, so no answer comes back: the message says so, and the server stays unregistered.
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the SSM relay printed no controller answer/);
    expect((await config()).accessServers).toMatchObject([{ index: 0, registered: false }]);
    const relay = recorder.sent.find((c) => c.comment === 'wavectl controller relay');
    expect(relay?.instanceIds).toEqual([controllerId]);
    const script = relay?.script ?? '';
    expect(script).toContain('-X PUT -H @/etc/waveshift/api-key-header');
    expect(script).toContain("'http://127.0.0.1:8080/api/access-servers'");
    const commands = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    for (const c of commands) expect(JSON.stringify(c.Parameters)).not.toContain(KEY_IN_ENV);
  });
});
