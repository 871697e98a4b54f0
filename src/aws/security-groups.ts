import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { SITES_CIDR, VPC_CIDR } from '../network/address-plan';
import { CONTROLLER_PORT } from '../network/service-names';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { resourceTags, tagFilters } from './naming';
import { call } from './retry';

/** One ingress rule: TCP `port` from `cidr`. */
export interface IngressRule {
  port: number;
  cidr: string;
  description: string;
}

export type SecurityGroupName = typeof COMPONENT.controllerSecurityGroup | typeof COMPONENT.kasmSecurityGroup;

/**
 * Desired ingress. Controller: its API (8080, and 443 for a TLS front) from the VPC and the sites, SSH from
 * the VPC. Kasm: HTTPS from the VPC and the sites. Everything else is refused; egress stays open (SSM, updates
 * through the NAT gateway).
 */
export function desiredIngress(group: SecurityGroupName): IngressRule[] {
  const fromVpcAndSites = (port: number, what: string): IngressRule[] => [
    { port, cidr: VPC_CIDR, description: `${what} from the VPC` },
    { port, cidr: SITES_CIDR, description: `${what} from the sites` },
  ];
  return group === COMPONENT.controllerSecurityGroup
    ? [
        ...fromVpcAndSites(443, 'HTTPS'),
        ...fromVpcAndSites(CONTROLLER_PORT, 'controller API'),
        { port: 22, cidr: VPC_CIDR, description: 'SSH from the VPC' },
      ]
    : fromVpcAndSites(443, 'HTTPS');
}

const key = (r: { port: number; cidr: string }) => `${r.port}/${r.cidr}`;

/** Pure: the current permissions flattened to single-port TCP rules (anything else is reported as extra). */
export function currentIngress(permissions: readonly IpPermission[]): {
  rules: IngressRule[];
  other: number;
} {
  const rules: IngressRule[] = [];
  let other = 0;
  for (const p of permissions) {
    const single = p.IpProtocol === 'tcp' && p.FromPort !== undefined && p.FromPort === p.ToPort;
    for (const range of p.IpRanges ?? []) {
      if (single && range.CidrIp)
        rules.push({ port: p.FromPort!, cidr: range.CidrIp, description: range.Description ?? '' });
      else other++;
    }
    other += (p.UserIdGroupPairs?.length ?? 0) + (p.Ipv6Ranges?.length ?? 0) + (p.PrefixListIds?.length ?? 0);
  }
  return { rules, other };
}

/** Pure: rules to add and to remove so that `current` becomes `desired`. */
export function diffIngress(
  current: readonly IngressRule[],
  desired: readonly IngressRule[],
): { add: IngressRule[]; remove: IngressRule[] } {
  const want = new Set(desired.map(key));
  const have = new Set(current.map(key));
  return {
    add: desired.filter((r) => !have.has(key(r))),
    remove: current.filter((r) => !want.has(key(r))),
  };
}

const toPermissions = (rules: readonly IngressRule[]): IpPermission[] =>
  rules.map((r) => ({
    IpProtocol: 'tcp',
    FromPort: r.port,
    ToPort: r.port,
    IpRanges: [{ CidrIp: r.cidr, Description: r.description }],
  }));

export async function findSecurityGroup(
  ec2: EC2Client,
  deployment: string,
  group: string,
): Promise<{ id: string; permissions: IpPermission[] } | undefined> {
  const out = await call('EC2 DescribeSecurityGroups', () =>
    ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagFilters(deployment, group) })),
  );
  const sg = out.SecurityGroups?.[0];
  return sg?.GroupId ? { id: sg.GroupId, permissions: sg.IpPermissions ?? [] } : undefined;
}

export async function ensureSecurityGroup(
  ec2: EC2Client,
  deployment: string,
  group: SecurityGroupName,
  vpcId: string,
): Promise<Ensured> {
  let found = await findSecurityGroup(ec2, deployment, group);
  const created = !found;
  if (!found) {
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
    found = { id: out.GroupId ?? '', permissions: [] };
  }
  const groupId = found.id;
  const { add, remove } = diffIngress(currentIngress(found.permissions).rules, desiredIngress(group));
  if (add.length > 0) {
    await call('EC2 AuthorizeSecurityGroupIngress', () =>
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions(add) }),
      ),
    );
  }
  if (remove.length > 0) {
    await call('EC2 RevokeSecurityGroupIngress', () =>
      ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: toPermissions(remove) }),
      ),
    );
  }
  if (created) return { status: 'created', id: groupId, detail: `${add.length} rules` };
  return add.length + remove.length > 0
    ? { status: 'changed', id: groupId, detail: `+${add.length} -${remove.length} rules` }
    : { status: 'unchanged', id: groupId };
}
