import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceTags, tagFilters } from '../src/aws/naming';
import { DEPLOY_GRAPH, type DeployResult } from '../src/deploy/deploy';
import type { DestroyResult } from '../src/deploy/destroy';
import type { StatusResult } from '../src/deploy/status';
import { runCli } from './helpers/cli';
import {
  census,
  FULL_DEPLOYMENT,
  initDeployment,
  motoWithManagedPolicies,
  PROFILE,
  rawClients,
} from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { recordSendCommands } from './helpers/send-command-recorder';
import { makeTempDir } from './helpers/tmp';

type Applied = Extract<DeployResult, { mode: 'apply' }>;
type DryRun = Extract<DeployResult, { mode: 'dry-run' }>;

describe('deploy, status, destroy against moto', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let us: string;
  let eu: string;
  let recorder: Awaited<ReturnType<typeof recordSendCommands>>;
  const cli = (dir: string, ...args: string[]) =>
    runCli([...args, '--dir', dir, '--endpoint-url', recorder.url], { cwd: dir });

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    recorder = await recordSendCommands(moto.endpoint);
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-east-1'));
    // The same deployment name in two regions of one account: IAM, zones and buckets must not collide.
    us = await initDeployment(tmp.path, 'flow', 'us-east-1');
    eu = await initDeployment(tmp.path, 'flow', 'eu-west-1');
  });
  afterAll(async () => {
    await recorder?.stop();
    await moto?.stop();
    await tmp?.remove();
  });

  it('deploys everything once, in dependency order, with progress and a JSON result', async () => {
    const run = await cli(us, 'deploy', '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = run.json<Applied>();
    expect(result.mode).toBe('apply');
    expect(result.status).toBe('changed');
    expect(result.unhealthy).toEqual([]);
    expect(result.steps).toHaveLength(28);
    expect(result.notes.join('\n')).toMatch(/emulator/);
    // Every step reported started then done; the NAT gateway only after its subnet, EIP and IGW.
    const graph = new Set(DEPLOY_GRAPH.map((s) => s.id));
    const done = run.events
      .filter((e) => e.kind === 'step' && e.state === 'done')
      .map((e) => (e as { id: string }).id)
      .filter((id) => graph.has(id));
    expect(done).toHaveLength(28);
    for (const [before, after] of [
      ['public-subnet', 'nat-gateway'],
      ['nat-eip', 'nat-gateway'],
      ['internet-gateway', 'nat-gateway'],
      ['nat-gateway', 'private-route-table'],
      ['private-route-table', 'controller-instance'],
      ['controller-role', 'controller-instance'],
      ['controller-instance', 'controller-record'],
      ['controller-service', 'controller-health'],
      ['controller-tls', 'controller-service'],
      ['kasm-service', 'kasm-oidc-config'],
      ['controller-tls', 'kasm-oidc-config'],
    ]) {
      expect(done.indexOf(before!), `${before} before ${after}`).toBeLessThan(done.indexOf(after!));
    }
    expect((await census(moto.endpoint, 'flow', 'us-east-1')).counts).toEqual(FULL_DEPLOYMENT);
    const config = JSON.parse(await readFile(join(us, 'wavectl.json'), 'utf8'));
    expect(config.resources.vpc).toMatch(/^vpc-/);
    expect(config.resources['controller-instance']).toMatch(/^i-/);
    // Both subnets in the zone chosen for offering every instance type, and that choice recorded.
    const zone = config.resources['availability-zone'];
    expect(zone).toMatch(/^us-east-1[a-f]$/);
    const { ec2 } = rawClients(moto.endpoint, 'us-east-1');
    const subnets =
      (await ec2.send(new DescribeSubnetsCommand({ Filters: tagFilters('flow') }))).Subnets ?? [];
    expect(subnets.map((x) => x.AvailabilityZone)).toEqual([zone, zone]);
    // The deployment CA is recorded (certificate only); its key and the controller's are in SSM.
    expect(config.tls.caCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(JSON.stringify(config)).not.toMatch(/PRIVATE KEY/);
  });

  it('creates instances with IMDSv2, encrypted gp3 volumes of the configured size, and DNS records', async () => {
    const { ec2, route53, ssm } = rawClients(moto.endpoint, 'us-east-1');
    const reservations = await ec2.send(new DescribeInstancesCommand({ Filters: tagFilters('flow') }));
    const instances = (reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(instances.map((i) => i.InstanceType).sort()).toEqual(['m6a.2xlarge', 't3a.medium']);
    for (const i of instances) {
      expect(i.MetadataOptions?.HttpTokens).toBe('required');
      expect(i.SubnetId).toBeDefined();
    }
    const volumes =
      (await ec2.send(new DescribeVolumesCommand({ Filters: tagFilters('flow') }))).Volumes ?? [];
    expect(volumes.map((v) => [v.Size, v.VolumeType, v.Encrypted]).sort()).toEqual([
      [150, 'gp3', true],
      [20, 'gp3', true],
    ]);
    const controller = instances.find((i) => i.InstanceType === 't3a.medium')!;
    for (const name of ['waveshift.internal.', 'kasm.internal.']) {
      const zones = await route53.send(new ListHostedZonesByNameCommand({ DNSName: name }));
      const ours = (zones.HostedZones ?? []).filter(
        (z) => z.Name === name && z.CallerReference?.includes(':flow:'),
      );
      expect(ours.map((z) => z.Config?.PrivateZone)).toEqual([true]);
    }
    const zones = await route53.send(new ListHostedZonesByNameCommand({ DNSName: 'waveshift.internal.' }));
    const usZone = zones.HostedZones!.find((z) => z.CallerReference?.startsWith('wavectl:us-east-1:flow:'))!;
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: usZone.Id }));
    const apex = records.ResourceRecordSets?.find((r) => r.Type === 'A');
    expect(apex?.ResourceRecords?.[0]?.Value).toBe(controller.PrivateIpAddress);
    const key = await ssm.send(
      new GetParameterCommand({ Name: '/waveshift/flow/api-key', WithDecryption: true }),
    );
    expect(key.Parameter?.Type).toBe('SecureString');
    expect(Buffer.from(key.Parameter!.Value!, 'base64url').length).toBeGreaterThanOrEqual(32);
  });

  it('never prints the API key or the Kasm admin password', async () => {
    const { ssm } = rawClients(moto.endpoint, 'us-east-1');
    const secrets = await Promise.all(
      ['/waveshift/flow/api-key', '/waveshift/flow/kasm/admin-password'].map(async (Name) => {
        const out = await ssm.send(new GetParameterCommand({ Name, WithDecryption: true }));
        expect(out.Parameter?.Type).toBe('SecureString');
        return out.Parameter!.Value!;
      }),
    );
    const runs = [
      await cli(us, 'deploy'),
      await cli(us, 'status', '--json'),
      await cli(us, 'deploy', '--dry-run'),
    ];
    for (const run of runs)
      for (const secret of secrets) expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('changes nothing on a second deploy and says so', async () => {
    const run = await cli(us, 'deploy');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/is up to date: unchanged/);
    const json = await cli(us, 'deploy', '--json');
    const result = json.json<Applied>();
    expect(result.status).toBe('unchanged');
    // The emulator runs no command: the SSM-probed health is unverified there, never healthy.
    expect(new Set(result.steps.map((s) => s.status))).toEqual(new Set(['unchanged', 'unverified']));
    expect(result.changes.every((c) => c.action === 'keep')).toBe(true);
    expect(result.ok).toBe(true);
    expect((await census(moto.endpoint, 'flow', 'us-east-1')).counts).toEqual(FULL_DEPLOYMENT);
  });

  it('reports every resource, instance and controller health, and no drift', async () => {
    const run = await cli(us, 'status', '--json');
    expect(run.code, run.stderr).toBe(0);
    const status = run.json<StatusResult & { verdict: { ok: boolean } }>();
    // Under the emulator the services' health cannot be checked: named in the verdict, not a failure.
    expect(status.verdict).toEqual({
      ok: true,
      problems: [],
      unverified: [
        'controller: the AWS emulator runs no command on instances; only the command status was seen',
        'kasm: the AWS emulator runs no command on instances; only the command status was seen',
      ],
    });
    expect(status.resources).toHaveLength(25);
    expect(status.inSync).toBe(true);
    expect(status.instances.map((i) => [i.component, i.state, i.checks]).sort()).toEqual([
      ['controller', 'running', 'ok'],
      ['kasm', 'running', 'ok'],
    ]);
    expect(status.controller).toMatchObject({
      health: 'unverified',
      reason: expect.stringMatching(/emulator/),
    });
    expect(status.kasm.health).toBe('unverified');
    expect(status.ok).toBe(true);
    const human = await cli(us, 'status');
    expect(human.stdout).toMatch(/Drift: none/);
    expect(human.stdout).toMatch(/Controller: unverified \(.*emulator/);
    expect(human.stdout).toMatch(/TLS: CA [0-9A-F:]{95} \(until .*\), controller certificate until /);
    const ca = await cli(us, 'ca');
    expect(ca.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('gives Kasm its OpenID configuration once; a Kasm instance without its record is drift, and deploy resends it', async () => {
    const { ec2 } = rawClients(moto.endpoint, 'us-east-1');
    const kasmInstance = async () =>
      (
        (await ec2.send(new DescribeInstancesCommand({ Filters: tagFilters('flow', 'kasm') })))
          .Reservations ?? []
      )
        .flatMap((r) => r.Instances ?? [])
        .find(
          (i) =>
            i.State?.Name === 'running' &&
            i.Tags?.some((t) => t.Key === 'waveshift:component' && t.Value === 'kasm'),
        )!;
    const configured = async () =>
      (await kasmInstance()).Tags?.find((t) => t.Key === 'waveshift:kasm-oidc')?.Value;
    const sent = async () => recorder.sent.filter((c) => c.comment === 'wavectl deploy: configure kasm oidc');
    const fingerprint = await configured();
    expect(fingerprint).toMatch(/^kasm-oidc-[0-9a-f]{16}$/);
    // Sent by the first deploy only, not by the no-op ones since.
    const first = await sent();
    expect(first).toHaveLength(1);
    expect(first[0]!.instanceIds).toEqual([(await kasmInstance()).InstanceId]);
    await ec2.send(
      new DeleteTagsCommand({
        Resources: [(await kasmInstance()).InstanceId!],
        Tags: [{ Key: 'waveshift:kasm-oidc' }],
      }),
    );
    const drifted = await cli(us, 'status');
    expect(drifted.code).toBe(1);
    expect(drifted.stdout).toMatch(/kasm-oidc service/);
    const repaired = await cli(us, 'deploy', '--json');
    expect(repaired.code, repaired.stderr).toBe(0);
    const step = repaired.json<Applied>().steps.find((s) => s.step === 'kasm-oidc-config');
    expect(step).toMatchObject({ status: 'changed', id: fingerprint });
    expect(await sent()).toHaveLength(2);
    expect(await configured()).toBe(fingerprint);
    expect((await cli(us, 'status')).code).toBe(0);
  });

  it('shows a plan and a cost estimate on --dry-run without changing anything', async () => {
    const before = await readFile(join(us, 'wavectl.json'), 'utf8');
    const run = await cli(us, 'deploy', '--dry-run', '--json', '--kasm-instance-type', 'm6a.xlarge');
    expect(run.code, run.stderr).toBe(0);
    const plan = run.json<DryRun>();
    expect(plan.changes.filter((c) => c.action !== 'keep')).toEqual([
      expect.objectContaining({
        action: 'update',
        resource: { kind: 'instance', component: 'kasm' },
        before: { instanceType: 'm6a.2xlarge' },
        after: { instanceType: 'm6a.xlarge' },
      }),
    ]);
    expect(plan.cost.totalUsd).toBeGreaterThan(100);
    expect(await readFile(join(us, 'wavectl.json'), 'utf8')).toBe(before);
    const fresh = await cli(eu, 'deploy', '--dry-run');
    expect(fresh.stdout).toMatch(/29 to create, change or delete/);
    // The TLS step is part of the plan: the CA's key and the controller's certificate, to create.
    expect(fresh.stdout).toMatch(/create\s+tls\/ca key parameter/);
    expect(fresh.stdout).toMatch(/create\s+tls\/controller certificate parameter/);
    expect(fresh.stdout).toMatch(/total\s+\$\d+\.\d\d/);
    expect((await census(moto.endpoint, 'flow', 'eu-west-1')).found).toEqual([]);
  });

  it('resizes an instance in place, keeping its id and volume, and records the size', async () => {
    const { ec2 } = rawClients(moto.endpoint, 'us-east-1');
    const volumesBefore = (
      await ec2.send(new DescribeVolumesCommand({ Filters: tagFilters('flow', 'kasm') }))
    ).Volumes!;
    const idBefore = (await census(moto.endpoint, 'flow', 'us-east-1')).found.find(
      (f) => f.kind === 'instance' && f.component === 'kasm',
    )!.id;
    const run = await cli(us, 'deploy', '--json', '--kasm-instance-type', 'm6a.xlarge');
    expect(run.code, run.stderr).toBe(0);
    const step = run.json<Applied>().steps.find((s) => s.step === 'kasm-instance')!;
    expect(step).toMatchObject({
      status: 'changed',
      id: idBefore,
      detail: 'kasm instance: instanceType m6a.2xlarge, want m6a.xlarge',
    });
    const after = (await census(moto.endpoint, 'flow', 'us-east-1')).found.find(
      (f) => f.kind === 'instance' && f.component === 'kasm',
    )!;
    expect(after).toMatchObject({ id: idBefore, facts: { instanceType: 'm6a.xlarge' } });
    const volumesAfter = (await ec2.send(new DescribeVolumesCommand({ Filters: tagFilters('flow', 'kasm') })))
      .Volumes!;
    expect(volumesAfter.map((v) => v.VolumeId)).toEqual(volumesBefore.map((v) => v.VolumeId));
    const config = JSON.parse(await readFile(join(us, 'wavectl.json'), 'utf8'));
    expect(config.instances.kasm.type).toBe('m6a.xlarge');
  });

  it('starts an instance found stopped (e.g. a resize interrupted after the stop)', async () => {
    const { ec2 } = rawClients(moto.endpoint, 'us-east-1');
    const controller = (await census(moto.endpoint, 'flow', 'us-east-1')).found.find(
      (f) => f.kind === 'instance' && f.component === 'controller',
    )!;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [controller.id] }));
    const run = await cli(us, 'deploy', '--json');
    expect(run.code, run.stderr).toBe(0);
    const step = run.json<Applied>().steps.find((s) => s.step === 'controller-instance')!;
    expect(step).toMatchObject({
      status: 'changed',
      id: controller.id,
      detail: 'controller instance: state stopped, want running',
    });
    const after = (await census(moto.endpoint, 'flow', 'us-east-1')).found.find(
      (f) => f.id === controller.id,
    )!;
    expect(after.state).toBe('running');
  });

  it('refuses an unknown instance type with one line and exit 2', async () => {
    const run = await cli(us, 'deploy', '--controller-instance-type', 't3a.huge');
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--controller-instance-type/);
  });

  it('keeps two regions of one account apart: destroying one leaves the other intact', async () => {
    const eu1 = await cli(eu, 'deploy', '--json');
    expect(eu1.code, eu1.stderr).toBe(0);
    expect((await census(moto.endpoint, 'flow', 'eu-west-1')).counts).toEqual(FULL_DEPLOYMENT);
    // A resource someone tagged with the deployment by hand: status calls it drift, destroy removes it.
    const { ec2 } = rawClients(moto.endpoint, 'us-east-1');
    const vpcId = (await census(moto.endpoint, 'flow', 'us-east-1')).found.find((f) => f.kind === 'vpc')!.id;
    const rogue = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'rogue',
        Description: 'added by hand',
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: resourceTags('flow', 'rogue') }],
      }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: rogue.GroupId,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.0.0.0/16' }] }],
      }),
    );
    const drifted = await cli(us, 'status', '--json');
    // CI gates on the exit code: drift is not success, and --json carries the same verdict.
    expect(drifted.code).toBe(1);
    expect(drifted.stderr).toMatch(/^wavectl: not healthy and in sync: 1 change\(s\) of drift: /m);
    const drift = drifted.json<StatusResult>();
    expect(drift.verdict.ok).toBe(false);
    expect(drift.verdict.problems).toEqual(['1 change(s) of drift']);
    expect(drift.inSync).toBe(false);
    expect(drift.drift.map((c) => [c.action, c.resource.kind, c.resource.component])).toEqual([
      ['delete', 'security-group', 'rogue'],
    ]);

    const gone = await cli(us, 'destroy', '--yes', '--json');
    expect(gone.code, gone.stderr).toBe(0);
    const result = gone.json<DestroyResult>();
    expect(result.status).toBe('destroyed');
    expect(result.deleted).toHaveLength(26);
    expect((await census(moto.endpoint, 'flow', 'us-east-1')).found).toEqual([]);
    expect((await census(moto.endpoint, 'flow', 'eu-west-1')).counts).toEqual(FULL_DEPLOYMENT);
    const config = JSON.parse(await readFile(join(us, 'wavectl.json'), 'utf8'));
    expect(config.resources).toEqual({});

    const again = await cli(us, 'destroy', '--yes');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing to destroy/);

    const euGone = await cli(eu, 'destroy', '--yes');
    expect(euGone.code, euGone.stderr).toBe(0);
    expect((await census(moto.endpoint, 'flow', 'eu-west-1')).found).toEqual([]);
  });
});
