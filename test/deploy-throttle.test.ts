import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { type AwsProxy, startAwsProxy } from './helpers/deploy-aws-proxy';
import {
  census,
  FULL_DEPLOYMENT,
  initDeployment,
  motoWithManagedPolicies,
  PROFILE,
} from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

describe('deploy and destroy through a proxy that throttles every fifth call of each service', () => {
  let moto: MotoServer;
  let proxy: AwsProxy;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    proxy = await startAwsProxy(moto.endpoint, { throttle: (_service, nth) => nth % 5 === 2 });
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'eu-central-1'));
    dir = await initDeployment(tmp.path, 'throttled', 'eu-central-1');
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('retries ThrottlingException, RequestLimitExceeded and SlowDown instead of failing', {
    timeout: 180_000,
  }, async () => {
    const deploy = await runCli(['deploy', '--dir', dir, '--endpoint-url', proxy.endpoint, '--json'], {
      cwd: dir,
    });
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(proxy.throttled).toBeGreaterThan(15);
    for (const service of ['ec2', 'iam', 'route53', 'ssm', 's3', 'sts'])
      expect(proxy.counts[service]).toBeGreaterThan(0);
    expect((await census(moto.endpoint, 'throttled', 'eu-central-1')).counts).toEqual(FULL_DEPLOYMENT);

    const destroy = await runCli(['destroy', '--yes', '--dir', dir, '--endpoint-url', proxy.endpoint], {
      cwd: dir,
    });
    expect(destroy.code, destroy.stderr).toBe(0);
    expect((await census(moto.endpoint, 'throttled', 'eu-central-1')).found).toEqual([]);
  });
});
