import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  instanceTypeProblem,
  KNOWN_INSTANCE_TYPES,
  kasmInstanceTypeProblem,
} from '../src/aws/instance-types';
import { resolveAmi, runInstancesInput } from '../src/aws/instances';
import { runCli } from './helpers/cli';
import { rawClients } from './helpers/deploy-fixture';
import { type MotoServer, startMoto } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

const INIT = [
  'init',
  '--identity-provider',
  'local',
  '--profile',
  'p',
  '--region',
  'us-east-1',
  '--name',
  'types',
];

describe('instance types AWS can launch with wavectl’s images', () => {
  it('refuses arm64 types (the images are x86_64) and names an x86_64 one instead', () => {
    expect(instanceTypeProblem('t4g.small')).toMatch(
      /t4g\.small is an arm64 \(Graviton\) type.*such as t3a\.small/,
    );
    expect(instanceTypeProblem('t3a.small')).toBeUndefined();
    expect(KNOWN_INSTANCE_TYPES.some((t) => t.startsWith('t4g.'))).toBe(false);
  });

  it('refuses Kasm hosts below 2 vCPU / 4 GiB', () => {
    expect(kasmInstanceTypeProblem('t3.small')).toMatch(/2 vCPU, 2 GiB\) is below Kasm Workspaces' minimum/);
    expect(kasmInstanceTypeProblem('t3.medium')).toBeUndefined();
    expect(kasmInstanceTypeProblem('c6a.large')).toBeUndefined();
  });

  describe('at the command line: exit 2, one line, nothing written', () => {
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;
    beforeAll(async () => {
      tmp = await makeTempDir();
    });
    afterAll(() => tmp.remove());

    it.each([
      [['--access-server-instance-type', 't4g.micro'], /arm64/],
      [['--controller-instance-type', 't4g.medium'], /arm64/],
      [['--kasm-instance-type', 't3.small'], /below Kasm Workspaces' minimum/],
    ])('init %j', async (extra, message) => {
      const dir = join(tmp.path, extra.join('-'));
      const run = await runCli([...INIT, '--dir', dir, ...extra], { cwd: tmp.path });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'wavectl.json'))).toBe(false);
    });

    it('deploy --kasm-instance-type below the minimum, before any AWS call', async () => {
      const dir = join(tmp.path, 'deploy');
      await mkdir(dir);
      expect((await runCli([...INIT, '--dir', dir], { cwd: tmp.path })).code).toBe(0);
      const run = await runCli(['deploy', '--dir', dir, '--kasm-instance-type', 't3a.small'], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--kasm-instance-type: .*below Kasm Workspaces' minimum/);
    });
  });
});

describe('root volumes', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(() => moto.stop());

  it('are never smaller than the image’s snapshot', async () => {
    const spec = {
      deployment: 'd',
      component: 'controller',
      imageId: 'ami-1',
      rootDeviceName: '/dev/xvda',
      instanceType: 't3a.medium',
      subnetId: 's',
      securityGroupId: 'g',
      instanceProfileName: 'p',
      vpcId: 'v',
    };
    expect(
      runInstancesInput({ ...spec, volumeGb: 8, rootVolumeGb: 30 }).BlockDeviceMappings[0]!.Ebs.VolumeSize,
    ).toBe(30);
    expect(
      runInstancesInput({ ...spec, volumeGb: 40, rootVolumeGb: 30 }).BlockDeviceMappings[0]!.Ebs.VolumeSize,
    ).toBe(40);
  });

  it('take the snapshot size from the image wavectl resolves', async () => {
    const { ec2, ssm } = rawClients(moto.endpoint, 'us-east-1');
    const ami = await resolveAmi(ec2, ssm, 'controller', true);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami.imageId] }))).Images![0]!;
    const root = image.BlockDeviceMappings!.find((m) => m.DeviceName === image.RootDeviceName)!;
    expect(root.Ebs!.VolumeSize).toBeGreaterThan(0);
    expect(ami.rootVolumeGb).toBe(root.Ebs!.VolumeSize);
  });
});
