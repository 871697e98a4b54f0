import { join } from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  DeleteNatGatewayCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DetachInternetGatewayCommand,
  ModifyVpcAttributeCommand,
  RevokeSecurityGroupIngressCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DetachRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
} from '@aws-sdk/client-route-53';
import { DeleteBucketTaggingCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tagFilters } from '../src/aws/naming';
import { stagingBucketName } from '../src/aws/staging-bucket';
import type { DeployResult } from '../src/deploy/deploy';
import type { StatusResult } from '../src/deploy/status';
import { runCli } from './helpers/cli';
import {
  initDeployment,
  MOTO_ACCOUNT,
  motoWithManagedPolicies,
  PROFILE,
  rawClients,
} from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

type Applied = Extract<DeployResult, { mode: 'apply' }>;
type DryRun = Extract<DeployResult, { mode: 'dry-run' }>;

const REGION = 'ap-southeast-2';

/** Raw describes, written here and not taken from wavectl: the oracle the drift is made and checked with. */
async function rawFacts(endpoint: string, deployment: string) {
  const { ec2 } = rawClients(endpoint, REGION);
  const Filters = tagFilters(deployment);
  const tagged = <T extends { Tags?: { Key?: string; Value?: string }[] }>(
    items: T[] | undefined,
    component: string,
  ) =>
    (items ?? []).filter(
      (i) =>
        i.Tags?.some((t) => t.Key === 'waveshift:component' && t.Value === component) &&
        i.Tags?.some((t) => t.Key === 'waveshift:deployment' && t.Value === deployment),
    );
  const [groups, tables, igws, reservations, nats] = await Promise.all([
    ec2.send(new DescribeSecurityGroupsCommand({ Filters })),
    ec2.send(new DescribeRouteTablesCommand({ Filters })),
    ec2.send(new DescribeInternetGatewaysCommand({ Filters })),
    ec2.send(new DescribeInstancesCommand({ Filters })),
    ec2.send(new DescribeNatGatewaysCommand({})),
  ]);
  const instances = (reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  return {
    controllerGroup: tagged(groups.SecurityGroups, 'controller')[0]!,
    privateTable: tagged(tables.RouteTables, 'private-route-table')[0]!,
    igw: tagged(igws.InternetGateways, 'internet-gateway')[0]!,
    kasm: tagged(instances, 'kasm').find((i) => i.State?.Name !== 'terminated')!,
    nats: tagged(nats.NatGateways, 'nat-gateway'),
  };
}

describe('drift made behind wavectl’s back: status names it, --dry-run lists it, deploy repairs it', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  const cli = (...args: string[]) =>
    runCli([...args, '--dir', dir, '--endpoint-url', moto.endpoint], { cwd: dir });

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, REGION));
    dir = await initDeployment(tmp.path, 'drifty', REGION);
    const first = await cli('deploy', '--json');
    if (first.code !== 0) throw new Error(first.stderr);
  }, 120_000);
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  it('catches the five drifts field by field, and deploy brings status back to exit 0', {
    timeout: 120_000,
  }, async () => {
    const { ec2, route53 } = rawClients(moto.endpoint, REGION);
    const before = await rawFacts(moto.endpoint, 'drifty');
    // 1. a controller security-group rule revoked
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: before.controllerGroup.GroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '10.0.0.0/16' }] },
        ],
      }),
    );
    // 2. the private default route deleted
    await ec2.send(
      new DeleteRouteCommand({
        RouteTableId: before.privateTable.RouteTableId,
        DestinationCidrBlock: '0.0.0.0/0',
      }),
    );
    // 3. the Kasm A record deleted
    const zones = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
    const kasmZone = zones.find(
      (z) => z.Name === 'kasm.internal.' && z.CallerReference?.includes(':drifty:'),
    )!;
    const record = (
      await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: kasmZone.Id }))
    ).ResourceRecordSets!.find((r) => r.Type === 'A')!;
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: kasmZone.Id,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: record }] },
      }),
    );
    // 4. the Kasm instance stopped
    await ec2.send(new StopInstancesCommand({ InstanceIds: [before.kasm.InstanceId!] }));
    // 5. the internet gateway detached
    await ec2.send(
      new DetachInternetGatewayCommand({
        InternetGatewayId: before.igw.InternetGatewayId,
        VpcId: before.igw.Attachments![0]!.VpcId,
      }),
    );

    const expected = [
      'internet gateway: attachedTo',
      'private route table: defaultRoute missing',
      'controller security group: ingress tcp/8080 from 10.0.0.0/16 missing',
      'kasm instance: state stopped, want running',
      'kasm.internal A record: missing, to create',
    ];
    const status = await cli('status', '--json');
    expect(status.code).toBe(1);
    const drift = status.json<StatusResult>();
    expect(drift.ok).toBe(false);
    for (const line of expected)
      expect(
        drift.driftLines.some((l) => l.startsWith(line)),
        line,
      ).toBe(true);
    const human = await cli('status');
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('controller security group: ingress tcp/8080 from 10.0.0.0/16 missing');
    expect(human.stderr).toMatch(/^wavectl: .*drift/m);

    const dry = await cli('deploy', '--dry-run', '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const planned = dry.json<DryRun>().changes.filter((c) => c.action !== 'keep');
    expect(planned.map((c) => `${c.resource.kind}/${c.resource.component}`).sort()).toEqual(
      [
        'dns-record/kasm-zone',
        'instance/kasm',
        'internet-gateway/internet-gateway',
        'route-table/private-route-table',
        'security-group/controller',
      ].sort(),
    );
    const text = await cli('deploy', '--dry-run');
    for (const line of expected) expect(text.stdout).toContain(line);

    const repair = await cli('deploy', '--json');
    expect(repair.code, repair.stderr).toBe(0);
    const applied = repair.json<Applied>();
    // The plan it applied is the plan --dry-run printed (in the order the graph ran it).
    const done = applied.changes.filter((c) => c.action !== 'keep');
    expect(done).toHaveLength(planned.length);
    expect(done).toEqual(expect.arrayContaining(planned));

    const after = await rawFacts(moto.endpoint, 'drifty');
    expect(after.kasm.State?.Name).toBe('running');
    expect(after.igw.Attachments?.map((a) => a.VpcId)).toEqual([before.igw.Attachments![0]!.VpcId]);
    expect(after.privateTable.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NatGatewayId).toBe(
      before.nats.find((n) => n.State === 'available')!.NatGatewayId,
    );
    const clean = await cli('status', '--json');
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.json<StatusResult>().drift).toEqual([]);
  });

  it('converges per family: each other drift is named, applied, and the next plan is all keep', {
    timeout: 120_000,
  }, async () => {
    const { ec2, iam, route53, s3 } = rawClients(moto.endpoint, REGION);
    const facts = await rawFacts(moto.endpoint, 'drifty');
    const vpcId = facts.igw.Attachments![0]!.VpcId!;
    const role = `waveshift-${REGION}-drifty-kasm`;
    const zones = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
    const zone = zones.find(
      (z) => z.Name === 'waveshift.internal.' && z.CallerReference?.includes(':drifty:'),
    )!;
    // VPC attribute, inline policy, managed policy, bucket tags, zone tags, and a rule nobody asked for.
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: false } }));
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: 'waveshift',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
        }),
      }),
    );
    await iam.send(
      new DetachRolePolicyCommand({
        RoleName: role,
        PolicyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
      }),
    );
    await s3.send(
      new DeleteBucketTaggingCommand({ Bucket: stagingBucketName('drifty', REGION, MOTO_ACCOUNT) }),
    );
    await route53.send(
      new ChangeTagsForResourceCommand({
        ResourceType: 'hostedzone',
        ResourceId: zone.Id!.replace('/hostedzone/', ''),
        RemoveTagKeys: ['waveshift:deployment'],
      }),
    );
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: facts.controllerGroup.GroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    );
    const status = await cli('status', '--json');
    expect(status.code).toBe(1);
    const lines = status.json<StatusResult>().driftLines;
    for (const line of [
      'vpc: enableDnsHostnames off, want on',
      'kasm iam role: inlinePolicy sha256:',
      'kasm iam role: managedPolicies arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore missing',
      'staging bucket: deployment missing (want drifty)',
      'waveshift.internal zone: deployment missing (want drifty)',
      'controller security group: ingress tcp/5432 from 0.0.0.0/0 not wanted',
    ])
      expect(
        lines.some((l) => l.startsWith(line)),
        `${line} in ${lines.join(' | ')}`,
      ).toBe(true);
    const repair = await cli('deploy', '--json');
    expect(repair.code, repair.stderr).toBe(0);
    const dry = await cli('deploy', '--dry-run', '--json');
    expect(dry.json<DryRun>().changes.filter((c) => c.action !== 'keep')).toEqual([]);
    expect((await cli('status')).code).toBe(0);
  });

  it('recreates a NAT gateway deleted behind its back while its address was still associated', {
    timeout: 120_000,
  }, async () => {
    const { ec2 } = rawClients(moto.endpoint, REGION);
    const old = (await rawFacts(moto.endpoint, 'drifty')).nats.find((n) => n.State === 'available')!;
    await ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: old.NatGatewayId }));
    const status = await cli('status', '--json');
    expect(status.code).toBe(1);
    expect(status.json<StatusResult>().driftLines).toContain('nat gateway: missing, to create');
    const repair = await cli('deploy', '--json');
    expect(repair.code, repair.stderr).toBe(0);
    const fresh = (await rawFacts(moto.endpoint, 'drifty')).nats.find((n) => n.State === 'available')!;
    expect(fresh.NatGatewayId).not.toBe(old.NatGatewayId);
    expect(fresh.NatGatewayAddresses?.[0]?.AllocationId).toBe(old.NatGatewayAddresses?.[0]?.AllocationId);
    const table = (await rawFacts(moto.endpoint, 'drifty')).privateTable;
    expect(table.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NatGatewayId).toBe(
      fresh.NatGatewayId,
    );
    expect((await cli('status')).code).toBe(0);
  });
});
