import { join } from 'node:path';
import { AllocateAddressCommand, DescribeAddressesCommand } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elasticIpQuotaProblem } from '../src/access-servers/eip-quota';
import { runCli } from './helpers/cli';
import { initDeployment, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

const REGION = 'eu-west-1';

describe('Elastic IP quota: access-servers --add refuses what the account cannot allocate', () => {
  it('compares the addresses it needs with the quota left, counting its own already allocated', () => {
    expect(
      elasticIpQuotaProblem({ quota: 5, allocated: 1, alreadyAllocated: 0 }, 4, 'us-east-1'),
    ).toBeUndefined();
    const refused = elasticIpQuotaProblem({ quota: 5, allocated: 1, alreadyAllocated: 0 }, 5, 'us-east-1');
    expect(refused).toMatch(/"EC2-VPC Elastic IPs" quota in us-east-1 is 5 and 1 are allocated/);
    expect(refused).toMatch(/--quota-code L-0263D0A3 --desired-value 6 --region us-east-1/);
    // A re-run whose addresses exist needs none more.
    expect(
      elasticIpQuotaProblem({ quota: 5, allocated: 5, alreadyAllocated: 2 }, 2, 'us-east-1'),
    ).toBeUndefined();
  });

  describe('against moto (quota 5)', () => {
    let moto: MotoServer;
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;
    let dir: string;
    const cli = (...args: string[]) =>
      runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir });

    beforeAll(async () => {
      moto = await startMoto();
      tmp = await makeTempDir();
      applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, REGION));
      dir = await initDeployment(tmp.path, 'eipcheck', REGION);
    });
    afterAll(async () => {
      await moto?.stop();
      await tmp?.remove();
    });

    it('refuses before creating anything, naming the quota and how to raise it', async () => {
      const { ec2, ssm } = rawClients(moto.endpoint, REGION);
      for (let i = 0; i < 4; i++) await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      const run = await cli('access-servers', '--add', '2');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/quota in eu-west-1 is 5 and 4 are allocated/);
      expect(run.stderr).toMatch(/request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3/);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect((await ec2.send(new DescribeAddressesCommand({}))).Addresses).toHaveLength(4);
      const stored = await ssm.send(
        new GetParametersByPathCommand({ Path: '/waveshift/eipcheck', Recursive: true }),
      );
      expect(stored.Parameters ?? []).toEqual([]);
      // One fits: the quota check lets it through to the next requirement (a deployed VPC).
      const one = await cli('access-servers', '--add', '1');
      expect(one.stderr).not.toMatch(/Elastic IP/);
      expect(one.stderr).toMatch(/run `wavectl deploy` first/);
    });
  });
});
