import {
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetInstanceProfileCommand,
  type IAMClient,
  ListInstanceProfilesCommand,
  ListRolesCommand,
  ListRoleTagsCommand,
} from '@aws-sdk/client-iam';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { S3Client } from '@aws-sdk/client-s3';
import { DescribeParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ResourceKind } from '../aws/components';
import { findZones } from '../aws/dns';
import { tagRecord } from '../aws/ensured';
import { listInstances } from '../aws/instances';
import { parameterNames, TAG_COMPONENT, TAG_DEPLOYMENT, tagFilters } from '../aws/naming';
import { call } from '../aws/retry';
import { bucketExists } from '../aws/staging-bucket';

/** One resource of the deployment as found in AWS. */
export interface FoundResource {
  kind: ResourceKind;
  component: string;
  id: string;
  state?: string;
  /** Kind-specific facts destroy needs (VPC of a gateway, instance type, …). */
  facts?: Record<string, string>;
}

export interface CensusClients {
  ec2: EC2Client;
  iam: IAMClient;
  route53: Route53Client;
  ssm: SSMClient;
  s3: S3Client;
}

export interface CensusScope {
  deployment: string;
  region: string;
  bucket: string;
}

const componentTag = (tags: readonly { Key?: string; Value?: string }[] | undefined) =>
  tagRecord(tags)[TAG_COMPONENT] ?? '';

async function ec2Resources(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const Filters = tagFilters(deployment);
  const [vpcs, subnets, igws, addresses, nats, tables, groups, instances] = await Promise.all([
    call('EC2 DescribeVpcs', () => ec2.send(new DescribeVpcsCommand({ Filters }))),
    call('EC2 DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ Filters }))),
    call('EC2 DescribeInternetGateways', () => ec2.send(new DescribeInternetGatewaysCommand({ Filters }))),
    call('EC2 DescribeAddresses', () => ec2.send(new DescribeAddressesCommand({ Filters }))),
    call('EC2 DescribeNatGateways', () =>
      ec2.send(
        new DescribeNatGatewaysCommand({
          Filter: [...Filters, { Name: 'state', Values: ['pending', 'available', 'deleting'] }],
        }),
      ),
    ),
    call('EC2 DescribeRouteTables', () => ec2.send(new DescribeRouteTablesCommand({ Filters }))),
    call('EC2 DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters }))),
    listInstances(ec2, deployment),
  ]);
  return [
    ...(vpcs.Vpcs ?? []).map((v) => ({
      kind: 'vpc' as const,
      component: componentTag(v.Tags),
      id: v.VpcId ?? '',
      state: v.State,
    })),
    ...(subnets.Subnets ?? []).map((s) => ({
      kind: 'subnet' as const,
      component: componentTag(s.Tags),
      id: s.SubnetId ?? '',
      facts: { cidr: s.CidrBlock ?? '', vpcId: s.VpcId ?? '' },
    })),
    ...(igws.InternetGateways ?? []).map((g) => ({
      kind: 'internet-gateway' as const,
      component: componentTag(g.Tags),
      id: g.InternetGatewayId ?? '',
      state: g.Attachments?.length ? 'attached' : 'detached',
      facts: { vpcIds: (g.Attachments ?? []).map((a) => a.VpcId).join(',') },
    })),
    ...(addresses.Addresses ?? []).map((a) => ({
      kind: 'elastic-ip' as const,
      component: componentTag(a.Tags),
      id: a.AllocationId ?? '',
      state: a.AssociationId ? 'associated' : 'unassociated',
      facts: { publicIp: a.PublicIp ?? '', associationId: a.AssociationId ?? '' },
    })),
    ...(nats.NatGateways ?? []).map((n) => ({
      kind: 'nat-gateway' as const,
      component: componentTag(n.Tags),
      id: n.NatGatewayId ?? '',
      state: n.State,
    })),
    ...(tables.RouteTables ?? []).map((t) => ({
      kind: 'route-table' as const,
      component: componentTag(t.Tags),
      id: t.RouteTableId ?? '',
      facts: {
        associations: (t.Associations ?? [])
          .filter((a) => !a.Main && a.RouteTableAssociationId)
          .map((a) => a.RouteTableAssociationId)
          .join(','),
      },
    })),
    ...(groups.SecurityGroups ?? []).map((g) => ({
      kind: 'security-group' as const,
      component: componentTag(g.Tags),
      id: g.GroupId ?? '',
    })),
    ...instances.map((i) => ({
      kind: 'instance' as const,
      component: i.tags[TAG_COMPONENT] ?? '',
      id: i.instanceId,
      state: i.state,
      facts: { instanceType: i.instanceType, privateIp: i.privateIp ?? '' },
    })),
  ];
}

/**
 * IAM is account-global: candidates are the names of this region (`waveshift-<region>-…`), and only those
 * tagged with this deployment count, so a deployment "a" never claims the roles of "a-b".
 */
async function iamResources(iam: IAMClient, deployment: string, region: string): Promise<FoundResource[]> {
  const prefix = `waveshift-${region}-`;
  const found: FoundResource[] = [];
  let Marker: string | undefined;
  do {
    const page = await call('IAM ListRoles', () => iam.send(new ListRolesCommand({ Marker })));
    for (const role of page.Roles ?? []) {
      const name = role.RoleName ?? '';
      if (!name.startsWith(prefix)) continue;
      const tags = tagRecord(
        (await call('IAM ListRoleTags', () => iam.send(new ListRoleTagsCommand({ RoleName: name })))).Tags,
      );
      if (tags[TAG_DEPLOYMENT] === deployment)
        found.push({ kind: 'iam-role', component: tags[TAG_COMPONENT] ?? '', id: name });
    }
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  Marker = undefined;
  do {
    const page = await call('IAM ListInstanceProfiles', () =>
      iam.send(new ListInstanceProfilesCommand({ Marker })),
    );
    for (const profile of page.InstanceProfiles ?? []) {
      const name = profile.InstanceProfileName ?? '';
      if (!name.startsWith(prefix)) continue;
      // GetInstanceProfile carries the tags (and is what the emulator implements; ListInstanceProfileTags is not).
      const tags = tagRecord(
        (
          await call('IAM GetInstanceProfile', () =>
            iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name })),
          )
        ).InstanceProfile?.Tags,
      );
      if (tags[TAG_DEPLOYMENT] === deployment) {
        found.push({
          kind: 'instance-profile',
          component: tags[TAG_COMPONENT] ?? '',
          id: name,
          facts: { roles: (profile.Roles ?? []).map((r) => r.RoleName).join(',') },
        });
      }
    }
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);
  return found;
}

/** Every parameter under /waveshift/<name>/ (names only: values, secrets among them, are never read). */
async function parameters(ssm: SSMClient, deployment: string): Promise<FoundResource[]> {
  const root = `${parameterNames(deployment).root}/`;
  const found: FoundResource[] = [];
  let NextToken: string | undefined;
  do {
    const page = await call('SSM DescribeParameters', () =>
      ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [root] }],
          NextToken,
        }),
      ),
    );
    for (const p of page.Parameters ?? []) {
      const name = p.Name ?? '';
      found.push({ kind: 'parameter', component: name.slice(root.length), id: name });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return found;
}

/** Everything the deployment owns, found by tag (EC2, IAM), caller reference (zones), path and name. */
export async function takeCensus(clients: CensusClients, scope: CensusScope): Promise<FoundResource[]> {
  const [ec2, iam, zones, params, bucket] = await Promise.all([
    ec2Resources(clients.ec2, scope.deployment),
    iamResources(clients.iam, scope.deployment, scope.region),
    findZones(clients.route53, scope.deployment, scope.region),
    parameters(clients.ssm, scope.deployment),
    bucketExists(clients.s3, scope.bucket),
  ]);
  return [
    ...ec2,
    ...iam,
    ...zones.map((z) => ({
      kind: 'hosted-zone' as const,
      component: z.component,
      id: z.id,
      state: z.tagged ? 'tagged' : 'untagged',
      facts: { name: z.name },
    })),
    ...params,
    ...(bucket ? [{ kind: 'bucket' as const, component: 'staging', id: scope.bucket }] : []),
  ];
}
