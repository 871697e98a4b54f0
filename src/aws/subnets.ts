import { CreateSubnetCommand, DescribeSubnetsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { PRIVATE_SUBNET_CIDR, PUBLIC_SUBNET_CIDR } from '../network/address-plan';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { resourceTags, tagFilters } from './naming';
import { call } from './retry';

export const SUBNETS = {
  public: { component: COMPONENT.publicSubnet, cidr: PUBLIC_SUBNET_CIDR },
  private: { component: COMPONENT.privateSubnet, cidr: PRIVATE_SUBNET_CIDR },
} as const;

export async function findSubnet(
  ec2: EC2Client,
  deployment: string,
  which: keyof typeof SUBNETS,
): Promise<{ id: string; availabilityZone: string } | undefined> {
  const out = await call('EC2 DescribeSubnets', () =>
    ec2.send(new DescribeSubnetsCommand({ Filters: tagFilters(deployment, SUBNETS[which].component) })),
  );
  const subnet = out.Subnets?.[0];
  return subnet?.SubnetId
    ? { id: subnet.SubnetId, availabilityZone: subnet.AvailabilityZone ?? '' }
    : undefined;
}

/**
 * A subnet of the VPC. The private subnet is placed in the public subnet's zone: the NAT gateway is zonal,
 * and traffic crossing zones costs money and fails with the zone.
 */
export async function ensureSubnet(
  ec2: EC2Client,
  deployment: string,
  which: keyof typeof SUBNETS,
  vpcId: string,
  availabilityZone?: string,
): Promise<Ensured & { availabilityZone: string }> {
  const found = await findSubnet(ec2, deployment, which);
  if (found) return { status: 'unchanged', id: found.id, availabilityZone: found.availabilityZone };
  const { component, cidr } = SUBNETS[which];
  const out = await call(`EC2 CreateSubnet ${component}`, () =>
    ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: cidr,
        ...(availabilityZone ? { AvailabilityZone: availabilityZone } : {}),
        TagSpecifications: [{ ResourceType: 'subnet', Tags: resourceTags(deployment, component) }],
      }),
    ),
  );
  return {
    status: 'created',
    id: out.Subnet?.SubnetId ?? '',
    availabilityZone: out.Subnet?.AvailabilityZone ?? '',
    detail: cidr,
  };
}
