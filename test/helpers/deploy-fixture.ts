import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { ListHostedZonesCommand, ListTagsForResourceCommand, Route53Client } from '@aws-sdk/client-route-53';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { stagingBucketName } from '../../src/aws/staging-bucket';
import { runCli } from './cli';

/** moto's account: every moto server answers as this one. */
export const MOTO_ACCOUNT = '123456789012';
export const PROFILE = 'waveshift-deploy-test';

/**
 * moto loads AWS managed policies (AmazonSSMManagedInstanceCore, which deploy attaches) only when asked.
 * Call before startMoto(): the server inherits this process's environment.
 */
export function motoWithManagedPolicies(): void {
  process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
}

/** A deployment directory with wavectl.json written by the real `init` (optionally with controller.url). */
export async function initDeployment(
  root: string,
  name: string,
  region: string,
  controllerUrl?: string,
): Promise<string> {
  const dir = join(root, `${name}-${region}`);
  await mkdir(dir, { recursive: true });
  const run = await runCli(
    [
      'init',
      '--identity-provider',
      'local',
      '--profile',
      PROFILE,
      '--region',
      region,
      '--name',
      name,
      ...(controllerUrl ? ['--controller-url', controllerUrl] : []),
      '--dir',
      dir,
    ],
    { cwd: dir },
  );
  if (run.code !== 0) throw new Error(`init failed: ${run.stderr}`);
  return dir;
}

/** Raw SDK clients on moto, for assertions that do not go through wavectl. */
export function rawClients(endpoint: string, region: string) {
  const common = { region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  return {
    ec2: new EC2Client(common),
    iam: new IAMClient(common),
    route53: new Route53Client(common),
    ssm: new SSMClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
  };
}

/** One resource as the test oracle sees it. */
export interface OracleResource {
  kind: string;
  component: string;
  id: string;
  state?: string;
  facts?: Record<string, string>;
}

type Tags = { Key?: string; Value?: string }[] | undefined;
const tag = (tags: Tags, key: string) => tags?.find((t) => t.Key === key)?.Value;

/**
 * Everything found for `deployment` in `region`, as counts by "kind/component" — read with raw SDK calls
 * written here, independent of wavectl's own reading: EC2 described WITHOUT filters and grouped by the
 * deployment tag here; IAM roles and profiles by their names; zones by caller reference; parameters by path;
 * the bucket by name.
 */
export async function census(
  endpoint: string,
  deployment: string,
  region: string,
): Promise<{ found: OracleResource[]; counts: Record<string, number> }> {
  const { ec2, iam, route53, ssm, s3 } = rawClients(endpoint, region);
  const found: OracleResource[] = [];
  const ours = (tags: Tags) => tag(tags, 'waveshift:deployment') === deployment;
  const push = (kind: string, tags: Tags, id: string | undefined, extra: Partial<OracleResource> = {}) => {
    if (ours(tags))
      found.push({ kind, component: tag(tags, 'waveshift:component') ?? '', id: id ?? '', ...extra });
  };
  const [vpcs, subnets, igws, nats, addresses, tables, groups, reservations] = await Promise.all([
    ec2.send(new DescribeVpcsCommand({})),
    ec2.send(new DescribeSubnetsCommand({})),
    ec2.send(new DescribeInternetGatewaysCommand({})),
    ec2.send(new DescribeNatGatewaysCommand({})),
    ec2.send(new DescribeAddressesCommand({})),
    ec2.send(new DescribeRouteTablesCommand({})),
    ec2.send(new DescribeSecurityGroupsCommand({})),
    ec2.send(new DescribeInstancesCommand({})),
  ]);
  for (const v of vpcs.Vpcs ?? []) push('vpc', v.Tags, v.VpcId);
  for (const x of subnets.Subnets ?? []) push('subnet', x.Tags, x.SubnetId);
  for (const g of igws.InternetGateways ?? []) push('internet-gateway', g.Tags, g.InternetGatewayId);
  for (const a of addresses.Addresses ?? []) push('elastic-ip', a.Tags, a.AllocationId);
  for (const n of nats.NatGateways ?? [])
    if (n.State !== 'deleted' && n.State !== 'failed')
      push('nat-gateway', n.Tags, n.NatGatewayId, { state: n.State });
  for (const t of tables.RouteTables ?? []) push('route-table', t.Tags, t.RouteTableId);
  for (const g of groups.SecurityGroups ?? []) push('security-group', g.Tags, g.GroupId);
  for (const i of (reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []))
    if (i.State?.Name !== 'terminated')
      push('instance', i.Tags, i.InstanceId, {
        state: i.State?.Name,
        facts: { instanceType: i.InstanceType ?? '' },
      });
  const missing = () => undefined;
  for (const component of ['controller', 'kasm', 'access-server']) {
    const name = `waveshift-${region}-${deployment}-${component}`;
    const role = await iam.send(new GetRoleCommand({ RoleName: name })).catch(missing);
    if (role?.Role) push('iam-role', role.Role.Tags, name);
    const profile = await iam
      .send(new GetInstanceProfileCommand({ InstanceProfileName: name }))
      .catch(missing);
    if (profile?.InstanceProfile) push('instance-profile', profile.InstanceProfile.Tags, name);
  }
  for (const z of (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? []) {
    const [, zoneRegion, zoneDeployment, component] = (z.CallerReference ?? '').split(':');
    if (zoneRegion !== region || zoneDeployment !== deployment) continue;
    const id = (z.Id ?? '').replace('/hostedzone/', '');
    const tags = await route53.send(
      new ListTagsForResourceCommand({ ResourceType: 'hostedzone', ResourceId: id }),
    );
    const tagged = ours(tags.ResourceTagSet?.Tags);
    found.push({
      kind: 'hosted-zone',
      component: component ?? '',
      id,
      state: tagged ? 'tagged' : 'untagged',
    });
  }
  const root = `/waveshift/${deployment}/`;
  const parameters = await ssm.send(
    new DescribeParametersCommand({
      ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [root] }],
    }),
  );
  for (const p of parameters.Parameters ?? [])
    found.push({ kind: 'parameter', component: p.Name!.slice(root.length), id: p.Name! });
  const bucket = stagingBucketName(deployment, region, MOTO_ACCOUNT);
  if (
    await s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
      () => true,
      () => false,
    )
  )
    found.push({ kind: 'bucket', component: 'staging', id: bucket });
  const counts: Record<string, number> = {};
  for (const f of found) counts[`${f.kind}/${f.component}`] = (counts[`${f.kind}/${f.component}`] ?? 0) + 1;
  return { found, counts };
}

/** The census of a complete deployment: each of the 21 resources exactly once. */
export const FULL_DEPLOYMENT: Record<string, number> = {
  'vpc/vpc': 1,
  'subnet/public-subnet': 1,
  'subnet/private-subnet': 1,
  'internet-gateway/internet-gateway': 1,
  'elastic-ip/nat-eip': 1,
  'nat-gateway/nat-gateway': 1,
  'route-table/public-route-table': 1,
  'route-table/private-route-table': 1,
  'security-group/controller': 1,
  'security-group/kasm': 1,
  'iam-role/controller': 1,
  'iam-role/kasm': 1,
  'instance-profile/controller': 1,
  'instance-profile/kasm': 1,
  'hosted-zone/controller-zone': 1,
  'hosted-zone/kasm-zone': 1,
  'instance/controller': 1,
  'instance/kasm': 1,
  'parameter/api-key': 1,
  'parameter/kasm/admin-password': 1,
  'parameter/tls/ca-key': 1,
  'parameter/tls/controller-key': 1,
  'parameter/tls/controller-certificate': 1,
  'parameter/kasm/oidc-client-secret': 1,
  'bucket/staging': 1,
};
