import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand, ListTagsForResourceCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parameterNames, tagFilters } from '../src/aws/naming';
import type { UpstreamIdentityProvider } from '../src/config/schema';
import type { DeployResult } from '../src/deploy/deploy';
import { controllerInstallScript, upstreamEnvLines } from '../src/deploy/service-scripts';
import { runCli } from './helpers/cli';
import { census, motoWithManagedPolicies, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

type Applied = Extract<DeployResult, { mode: 'apply' }>;

const SETTINGS: UpstreamIdentityProvider = {
  issuerUrl: 'https://acme.okta.com',
  clientId: '0oa1b2c3',
  groupsClaim: 'groups',
  groupMapping: { 'cn=Eng,ou=Groups': 'engineers', 'say "hi"': 'x' },
  adminGroups: ['it-admins'],
};

describe('the upstream provider’s settings on the controller instance (pure)', () => {
  it('quotes each value for systemd’s EnvironmentFile, and sends the secret’s name, never its value', () => {
    expect(upstreamEnvLines({ ...SETTINGS, allowedEmailDomain: 'acme.example' }).split('\n')).toEqual([
      'WAVESHIFT_UPSTREAM_ISSUER="https://acme.okta.com"',
      'WAVESHIFT_UPSTREAM_CLIENT_ID="0oa1b2c3"',
      'WAVESHIFT_UPSTREAM_GROUPS_CLAIM="groups"',
      'WAVESHIFT_UPSTREAM_GROUP_MAP="{\\"cn=Eng,ou=Groups\\":\\"engineers\\",\\"say \\\\\\"hi\\\\\\"\\":\\"x\\"}"',
      'WAVESHIFT_UPSTREAM_ADMIN_GROUPS="[\\"it-admins\\"]"',
      'WAVESHIFT_UPSTREAM_EMAIL_DOMAIN="acme.example"',
    ]);
    const script = controllerInstallScript({
      region: 'us-east-1',
      bucket: 'b',
      bundleKey: 'k1',
      installScriptKey: 'k2',
      unitKey: 'k3',
      apiKeyParameter: '/waveshift/x/api-key',
      upstream: { settings: SETTINGS, clientSecretParameter: '/waveshift/x/idp/client-secret' },
    });
    expect(script).toContain("export WAVESHIFT_IDP_CLIENT_SECRET_PARAMETER='/waveshift/x/idp/client-secret'");
    const encoded = /WAVESHIFT_UPSTREAM_ENV_B64='([^']+)'/.exec(script)![1]!;
    expect(Buffer.from(encoded, 'base64').toString('utf8')).toBe(upstreamEnvLines(SETTINGS));
  });
});

describe('deploy with an upstream identity provider, against moto', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  const secret = 'okta-client-secret-"quoted"-value';
  const cli = (env: Record<string, string>, ...args: string[]) =>
    runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir, env });
  const installedTag = async () => {
    const { ec2 } = rawClients(moto.endpoint, 'us-east-1');
    const reservations = (await ec2.send(new DescribeInstancesCommand({ Filters: tagFilters('sso') })))
      .Reservations;
    const controller = reservations!
      .flatMap((r) => r.Instances ?? [])
      .find((i) => i.Tags?.some((t) => t.Key === 'waveshift:component' && t.Value === 'controller'));
    return controller?.Tags?.find((t) => t.Key === 'waveshift:installed')?.Value;
  };

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-east-1'));
    dir = join(tmp.path, 'sso');
    await mkdir(dir);
    const init = await runCli(
      [
        'init',
        '--identity-provider',
        'okta',
        '--issuer-url',
        SETTINGS.issuerUrl,
        '--client-id',
        SETTINGS.clientId,
        '--profile',
        PROFILE,
        '--region',
        'us-east-1',
        '--name',
        'sso',
        '--dir',
        dir,
      ],
      { cwd: dir },
    );
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  it('without the secret and without a terminal, refuses before changing anything, naming the variable', async () => {
    const run = await cli({}, 'deploy');
    expect(run.code).toBe(2);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('wavectl:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^wavectl: no client secret for the okta identity provider: set WAVESHIFT_IDP_CLIENT_SECRET \(no terminal/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect((await census(moto.endpoint, 'sso', 'us-east-1')).found).toEqual([]);
  });

  it('stores the secret from the environment as a tagged SecureString, never printing it', async () => {
    const run = await cli({ WAVESHIFT_IDP_CLIENT_SECRET: secret }, 'deploy', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<Applied>();
    expect(result.steps.find((s) => s.step === 'idp-client-secret')).toMatchObject({
      status: 'created',
      id: parameterNames('sso').idpClientSecret,
    });
    expect(run.stdout + run.stderr).not.toContain(secret);
    const { ssm } = rawClients(moto.endpoint, 'us-east-1');
    const { Parameter } = await ssm.send(
      new GetParameterCommand({ Name: parameterNames('sso').idpClientSecret, WithDecryption: true }),
    );
    expect(Parameter).toMatchObject({ Type: 'SecureString', Value: secret, Version: 1 });
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: Parameter!.Name! }),
    );
    expect(tags.TagList).toEqual(
      expect.arrayContaining([{ Key: 'waveshift:component', Value: 'idp/client-secret' }]),
    );
    expect(await installedTag()).toMatch(/^controller-[0-9a-f]{16}(\.tls-\S+)?-s1$/);
  });

  it('changes nothing on a second deploy, secret or not; a rotated secret installs the controller again', async () => {
    const again = await cli({}, 'deploy', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json<Applied>().status).toBe('unchanged');

    const refused = await cli({}, 'config', 'set-secret', 'idp-client-secret');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/set WAVESHIFT_IDP_CLIENT_SECRET/);
    const rotated = await cli(
      { WAVESHIFT_IDP_CLIENT_SECRET: 'the-new-secret' },
      'config',
      'set-secret',
      'idp-client-secret',
      '--json',
    );
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.json()).toEqual({
      parameter: parameterNames('sso').idpClientSecret,
      version: '2',
      replaced: true,
    });

    const redeploy = await cli({}, 'deploy', '--json');
    expect(redeploy.code, redeploy.stderr).toBe(0);
    const steps = redeploy.json<Applied>().steps;
    expect(steps.find((s) => s.step === 'controller-service')?.status).toBe('changed');
    expect(steps.find((s) => s.step === 'idp-client-secret')?.status).toBe('unchanged');
    expect(await installedTag()).toMatch(/-s2$/);
  });
});
