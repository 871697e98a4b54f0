import { DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients, resolveEndpoint } from '../src/aws/clients';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

describe('AWS client factory against moto', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeAll(async () => {
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(tmp.path, 'waveshift-test', 'eu-central-1'));
  });
  afterAll(async () => {
    await moto.stop();
    await tmp.remove();
  });

  it('reaches moto with a named profile from a temporary AWS config file', async () => {
    const clients = createAwsClients({
      profile: 'waveshift-test',
      region: 'eu-central-1',
      endpointUrl: moto.endpoint,
    });
    try {
      const identity = await (await clients.sts()).send(new GetCallerIdentityCommand({}));
      expect(identity.Account).toMatch(/^\d{12}$/);
      const vpcs = await (await clients.ec2()).send(new DescribeVpcsCommand({}));
      // moto's default VPC exists in every region: the call really went through.
      expect(vpcs.Vpcs?.length).toBeGreaterThan(0);
      expect(await (await clients.ec2()).config.region()).toBe('eu-central-1');
    } finally {
      clients.destroy();
    }
  });

  it('fails with the credentials error of an unknown profile', async () => {
    const clients = createAwsClients({
      profile: 'no-such-profile',
      region: 'eu-central-1',
      endpointUrl: moto.endpoint,
    });
    try {
      await expect((await clients.sts()).send(new GetCallerIdentityCommand({}))).rejects.toThrow(
        /profile|credential/i,
      );
    } finally {
      clients.destroy();
    }
  });

  it('prefers --endpoint-url, then AWS_ENDPOINT_URL, then the config file', () => {
    expect(resolveEndpoint('http://flag', { AWS_ENDPOINT_URL: 'http://env' }, 'http://file')).toBe(
      'http://flag',
    );
    expect(resolveEndpoint(undefined, { AWS_ENDPOINT_URL: 'http://env' }, 'http://file')).toBe('http://env');
    expect(resolveEndpoint(undefined, {}, 'http://file')).toBe('http://file');
    expect(resolveEndpoint(undefined, {}, undefined)).toBeUndefined();
  });
});
