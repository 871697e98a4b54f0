import { describe, expect, it } from 'vitest';
import { CORE_RESOURCES, isExpectedComponent } from '../src/aws/components';
import { boundedName } from '../src/aws/ensured';
import { roleName, rolePolicy } from '../src/aws/iam';
import { runInstancesInput } from '../src/aws/instances';
import { isEmulatorEndpoint, retryWhile } from '../src/aws/retry';
import { defaultRouteChange } from '../src/aws/route-tables';
import { currentIngress, desiredIngress, diffIngress } from '../src/aws/security-groups';
import { stagingBucketName } from '../src/aws/staging-bucket';
import { WavectlConfigSchema } from '../src/config/schema';
import type { FoundResource } from '../src/deploy/census';
import { DEPLOY_GRAPH, withInstanceTypes } from '../src/deploy/deploy';
import { DESTROY_PHASES, destroyPlan } from '../src/deploy/destroy';
import { criticalPath, runGraph, topologicalOrder } from '../src/deploy/graph';
import { detectDrift, estimateMonthlyCost, planDeploy } from '../src/deploy/plan';
import { controllerInstallScript, kasmInstallScript, shellQuote } from '../src/deploy/service-scripts';

const config = (instances: Record<string, unknown> = {}, accessServers: unknown[] = []) =>
  WavectlConfigSchema.parse({
    version: 1,
    name: 'acme',
    identityProvider: 'local',
    aws: { profile: 'p', region: 'us-east-1' },
    instances,
    accessServers,
  });

const everything = (): FoundResource[] =>
  CORE_RESOURCES.map((r, i) => ({
    ...r,
    id: `id-${i}`,
    ...(r.kind === 'instance'
      ? { facts: { instanceType: r.component === 'kasm' ? 'm6a.2xlarge' : 't3a.medium' } }
      : {}),
  }));

describe('the deploy graph', () => {
  it('is acyclic, names only known steps and puts the network before the instances', () => {
    const order = topologicalOrder(DEPLOY_GRAPH);
    expect(order).toHaveLength(DEPLOY_GRAPH.length);
    expect(order.indexOf('nat-gateway')).toBeLessThan(order.indexOf('private-route-table'));
    expect(order.indexOf('private-route-table')).toBeLessThan(order.indexOf('kasm-instance'));
  });

  it('rejects cycles and unknown dependencies', () => {
    expect(() =>
      topologicalOrder([
        { id: 'a', needs: ['b'] },
        { id: 'b', needs: ['a'] },
      ]),
    ).toThrow(/cycle: a → b → a/);
    expect(() => topologicalOrder([{ id: 'a', needs: ['nope'] }])).toThrow(/unknown step nope/);
  });

  it('finds the longest chain: IAM and the bucket run alongside the network', () => {
    // The NAT gateway is the slow one (minutes on AWS).
    const chain = criticalPath(DEPLOY_GRAPH, (id) => (id === 'nat-gateway' ? 10 : 1));
    expect(chain.path).toEqual([
      'vpc',
      'public-subnet',
      'nat-gateway',
      'private-route-table',
      'controller-instance',
      'controller-tls',
      'controller-service',
      'controller-health',
    ]);
    expect(chain.total).toBe(17);
  });

  it('runs independent steps at the same time and stops starting steps after a failure', async () => {
    let running = 0;
    let peak = 0;
    const started: string[] = [];
    const step = (id: string, needs: string[], fail = false) => ({
      id,
      needs,
      run: async () => {
        started.push(id);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        if (fail) throw new Error(`${id} broke`);
        return id;
      },
    });
    const outcomes = await runGraph([step('a', []), step('b', []), step('c', ['a', 'b'])]);
    expect(peak).toBe(2);
    expect(outcomes.map((o) => o.id)).toEqual(expect.arrayContaining(['a', 'b', 'c']));
    started.length = 0;
    await expect(runGraph([step('x', [], true), step('y', []), step('z', ['x'])])).rejects.toThrow('x broke');
    expect(started.sort()).toEqual(['x', 'y']);
  });
});

describe('plan, drift and cost', () => {
  it('creates everything in an empty account and keeps what exists', () => {
    expect(planDeploy([], config()).every((c) => c.action === 'create')).toBe(true);
    expect(planDeploy(everything(), config()).every((c) => c.action === 'keep')).toBe(true);
  });

  it('plans an in-place update when an instance size changes', () => {
    const changes = planDeploy(
      everything(),
      withInstanceTypes(config(), { controllerInstanceType: 't3a.large' }),
    );
    expect(changes.filter((c) => c.action !== 'keep')).toEqual([
      {
        action: 'update',
        resource: { kind: 'instance', component: 'controller' },
        id: expect.any(String),
        before: 't3a.medium',
        after: 't3a.large',
      },
    ]);
  });

  it('reports missing, extra and duplicate resources, but not the access servers of another part', () => {
    const found = everything().filter((f) => f.component !== 'nat-gateway');
    found.push(
      { kind: 'security-group', component: 'rogue', id: 'sg-x' },
      { kind: 'instance', component: 'access-server-0', id: 'i-as' },
      { kind: 'elastic-ip', component: 'access-server-0-eip', id: 'eip-as' },
      { kind: 'parameter', component: 'sites/3/scanner-key', id: '/waveshift/acme/sites/3/scanner-key' },
      { kind: 'vpc', component: 'vpc', id: 'vpc-2' },
    );
    const drift = detectDrift(found);
    expect(drift.missing).toEqual([{ kind: 'nat-gateway', component: 'nat-gateway' }]);
    expect(drift.extra.map((e) => e.id)).toEqual(['sg-x']);
    expect(drift.duplicates.map((d) => d.id)).toEqual(['vpc-2']);
    expect(isExpectedComponent('iam-role', 'access-server')).toBe(true);
  });

  it('estimates the monthly cost from the price table', () => {
    const base = estimateMonthlyCost(config());
    // t3a.medium 0.0376 + m6a.2xlarge 0.3456 per hour, 170 GB gp3, NAT gateway and its address.
    expect(base.totalUsd).toBeCloseTo(
      0.0376 * 730 + 0.3456 * 730 + 170 * 0.08 + 0.045 * 730 + 0.005 * 730,
      1,
    );
    const bigger = estimateMonthlyCost(
      config({ kasm: { type: 'm6a.4xlarge' } }, [
        { index: 0, publicKey: 'hPv4QiK1GOwWbfsRlKo2MxZ9aD6O9TyqX1Ux2K4Nd0k=' },
      ]),
    );
    expect(bigger.totalUsd).toBeGreaterThan(base.totalUsd + 250);
    expect(bigger.lines.map((l) => l.item)).toContain('1 access server(s) t3.micro');
  });
});

describe('resource shapes', () => {
  it('opens the controller API and HTTPS to the VPC and the sites, SSH to the VPC only', () => {
    const rules = desiredIngress('controller').map((r) => `${r.port} ${r.cidr}`);
    expect(rules.sort()).toEqual(
      ['22 10.0.0.0/16', '443 10.0.0.0/16', '443 10.8.0.0/16', '8080 10.0.0.0/16', '8080 10.8.0.0/16'].sort(),
    );
    expect(desiredIngress('kasm').map((r) => `${r.port} ${r.cidr}`)).toEqual([
      '443 10.0.0.0/16',
      '443 10.8.0.0/16',
    ]);
  });

  it('diffs security group rules both ways, counting what it cannot express', () => {
    const current = currentIngress([
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        IpRanges: [{ CidrIp: '10.0.0.0/16' }, { CidrIp: '0.0.0.0/0' }],
      },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
    ]);
    expect(current.other).toBe(1);
    const diff = diffIngress(current.rules, desiredIngress('kasm'));
    expect(diff.add.map((r) => r.cidr)).toEqual(['10.8.0.0/16']);
    expect(diff.remove.map((r) => r.cidr)).toEqual(['0.0.0.0/0']);
  });

  it('replaces a default route that points elsewhere or is a blackhole', () => {
    const target = { kind: 'nat' as const, id: 'nat-1' };
    expect(defaultRouteChange({ Routes: [] }, target)).toBe('create');
    expect(
      defaultRouteChange({ Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1' }] }, target),
    ).toBe('keep');
    expect(
      defaultRouteChange({ Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0' }] }, target),
    ).toBe('replace');
    expect(
      defaultRouteChange(
        { Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1', State: 'blackhole' }] },
        target,
      ),
    ).toBe('replace');
  });

  it('launches with IMDSv2 required, an encrypted gp3 root volume and no fixed idempotency token', () => {
    const spec = {
      deployment: 'acme',
      component: 'kasm',
      imageId: 'ami-1',
      rootDeviceName: '/dev/sda1',
      instanceType: 'm6a.2xlarge',
      volumeGb: 150,
      subnetId: 'subnet-1',
      securityGroupId: 'sg-1',
      instanceProfileName: 'p',
      vpcId: 'vpc-1',
    };
    const input = runInstancesInput(spec);
    expect(input.MetadataOptions.HttpTokens).toBe('required');
    expect(input.BlockDeviceMappings[0]).toEqual({
      DeviceName: '/dev/sda1',
      Ebs: { VolumeSize: 150, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true },
    });
    expect(input.TagSpecifications.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
    // The SDK fills a fresh token per call: a fixed one would return a terminated instance on a later run.
    expect('ClientToken' in input).toBe(false);
  });

  it('retries while AWS is still converging, then names the call when it gives up', async () => {
    let calls = 0;
    const propagating = Object.assign(new Error('Invalid IAM Instance Profile name'), {
      name: 'InvalidParameterValue',
    });
    const value = await retryWhile(
      'EC2 RunInstances',
      async () => {
        calls++;
        if (calls < 3) throw propagating;
        return 'i-1';
      },
      (e) => (e as Error).name === 'InvalidParameterValue',
      { attempts: 5, delayMs: 1 },
    );
    expect([value, calls]).toEqual(['i-1', 3]);
    await expect(
      retryWhile(
        'EC2 RunInstances',
        () => Promise.reject(propagating),
        () => true,
        { attempts: 2, delayMs: 1 },
      ),
    ).rejects.toMatchObject({
      name: 'AwsError',
      awsCode: 'InvalidParameterValue',
      message: /^EC2 RunInstances failed/,
    });
  });

  it('takes a non-AWS endpoint override for an emulator, and a VPC endpoint for AWS', () => {
    expect(isEmulatorEndpoint(undefined)).toBe(false);
    expect(isEmulatorEndpoint('http://127.0.0.1:5000')).toBe(true);
    expect(isEmulatorEndpoint('https://vpce-1a2b.ec2.us-east-1.vpce.amazonaws.com')).toBe(false);
  });

  it('keeps account-global names within their limits and distinct per region', () => {
    const long = 'a'.repeat(32);
    expect(roleName(long, 'ap-southeast-2', 'controller').length).toBeLessThanOrEqual(64);
    expect(roleName(long, 'ap-southeast-2', 'controller')).not.toBe(roleName(long, 'ap-southeast-2', 'kasm'));
    expect(roleName('acme', 'us-east-1', 'kasm')).not.toBe(roleName('acme', 'eu-west-1', 'kasm'));
    const bucket = stagingBucketName(long, 'ap-southeast-2', '123456789012');
    expect(bucket.length).toBeLessThanOrEqual(63);
    expect(bucket).toMatch(/^[a-z0-9-]+$/);
    expect(boundedName('short', 64)).toBe('short');
  });

  it('scopes the controller policy to its own parameters and bucket', () => {
    const policy = JSON.stringify(
      rolePolicy('controller', { deployment: 'acme', region: 'us-east-1', bucket: 'b1' }),
    );
    expect(policy).toContain('parameter/waveshift/acme/*');
    expect(policy).toContain('arn:aws:s3:::b1/*');
    expect(policy).toContain('aws:ResourceTag/waveshift:deployment');
    const kasm = JSON.stringify(
      rolePolicy('kasm', { deployment: 'acme', region: 'us-east-1', bucket: 'b1' }),
    );
    expect(kasm).not.toContain('s3:');
  });

  it('installs the controller from S3 with only names in the command, never the key', () => {
    const script = controllerInstallScript({
      region: 'us-east-1',
      bucket: 'bkt',
      bundleKey: 'controller/abc.cjs',
      installScriptKey: 'controller/def.sh',
      unitKey: 'controller/123.service',
      apiKeyParameter: '/waveshift/acme/api-key',
    });
    expect(script).toContain(
      "aws s3 cp --only-show-errors --region 'us-east-1' 's3://bkt/controller/abc.cjs'",
    );
    expect(script).toContain("export WAVESHIFT_API_KEY_PARAMETER='/waveshift/acme/api-key'");
    expect(script).toContain('export WAVESHIFT_PORT=8080');
    expect(script).not.toMatch(/WAVESHIFT_API_KEY=/);
    const withIdentity = controllerInstallScript({
      region: 'us-east-1',
      bucket: 'bkt',
      bundleKey: 'controller/abc.cjs',
      installScriptKey: 'controller/def.sh',
      unitKey: 'controller/123.service',
      apiKeyParameter: '/waveshift/acme/api-key',
      tlsParameters: {
        key: '/waveshift/acme/tls/controller-key',
        certificate: '/waveshift/acme/tls/controller-certificate',
      },
      oidc: {
        issuer: 'https://waveshift.internal/auth',
        clientSecretParameter: '/waveshift/acme/kasm/oidc-client-secret',
      },
    });
    expect(withIdentity).toContain("export WAVESHIFT_TLS_KEY_PARAMETER='/waveshift/acme/tls/controller-key'");
    expect(withIdentity).toContain("export WAVESHIFT_OIDC_ISSUER='https://waveshift.internal/auth'");
    expect(withIdentity).not.toMatch(/PRIVATE KEY|WAVESHIFT_KASM_CLIENT_SECRET=/);
    expect(kasmInstallScript()).toMatch(/> \/root\/kasm-install.log 2>&1/);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('destroys in the order AWS requires, roles after their profiles', () => {
    const plan = destroyPlan(everything());
    plan.phases.forEach((phase, i) => {
      expect(phase.length).toBeGreaterThan(0);
      for (const r of phase) expect(DESTROY_PHASES[i]).toContain(r.kind);
    });
    expect(plan.phases.at(-1)!.map((r) => r.kind)).toEqual(['vpc']);
    const kinds = plan.global.map((r) => r.kind);
    expect(kinds.lastIndexOf('instance-profile')).toBeLessThan(kinds.indexOf('iam-role'));
    expect(plan.phases.flat().length + plan.global.length).toBe(CORE_RESOURCES.length);
  });
});
