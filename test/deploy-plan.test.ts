import { beforeAll, describe, expect, it } from 'vitest';
import { type Change, fieldDifferences, planResource } from '../src/aws/change';
import { isEmulatorEndpoint } from '../src/aws/clients';
import { boundedName } from '../src/aws/ensured';
import { roleName } from '../src/aws/iam';
import { runInstancesInput } from '../src/aws/instances';
import { retryWhile } from '../src/aws/retry';
import { defaultRouteOf } from '../src/aws/route-tables';
import { currentIngress, desiredIngress, ruleText, toPermission } from '../src/aws/security-groups';
import { stagingBucketName } from '../src/aws/staging-bucket';
import { zoneOffering } from '../src/aws/subnets';
import { WavectlConfigSchema } from '../src/config/schema';
import type { Current, FoundResource } from '../src/deploy/census';
import { servedCertificateFacts } from '../src/deploy/controller-tls';
import { DEPLOY_GRAPH, deployGraph, withInstanceTypes } from '../src/deploy/deploy';
import { criticalPath, runGraph, topologicalOrder } from '../src/deploy/graph';
import { KASM_OIDC_SERVICE } from '../src/deploy/kasm-oidc-step';
import { estimateMonthlyCost, knownIds, type PlanInput, planDeployment, planStep } from '../src/deploy/plan';
import { changeLines } from '../src/deploy/plan-text';
import { DESTROY_PHASES, GLOBAL_PHASES, removalOrder } from '../src/deploy/remove';
import { controllerInstallScript, kasmInstallScript, shellQuote } from '../src/deploy/service-scripts';
import {
  certificateFacts,
  createCertificateAuthority,
  issueServerCertificate,
} from '../src/tls/certificates';

const config = (instances: Record<string, unknown> = {}, accessServers: unknown[] = []) =>
  WavectlConfigSchema.parse({
    version: 1,
    name: 'acme',
    identityProvider: 'local',
    aws: { profile: 'p', region: 'us-east-1' },
    instances,
    accessServers,
  });

const scope = { deployment: 'acme', region: 'us-east-1', bucket: 'waveshift-us-east-1-acme-staging-1' };
const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
/** Where the stand-in apply puts the controller instance: the address its certificate must name. */
const CONTROLLER_IP = '10.0.2.10';
/** The CA recorded in wavectl.json and the certificate the stand-in apply "stores" (made once, at run time). */
let tls: { record: NonNullable<ReturnType<typeof config>['tls']>; certificatePem: string };
beforeAll(async () => {
  const ca = await createCertificateAuthority('acme', NOW);
  const server = await issueServerCertificate(
    ca,
    { names: ['waveshift.internal'], ips: [CONTROLLER_IP] },
    NOW,
  );
  const facts = certificateFacts(ca.certificatePem);
  tls = {
    record: {
      caCertificate: ca.certificatePem,
      caFingerprint: facts.fingerprintSha256,
      caExpires: facts.notAfter,
      controllerCertificateExpires: certificateFacts(server.certificatePem).notAfter,
    },
    certificatePem: server.certificatePem,
  };
});
const inputOf = (c = config(), now = NOW): PlanInput => ({
  config: { ...c, tls: tls.record },
  scope,
  fingerprints: { controller: 'controller-abc', kasm: 'kasm-def', kasmOidc: 'kasm-oidc-123' },
  now,
});
const empty = (): Current => ({ resources: [], records: {} });

/**
 * Pure stand-in of `deploy`'s apply: each step's plan, with the ids of the steps before it, turned into the
 * resources it would leave. What the property test and the drift tests start from.
 */
function converge(input: PlanInput, start: Current = empty()): Current {
  const current: Current = { ...start, resources: [...start.resources], records: { ...start.records } };
  const { ids, facts } = knownIds(current, input.config);
  for (const step of topologicalOrder(deployGraph(input.config))) {
    for (const change of planStep(step, current, input, ids, facts)) {
      const { kind, component } = change.resource;
      const id = change.id ?? `${kind}:${component}`;
      if (change.action === 'keep') {
        // nothing to do
      } else if (step === 'controller-tls') {
        // Apply stores the keys and the certificate; wavectl.json already records the CA (inputOf).
        const parameter = (c: string): FoundResource => ({
          kind: 'parameter',
          component: c,
          id: `/waveshift/acme/${c}`,
          fields: {},
        });
        current.resources = [
          ...current.resources.filter((r) => r.kind !== 'parameter' || !r.component.startsWith('tls/')),
          parameter('tls/ca-key'),
          parameter('tls/controller-key'),
          parameter('tls/controller-certificate'),
        ];
        current.controllerCertificatePem = tls.certificatePem;
        facts['controller-tls'] = servedCertificateFacts(tls.certificatePem);
      } else if (kind === 'dns-record') current.records[component] = { id, fields: { ...change.after } };
      else if (kind === 'service' && component === KASM_OIDC_SERVICE) {
        const instance = current.resources.find((r) => r.kind === 'instance' && r.component === 'kasm')!;
        instance.facts = { ...instance.facts, kasmOidc: String(change.after?.configured ?? '') };
      } else if (kind === 'service') {
        const instance = current.resources.find((r) => r.kind === 'instance' && r.component === component)!;
        instance.facts = { ...instance.facts, installed: String(change.after?.installed ?? '') };
      } else {
        const was = current.resources.find((r) => r.id === id);
        // Apply resolves "known once created" values to what the earlier changes created.
        const resolved = Object.fromEntries(
          Object.entries(change.after ?? {}).map(([k, v]) => {
            const step = typeof v === 'string' ? /^\((.+), once created\)$/.exec(v)?.[1] : undefined;
            return [k, step ? (ids[step] ?? v) : v];
          }),
        );
        const fields = { ...was?.fields, ...resolved } as FoundResource['fields'];
        const state = typeof fields.state === 'string' ? { state: fields.state } : {};
        const resource: FoundResource = {
          kind: kind as FoundResource['kind'],
          component,
          id,
          fields,
          ...state,
        };
        if (kind === 'instance')
          resource.facts = {
            privateIp: component === 'controller' ? CONTROLLER_IP : `10.0.2.${current.resources.length}`,
          };
        current.resources = [...current.resources.filter((r) => r.id !== id), resource];
      }
      if (kind === 'instance') ids[component] = id;
      if (step.endsWith('-instance') && kind === 'instance')
        facts[step] = current.resources.find((r) => r.id === id)!.facts!;
      if (!step.endsWith('-service') && !step.endsWith('-record') && kind !== 'instance-profile')
        ids[step] = id;
    }
  }
  return current;
}

const without = (c: Current, kind: string, component: string): Current => ({
  ...c,
  resources: c.resources.filter((r) => !(r.kind === kind && r.component === component)),
});
const edit = (c: Current, kind: string, component: string, fields: FoundResource['fields']): Current => ({
  ...c,
  resources: c.resources.map((r) =>
    r.kind === kind && r.component === component ? { ...r, fields: { ...r.fields, ...fields } } : r,
  ),
});
const notKept = (changes: Change[]) => changes.filter((c) => c.action !== 'keep');

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
  it('creates everything in an empty account, then converges: the plan of what apply left is all keep', () => {
    for (const c of [
      config(),
      config({}, [{ index: 0, publicKey: 'hPv4QiK1GOwWbfsRlKo2MxZ9aD6O9TyqX1Ux2K4Nd0k=' }]),
    ]) {
      const input = inputOf(c);
      const first = planDeployment(empty(), input);
      expect(first.every((change) => change.action === 'create')).toBe(true);
      expect(first).toHaveLength(c.accessServers.length === 0 ? 29 : 29 + 3 + 2);
      expect(notKept(planDeployment(converge(input), input))).toEqual([]);
    }
  });

  it('renews the controller certificate in its last 30 days, and makes a new CA when its key is gone', () => {
    const input = inputOf();
    const done = converge(input);
    expect(notKept(planDeployment(done, inputOf(config(), new Date(NOW.getTime() + 59 * DAY))))).toEqual([]);
    const late = planDeployment(done, inputOf(config(), new Date(NOW.getTime() + 61 * DAY)));
    // The running controller gets the renewed certificate: its installation names the certificate it serves.
    const installed = `controller-abc.tls-${servedCertificateFacts(tls.certificatePem).certificate}`;
    const reinstall = `controller service: installed ${installed}, want controller-abc.tls-(controller-tls, once created)`;
    expect(changeLines(late)).toEqual([
      `tls/controller certificate parameter: the controller certificate expires ${tls.record.controllerCertificateExpires}`,
      reinstall,
    ]);
    const noCaKey = without(done, 'parameter', 'tls/ca-key');
    expect(changeLines(planDeployment(noCaKey, input))).toEqual([
      'tls/ca key parameter: missing, to create',
      'tls/controller certificate parameter: new deployment CA',
      reinstall,
    ]);
    // A controller on a new address needs a certificate that names it.
    const moved = {
      ...done,
      resources: done.resources.map((r) =>
        r.kind === 'instance' && r.component === 'controller'
          ? { ...r, facts: { privateIp: '10.0.2.77' } }
          : r,
      ),
    };
    expect(changeLines(planDeployment(moved, input))).toContain(
      'tls/controller certificate parameter: the controller certificate does not name 10.0.2.77',
    );
  });

  it('plans an in-place update when an instance size changes, field by field', () => {
    const current = converge(inputOf());
    const changes = planDeployment(
      current,
      inputOf(withInstanceTypes(config(), { controllerInstanceType: 't3a.large' })),
    );
    expect(notKept(changes)).toEqual([
      {
        action: 'update',
        resource: { kind: 'instance', component: 'controller' },
        id: 'instance:controller',
        before: { instanceType: 't3a.medium' },
        after: { instanceType: 't3a.large' },
        differences: ['instanceType t3a.medium, want t3a.large'],
      },
    ]);
  });

  it('names each of the five drifts made behind its back, and apply converges again', () => {
    const input = inputOf();
    const done = converge(input);
    const vpc = done.resources.find((r) => r.kind === 'vpc')!.id;
    const rules = done.resources.find((r) => r.kind === 'security-group' && r.component === 'controller')!
      .fields.ingress as string[];
    const drifts: [Current, string[]][] = [
      [
        edit(done, 'security-group', 'controller', {
          ingress: rules.filter((r) => r !== 'tcp/8080 from 10.0.0.0/16'),
        }),
        ['controller security group: ingress tcp/8080 from 10.0.0.0/16 missing'],
      ],
      [
        edit(done, 'route-table', 'private-route-table', { defaultRoute: '' }),
        ['private route table: defaultRoute missing (want nat-gateway:nat-gateway)'],
      ],
      [
        { ...done, records: { ...done.records, 'kasm-zone': undefined } },
        ['kasm.internal A record: missing, to create'],
      ],
      [edit(done, 'instance', 'kasm', { state: 'stopped' }), ['kasm instance: state stopped, want running']],
      [
        edit(done, 'internet-gateway', 'internet-gateway', { attachedTo: [] }),
        [`internet gateway: attachedTo ${vpc} missing`],
      ],
    ];
    for (const [drifted, lines] of drifts) {
      expect(changeLines(planDeployment(drifted, input))).toEqual(lines);
    }
    // A missing resource is created and what needs it follows: no half plan.
    const noNat = without(done, 'nat-gateway', 'nat-gateway');
    expect(notKept(planDeployment(noNat, input)).map((c) => c.resource.component)).toEqual([
      'nat-gateway',
      'private-route-table',
    ]);
    expect(notKept(planDeployment(converge(input, noNat), input))).toEqual([]);
  });

  it('deletes duplicates, strays and unrecorded access servers, but keeps recorded ones and every parameter', () => {
    const recorded = config({}, [{ index: 0, publicKey: 'hPv4QiK1GOwWbfsRlKo2MxZ9aD6O9TyqX1Ux2K4Nd0k=' }]);
    const done = converge(inputOf(recorded));
    const stray = (kind: FoundResource['kind'], component: string, id: string): FoundResource => ({
      kind,
      component,
      id,
      fields: {},
    });
    done.resources.push(
      stray('security-group', 'rogue', 'sg-x'),
      stray('vpc', 'vpc', 'vpc-2'),
      stray('instance', 'access-server-5', 'i-5'),
      stray('parameter', 'sites/3/scanner-key', '/waveshift/acme/sites/3/scanner-key'),
    );
    const changes = notKept(planDeployment(done, inputOf(recorded)));
    expect(changes.map((c) => [c.action, c.id])).toEqual([
      ['delete', 'sg-x'],
      ['delete', 'vpc-2'],
      ['delete', 'i-5'],
    ]);
    expect(changeLines(changes)[0]).toBe('rogue security group sg-x: not part of the deployment, to delete');
  });

  it('compares fields as values and lists as sets', () => {
    expect(fieldDifferences('state', 'stopped', 'running')).toEqual(['state stopped, want running']);
    expect(fieldDifferences('ingress', ['a', 'b'], ['b', 'c'])).toEqual([
      'ingress c missing',
      'ingress a not wanted',
    ]);
    expect(fieldDifferences('ingress', ['b', 'a'], ['a', 'b'])).toEqual([]);
    const ref = { kind: 'vpc' as const, component: 'vpc' };
    expect(planResource(ref, undefined, { cidr: '10.0.0.0/16' })).toEqual({
      action: 'create',
      resource: ref,
      after: { cidr: '10.0.0.0/16' },
    });
    expect(
      planResource(ref, { id: 'vpc-1', fields: { cidr: '10.0.0.0/16', x: 'y' } }, { cidr: '10.0.0.0/16' }),
    ).toEqual({
      action: 'keep',
      resource: ref,
      id: 'vpc-1',
    });
    // Serialisable: a plan survives JSON unchanged (--json prints exactly these objects).
    const plan = planDeployment(converge(inputOf()), inputOf());
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
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
    expect(desiredIngress('controller').map(ruleText).sort()).toEqual(
      [
        'tcp/22 from 10.0.0.0/16',
        'tcp/443 from 10.0.0.0/16',
        'tcp/443 from 10.8.0.0/16',
        'tcp/8080 from 10.0.0.0/16',
        'tcp/8080 from 10.8.0.0/16',
      ].sort(),
    );
    expect(desiredIngress('kasm').map(ruleText)).toEqual([
      'tcp/443 from 10.0.0.0/16',
      'tcp/443 from 10.8.0.0/16',
    ]);
    expect(desiredIngress('access-server').map(ruleText)).toEqual([
      'udp/51820 from 0.0.0.0/0',
      'all from 10.0.0.0/16',
    ]);
  });

  it('reads every rule as words, including those it never writes, and writes them back the same', () => {
    const permissions = [
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        IpRanges: [{ CidrIp: '10.0.0.0/16' }, { CidrIp: '0.0.0.0/0' }],
      },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'tcp', FromPort: 1, ToPort: 3, UserIdGroupPairs: [{ GroupId: 'sg-1' }] },
    ];
    const rules = currentIngress(permissions);
    expect(rules).toEqual([
      'tcp/443 from 10.0.0.0/16',
      'tcp/443 from 0.0.0.0/0',
      'all from 10.0.0.0/8',
      'tcp/1-3 from sg-1',
    ]);
    expect(currentIngress(rules.map((r) => toPermission(r)))).toEqual(rules);
  });

  it('reads a default route as its target, and a blackhole as pointing nowhere', () => {
    expect(defaultRouteOf({ Routes: [] })).toBe('');
    expect(defaultRouteOf({ Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1' }] })).toBe(
      'nat-1',
    );
    expect(defaultRouteOf({ Routes: [{ DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' }] })).toBe(
      'igw-1',
    );
    expect(
      defaultRouteOf({
        Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-1', State: 'blackhole' }],
      }),
    ).toBe('blackhole');
  });

  it('puts both subnets in the first zone that offers every instance type', () => {
    const offerings = [
      { type: 't3a.medium', zone: 'us-east-1a' },
      { type: 'm6a.2xlarge', zone: 'us-east-1b' },
      { type: 't3a.medium', zone: 'us-east-1b' },
      { type: 't3.micro', zone: 'us-east-1b' },
      { type: 't3.micro', zone: 'us-east-1c' },
    ];
    expect(zoneOffering(offerings, ['t3a.medium', 'm6a.2xlarge', 't3.micro'])).toBe('us-east-1b');
    expect(zoneOffering(offerings, ['m6a.2xlarge', 'r6a.large'])).toBeUndefined();
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

  it('installs the controller from S3 with only names in the command, never the key', () => {
    const inputs = {
      region: 'us-east-1',
      bucket: 'bkt',
      bundleKey: 'controller/abc.cjs',
      installScriptKey: 'controller/def.sh',
      unitKey: 'controller/123.service',
      apiKeyParameter: '/waveshift/acme/api-key',
    };
    const script = controllerInstallScript(inputs);
    expect(script).toContain(
      "aws s3 cp --only-show-errors --region 'us-east-1' 's3://bkt/controller/abc.cjs'",
    );
    expect(script).toContain("export WAVESHIFT_API_KEY_PARAMETER='/waveshift/acme/api-key'");
    expect(script).toContain('export WAVESHIFT_PORT=8080');
    expect(script).not.toMatch(/WAVESHIFT_API_KEY=/);
    const kasm = kasmInstallScript({
      region: 'us-east-1',
      adminPasswordParameter: '/waveshift/acme/kasm/admin-password',
    });
    expect(kasm).toContain("--name '/waveshift/acme/kasm/admin-password' --with-decryption");
    expect(kasm).toMatch(/>> \/root\/kasm-install.log$/m);
    const withIdentity = controllerInstallScript({
      ...inputs,
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
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('destroys in the order AWS requires, roles after their profiles', () => {
    const found = converge(inputOf()).resources;
    const plan = removalOrder(found);
    plan.phases.forEach((phase, i) => {
      expect(phase.length).toBeGreaterThan(0);
      for (const r of phase) expect(DESTROY_PHASES[i]).toContain(r.kind);
    });
    expect(plan.phases.at(-1)!.map((r) => r.kind)).toEqual(['vpc']);
    expect(plan.global.at(-1)!.map((r) => r.kind)).toEqual(['iam-role', 'iam-role']);
    expect(GLOBAL_PHASES[0]).toContain('instance-profile');
    expect(plan.phases.flat().length + plan.global.flat().length).toBe(found.length);
    expect(found).toHaveLength(25);
  });
});
