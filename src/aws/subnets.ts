import {
  CreateSubnetCommand,
  DeleteSubnetCommand,
  DescribeInstanceTypeOfferingsCommand,
  type EC2Client,
  paginateDescribeSubnets,
} from '@aws-sdk/client-ec2';
import { AwsError } from '../errors';
import { PRIVATE_SUBNET_CIDR, PUBLIC_SUBNET_CIDR } from '../network/address-plan';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, tagFilters } from './naming';
import type { InUseRetry } from './removal';
import { call, collect } from './retry';

export const SUBNETS = {
  public: { component: COMPONENT.publicSubnet, cidr: PUBLIC_SUBNET_CIDR },
  private: { component: COMPONENT.privateSubnet, cidr: PRIVATE_SUBNET_CIDR },
} as const;

export const desiredSubnet = (which: keyof typeof SUBNETS, vpcId: string): Fields => ({
  cidr: SUBNETS[which].cidr,
  vpc: vpcId,
});

export async function readSubnets(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const pages = await collect(
    'EC2 DescribeSubnets',
    paginateDescribeSubnets({ client: ec2 }, { Filters: tagFilters(deployment) }),
  );
  return pages
    .flatMap((p) => p.Subnets ?? [])
    .filter((s) => ownedBy(s.Tags, deployment))
    .map((s) => ({
      kind: 'subnet' as const,
      component: componentOfTags(s.Tags),
      id: s.SubnetId ?? '',
      fields: { cidr: s.CidrBlock ?? '', vpc: s.VpcId ?? '' },
      facts: { availabilityZone: s.AvailabilityZone ?? '' },
    }));
}

/** Pure: the first zone (by name) that offers every type, so the choice is stable across runs. */
export function zoneOffering(offerings: readonly { type: string; zone: string }[], types: readonly string[]) {
  const zones = [...new Set(offerings.map((o) => o.zone))].sort();
  return zones.find((zone) => types.every((t) => offerings.some((o) => o.zone === zone && o.type === t)));
}

/**
 * The Availability Zone of both subnets: one that offers the controller, Kasm and access-server types
 * (AWS otherwise picks one that may not, and RunInstances fails there). Chosen once; a subnet that exists
 * keeps its zone.
 */
export async function chooseAvailabilityZone(ec2: EC2Client, types: readonly string[]): Promise<string> {
  const wanted = [...new Set(types)];
  const out = await call('EC2 DescribeInstanceTypeOfferings', () =>
    ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone',
        Filters: [{ Name: 'instance-type', Values: wanted }],
      }),
    ),
  );
  const offerings = (out.InstanceTypeOfferings ?? []).map((o) => ({
    type: o.InstanceType ?? '',
    zone: o.Location ?? '',
  }));
  const zone = zoneOffering(offerings, wanted);
  if (!zone) {
    throw new AwsError(
      `no Availability Zone of this region offers all of ${wanted.join(', ')}; choose other instance types (wavectl deploy --controller-instance-type / --kasm-instance-type)`,
      {},
    );
  }
  return zone;
}

/** Creates the subnet in `availabilityZone`; a subnet's CIDR and VPC cannot change in place. */
export async function applySubnet(
  ec2: EC2Client,
  deployment: string,
  which: keyof typeof SUBNETS,
  change: Change,
  vpcId: string,
  availabilityZone: string,
): Promise<string> {
  if (change.action !== 'create') {
    if (change.action === 'update')
      throw new AwsError(
        `subnet ${change.id} differs in a way that cannot change in place (${change.differences?.join('; ')}); remove it or run \`wavectl destroy\``,
        {},
      );
    return change.id ?? '';
  }
  const { component, cidr } = SUBNETS[which];
  const out = await call(`EC2 CreateSubnet ${component}`, () =>
    ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: cidr,
        AvailabilityZone: availabilityZone,
        TagSpecifications: [{ ResourceType: 'subnet', Tags: resourceTags(deployment, component) }],
      }),
    ),
  );
  return out.Subnet?.SubnetId ?? '';
}

export async function removeSubnet(ec2: EC2Client, subnet: FoundResource, whileInUse: InUseRetry) {
  await whileInUse('EC2 DeleteSubnet', () => ec2.send(new DeleteSubnetCommand({ SubnetId: subnet.id })));
}
