import {
  AllocateAddressCommand,
  CreateNatGatewayCommand,
  DescribeAddressesCommand,
  DescribeNatGatewaysCommand,
  type EC2Client,
  waitUntilNatGatewayAvailable,
} from '@aws-sdk/client-ec2';
import { toAwsError } from './aws-error';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { resourceTags, tagFilters } from './naming';
import { call, type WaitOptions, waiterConfig } from './retry';

export async function findElasticIp(
  ec2: EC2Client,
  deployment: string,
  component: string,
): Promise<{ allocationId: string; publicIp: string; associationId?: string } | undefined> {
  const out = await call('EC2 DescribeAddresses', () =>
    ec2.send(new DescribeAddressesCommand({ Filters: tagFilters(deployment, component) })),
  );
  const a = out.Addresses?.[0];
  return a?.AllocationId
    ? { allocationId: a.AllocationId, publicIp: a.PublicIp ?? '', associationId: a.AssociationId }
    : undefined;
}

export async function ensureNatElasticIp(ec2: EC2Client, deployment: string): Promise<Ensured> {
  const found = await findElasticIp(ec2, deployment, COMPONENT.natEip);
  if (found) return { status: 'unchanged', id: found.allocationId };
  const out = await call('EC2 AllocateAddress', () =>
    ec2.send(
      new AllocateAddressCommand({
        Domain: 'vpc',
        TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: resourceTags(deployment, COMPONENT.natEip) }],
      }),
    ),
  );
  return { status: 'created', id: out.AllocationId ?? '', detail: out.PublicIp };
}

/** NAT gateways that exist or are coming up; deleted and failed ones are history, not resources. */
const LIVE_NAT_STATES = ['pending', 'available'];

export async function findNatGateway(
  ec2: EC2Client,
  deployment: string,
): Promise<{ id: string; state: string } | undefined> {
  const out = await call('EC2 DescribeNatGateways', () =>
    ec2.send(
      new DescribeNatGatewaysCommand({
        Filter: [...tagFilters(deployment, COMPONENT.natGateway), { Name: 'state', Values: LIVE_NAT_STATES }],
      }),
    ),
  );
  const nat = out.NatGateways?.[0];
  return nat?.NatGatewayId ? { id: nat.NatGatewayId, state: nat.State ?? 'unknown' } : undefined;
}

/** The NAT gateway in the public subnet, waited until available (the private route needs it). */
export async function ensureNatGateway(
  ec2: EC2Client,
  deployment: string,
  publicSubnetId: string,
  allocationId: string,
  wait: WaitOptions,
): Promise<Ensured> {
  let found = await findNatGateway(ec2, deployment);
  let created = false;
  if (!found) {
    const out = await call('EC2 CreateNatGateway', () =>
      ec2.send(
        new CreateNatGatewayCommand({
          SubnetId: publicSubnetId,
          AllocationId: allocationId,
          TagSpecifications: [
            { ResourceType: 'natgateway', Tags: resourceTags(deployment, COMPONENT.natGateway) },
          ],
        }),
      ),
    );
    found = { id: out.NatGateway?.NatGatewayId ?? '', state: out.NatGateway?.State ?? 'pending' };
    created = true;
  }
  if (found.state !== 'available') {
    try {
      await waitUntilNatGatewayAvailable(waiterConfig(ec2, wait, 900), { NatGatewayIds: [found.id] });
    } catch (error) {
      throw toAwsError(`waiting for NAT gateway ${found.id} to be available`, error);
    }
  }
  return created ? { status: 'created', id: found.id } : { status: 'unchanged', id: found.id };
}
