import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import {
  census,
  FULL_DEPLOYMENT,
  initDeployment,
  motoWithManagedPolicies,
  PROFILE,
} from './helpers/deploy-fixture';
import { type ForwardingProxy, startForwardingProxy } from './helpers/forwarding-proxy';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

/** EC2's answer for a resource another endpoint does not see yet (eventual consistency). */
const notFound = (code: string) => ({
  status: 400,
  headers: { 'content-type': 'text/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>The ID does not exist</Message></Error></Errors><RequestID>eventual-proxy</RequestID></Response>`,
});

/** The first call of each action that follows a create, answered NotFound as EC2 does right after creates. */
const FIRST_AFTER_CREATE: Record<string, string> = {
  AuthorizeSecurityGroupIngress: 'InvalidGroup.NotFound',
  CreateRoute: 'InvalidRouteTableID.NotFound',
  AttachInternetGateway: 'InvalidInternetGatewayID.NotFound',
  AssociateRouteTable: 'InvalidRouteTableID.NotFound',
  ModifyVpcAttribute: 'InvalidVpcID.NotFound',
};

describe('calls right after a create, answered NotFound once (EC2 eventual consistency)', () => {
  let moto: MotoServer;
  let proxy: ForwardingProxy;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  const injected: string[] = [];

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    proxy = await startForwardingProxy(moto.endpoint, (_req, body) => {
      const action = /(?:^|&)Action=(\w+)/.exec(body.toString())?.[1] ?? '';
      const code = FIRST_AFTER_CREATE[action];
      if (!code || injected.includes(action)) return undefined;
      injected.push(action);
      return notFound(code);
    });
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'ca-central-1'));
    dir = await initDeployment(tmp.path, 'eventual', 'ca-central-1');
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('retries them for a bounded time instead of failing the deploy', { timeout: 120_000 }, async () => {
    const run = await runCli(['deploy', '--dir', dir, '--endpoint-url', proxy.url, '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(injected.sort()).toEqual(Object.keys(FIRST_AFTER_CREATE).sort());
    expect((await census(moto.endpoint, 'eventual', 'ca-central-1')).counts).toEqual(FULL_DEPLOYMENT);
    const status = await runCli(['status', '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir });
    expect(status.code, status.stdout).toBe(0);
  });
});
