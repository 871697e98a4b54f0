import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  type EC2Client,
  type IpPermission,
  paginateDescribeSecurityGroups,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { SITES_CIDR, VPC_CIDR, WIREGUARD_PORT } from '../network/address-plan';
import { CONTROLLER_PORT } from '../network/service-names';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, tagFilters } from './naming';
import { retryNotFound } from './not-found';
import type { InUseRetry } from './removal';
import { call, collect } from './retry';

/** One ingress rule: `protocol` ('tcp', 'udp' or 'all') on `port` from `cidr`. */
export interface IngressRule {
  protocol: 'tcp' | 'udp' | 'all';
  port?: number;
  cidr: string;
  description: string;
}

export const ACCESS_SERVER_SECURITY_GROUP = 'access-server';
export type SecurityGroupName =
  | typeof COMPONENT.controllerSecurityGroup
  | typeof COMPONENT.kasmSecurityGroup
  | typeof ACCESS_SERVER_SECURITY_GROUP;

/**
 * Desired ingress. Controller: its API (8080, and 443 for a TLS front) from the VPC and the sites, SSH from
 * the VPC. Kasm: HTTPS from the VPC and the sites. Access servers: WireGuard from anywhere, everything from
 * the VPC (its traffic to the sites). Everything else is refused; egress stays open (SSM, updates).
 */
export function desiredIngress(group: SecurityGroupName): IngressRule[] {
  const fromVpcAndSites = (port: number, what: string): IngressRule[] => [
    { protocol: 'tcp', port, cidr: VPC_CIDR, description: `${what} from the VPC` },
    { protocol: 'tcp', port, cidr: SITES_CIDR, description: `${what} from the sites` },
  ];
  if (group === ACCESS_SERVER_SECURITY_GROUP) {
    return [
      { protocol: 'udp', port: WIREGUARD_PORT, cidr: '0.0.0.0/0', description: 'WireGuard from the sites' },
      { protocol: 'all', cidr: VPC_CIDR, description: 'VPC traffic to the sites' },
    ];
  }
  return group === COMPONENT.controllerSecurityGroup
    ? [
        ...fromVpcAndSites(443, 'HTTPS'),
        ...fromVpcAndSites(CONTROLLER_PORT, 'controller API'),
        { protocol: 'tcp', port: 22, cidr: VPC_CIDR, description: 'SSH from the VPC' },
      ]
    : fromVpcAndSites(443, 'HTTPS');
}

/** Pure: a rule in words, the form plans and drift reports compare: "tcp/8080 from 10.0.0.0/16". */
export const ruleText = (r: Pick<IngressRule, 'protocol' | 'port' | 'cidr'>): string =>
  `${r.protocol}${r.port === undefined ? '' : `/${r.port}`} from ${r.cidr}`;

/** Pure: the group's permissions as rules in words; what wavectl never writes reads as itself, so it is extra. */
export function currentIngress(permissions: readonly IpPermission[]): string[] {
  const rules: string[] = [];
  for (const p of permissions) {
    const protocol = p.IpProtocol === '-1' ? 'all' : (p.IpProtocol ?? '?');
    const ports =
      p.IpProtocol === '-1' ? '' : p.FromPort === p.ToPort ? `/${p.FromPort}` : `/${p.FromPort}-${p.ToPort}`;
    for (const range of p.IpRanges ?? []) rules.push(`${protocol}${ports} from ${range.CidrIp}`);
    for (const range of p.Ipv6Ranges ?? []) rules.push(`${protocol}${ports} from ${range.CidrIpv6}`);
    for (const pair of p.UserIdGroupPairs ?? []) rules.push(`${protocol}${ports} from ${pair.GroupId}`);
    for (const list of p.PrefixListIds ?? []) rules.push(`${protocol}${ports} from ${list.PrefixListId}`);
  }
  return rules;
}

export const desiredSecurityGroup = (group: SecurityGroupName, vpcId: string): Fields => ({
  vpc: vpcId,
  ingress: desiredIngress(group).map(ruleText),
});

/** Pure: a rule in words back to an IpPermission (only forms `currentIngress` writes). */
export function toPermission(rule: string, description?: string): IpPermission {
  const m = /^(\w+|-1)(?:\/(\d+)(?:-(\d+))?)? from (\S+)$/.exec(rule);
  if (!m) throw new Error(`not an ingress rule: ${rule}`);
  const [, protocol, from, to, source] = m;
  const ports =
    protocol === 'all' || from === undefined ? {} : { FromPort: Number(from), ToPort: Number(to ?? from) };
  const base = { IpProtocol: protocol === 'all' ? '-1' : protocol, ...ports };
  if (source!.startsWith('sg-')) return { ...base, UserIdGroupPairs: [{ GroupId: source }] };
  if (source!.startsWith('pl-')) return { ...base, PrefixListIds: [{ PrefixListId: source }] };
  if (source!.includes(':')) return { ...base, Ipv6Ranges: [{ CidrIpv6: source }] };
  return { ...base, IpRanges: [{ CidrIp: source, ...(description ? { Description: description } : {}) }] };
}

export async function readSecurityGroups(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const pages = await collect(
    'EC2 DescribeSecurityGroups',
    paginateDescribeSecurityGroups({ client: ec2 }, { Filters: tagFilters(deployment) }),
  );
  return pages
    .flatMap((p) => p.SecurityGroups ?? [])
    .filter((g) => ownedBy(g.Tags, deployment))
    .map((g) => ({
      kind: 'security-group' as const,
      component: componentOfTags(g.Tags),
      id: g.GroupId ?? '',
      fields: { vpc: g.VpcId ?? '', ingress: currentIngress(g.IpPermissions ?? []) },
    }));
}

/** Creates the group and its rules, or adds the missing rules and revokes the unwanted ones. */
export async function applySecurityGroup(
  ec2: EC2Client,
  deployment: string,
  group: SecurityGroupName,
  change: Change,
  current: FoundResource | undefined,
  vpcId: string,
): Promise<string> {
  let groupId = change.id ?? '';
  if (change.action === 'create') {
    const out = await call(`EC2 CreateSecurityGroup ${group}`, () =>
      ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `${deployment}-${group}`,
          Description: `Waveshift ${deployment} ${group}`,
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: resourceTags(deployment, group) }],
        }),
      ),
    );
    groupId = out.GroupId ?? '';
  }
  if (change.action !== 'create' && change.after?.ingress === undefined) return groupId;
  const wanted = desiredIngress(group);
  const have = new Set(current?.fields.ingress ?? []);
  const add = wanted.filter((r) => !have.has(ruleText(r)));
  const wantedText = new Set(wanted.map(ruleText));
  const remove = [...have].filter((r) => !wantedText.has(r));
  if (add.length > 0) {
    await retryNotFound('EC2 AuthorizeSecurityGroupIngress', () =>
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: add.map((r) => toPermission(ruleText(r), r.description)),
        }),
      ),
    );
  }
  if (remove.length > 0) {
    await call('EC2 RevokeSecurityGroupIngress', () =>
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: remove.map((r) => toPermission(r)),
        }),
      ),
    );
  }
  return groupId;
}

export async function removeSecurityGroup(ec2: EC2Client, group: FoundResource, whileInUse: InUseRetry) {
  await whileInUse('EC2 DeleteSecurityGroup', () =>
    ec2.send(new DeleteSecurityGroupCommand({ GroupId: group.id })),
  );
}
