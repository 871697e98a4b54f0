import {
  AllocateAddressCommand,
  CreateNatGatewayCommand,
  DeleteNatGatewayCommand,
  DescribeAddressesCommand,
  DescribeNatGatewaysCommand,
  DisassociateAddressCommand,
  type EC2Client,
  paginateDescribeNatGateways,
  ReleaseAddressCommand,
  waitUntilNatGatewayAvailable,
  waitUntilNatGatewayDeleted,
} from '@aws-sdk/client-ec2';
import { AwsError } from '../errors';
import { toAwsError } from './aws-error';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, tagFilters } from './naming';
import { type InUseRetry, ignoreMissing } from './removal';
import { call, collect, type WaitOptions, waiterConfig } from './retry';

/** Every Elastic IP of the deployment (the NAT gateway's and the access servers'). */
export async function readAddresses(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  // DescribeAddresses has no paginator: it answers every address in one page.
  const out = await call('EC2 DescribeAddresses', () =>
    ec2.send(new DescribeAddressesCommand({ Filters: tagFilters(deployment) })),
  );
  return (out.Addresses ?? [])
    .filter((a) => ownedBy(a.Tags, deployment))
    .map((a) => ({
      kind: 'elastic-ip' as const,
      component: componentOfTags(a.Tags),
      id: a.AllocationId ?? '',
      state: a.AssociationId ? 'associated' : 'unassociated',
      fields: { associatedWith: a.InstanceId ?? '' },
      facts: {
        publicIp: a.PublicIp ?? '',
        associationId: a.AssociationId ?? '',
        networkInterfaceId: a.NetworkInterfaceId ?? '',
      },
    }));
}

export async function allocateAddress(ec2: EC2Client, deployment: string, component: string) {
  const out = await call(`EC2 AllocateAddress ${component}`, () =>
    ec2.send(
      new AllocateAddressCommand({
        Domain: 'vpc',
        TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: resourceTags(deployment, component) }],
      }),
    ),
  );
  return { allocationId: out.AllocationId ?? '', publicIp: out.PublicIp ?? '' };
}

export async function removeAddress(ec2: EC2Client, address: FoundResource, whileInUse: InUseRetry) {
  if (address.facts?.associationId) {
    await ignoreMissing('EC2 DisassociateAddress', () =>
      ec2.send(new DisassociateAddressCommand({ AssociationId: address.facts!.associationId })),
    );
  }
  await whileInUse('EC2 ReleaseAddress', () =>
    ec2.send(new ReleaseAddressCommand({ AllocationId: address.id })),
  );
}

/** Gateways being deleted are kept in the read (destroy and a re-create wait for them), never adopted. */
const READ_NAT_STATES = ['pending', 'available', 'deleting'];
export const LIVE_NAT_STATES = ['pending', 'available'];

export const desiredNatGateway = (subnetId: string, allocationId: string): Fields => ({
  subnet: subnetId,
  address: allocationId,
  state: 'available',
});

export async function readNatGateways(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const pages = await collect(
    'EC2 DescribeNatGateways',
    paginateDescribeNatGateways(
      { client: ec2 },
      { Filter: [...tagFilters(deployment), { Name: 'state', Values: READ_NAT_STATES }] },
    ),
  );
  return pages
    .flatMap((p) => p.NatGateways ?? [])
    .filter((n) => ownedBy(n.Tags, deployment) && READ_NAT_STATES.includes(n.State ?? ''))
    .map((n) => ({
      kind: 'nat-gateway' as const,
      component: componentOfTags(n.Tags),
      id: n.NatGatewayId ?? '',
      state: n.State,
      fields: {
        subnet: n.SubnetId ?? '',
        address: n.NatGatewayAddresses?.[0]?.AllocationId ?? '',
        state: n.State ?? '',
      },
    }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A NAT gateway deleted behind wavectl's back holds its address until it reaches `deleted`: wait for that
 * (bounded, with progress), then make sure the address is free (AWS frees it by itself; the emulator keeps it
 * associated with the dead gateway's interface, and a disassociation of a deleted gateway's address is safe).
 */
async function freeAddress(
  ec2: EC2Client,
  deployment: string,
  allocationId: string,
  wait: WaitOptions & { progress?: (message: string) => void; timeoutMs?: number },
): Promise<void> {
  const deadline = Date.now() + (wait.timeoutMs ?? 15 * 60_000);
  for (;;) {
    const [nats, addresses] = await Promise.all([
      call('EC2 DescribeNatGateways', () =>
        ec2.send(new DescribeNatGatewaysCommand({ Filter: tagFilters(deployment) })),
      ),
      call('EC2 DescribeAddresses', () =>
        ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] })),
      ),
    ]);
    const holders = (nats.NatGateways ?? []).filter(
      (n) =>
        ownedBy(n.Tags, deployment) && n.NatGatewayAddresses?.some((a) => a.AllocationId === allocationId),
    );
    const address = addresses.Addresses?.[0];
    if (!address?.AssociationId) return;
    const live = holders.filter((n) => n.State !== 'deleted' && n.State !== 'failed');
    if (live.length === 0) {
      await ignoreMissing('EC2 DisassociateAddress', () =>
        ec2.send(new DisassociateAddressCommand({ AssociationId: address.AssociationId })),
      );
      return;
    }
    const holding = live.map((n) => `${n.NatGatewayId} (${n.State})`).join(', ');
    if (Date.now() > deadline) {
      throw new AwsError(
        `the NAT gateway's address ${allocationId} is still held by ${holding}; run \`wavectl deploy\` again once it is deleted`,
        {},
      );
    }
    wait.progress?.(`waiting for ${holding} to release ${allocationId}`);
    await sleep(wait.emulator ? 250 : 10_000);
  }
}

/** Creates the NAT gateway in the public subnet, or waits for a pending one; waits until available. */
export async function applyNatGateway(
  ec2: EC2Client,
  deployment: string,
  change: Change,
  target: { subnetId: string; allocationId: string; addressAssociated: boolean },
  wait: WaitOptions & { progress?: (message: string) => void },
): Promise<string> {
  let id = change.id ?? '';
  if (change.action === 'create') {
    if (target.addressAssociated) await freeAddress(ec2, deployment, target.allocationId, wait);
    const out = await call('EC2 CreateNatGateway', () =>
      ec2.send(
        new CreateNatGatewayCommand({
          SubnetId: target.subnetId,
          AllocationId: target.allocationId,
          TagSpecifications: [
            { ResourceType: 'natgateway', Tags: resourceTags(deployment, COMPONENT.natGateway) },
          ],
        }),
      ),
    );
    id = out.NatGateway?.NatGatewayId ?? '';
  } else if (change.action === 'update' && (change.after?.subnet || change.after?.address)) {
    throw new AwsError(
      `NAT gateway ${id} is not in the deployment's public subnet or does not hold its address (${change.differences?.join('; ')}); delete it and run \`wavectl deploy\` again`,
      {},
    );
  }
  if (change.action !== 'keep') {
    try {
      await waitUntilNatGatewayAvailable(waiterConfig(ec2, wait, 900), { NatGatewayIds: [id] });
    } catch (error) {
      throw toAwsError(`waiting for NAT gateway ${id} to be available`, error);
    }
  }
  return id;
}

export async function removeNatGateway(ec2: EC2Client, nat: FoundResource, wait: WaitOptions) {
  if (nat.state !== 'deleting') {
    await ignoreMissing('EC2 DeleteNatGateway', () =>
      ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: nat.id })),
    );
  }
  try {
    await waitUntilNatGatewayDeleted(waiterConfig(ec2, wait, 900), { NatGatewayIds: [nat.id] });
  } catch (error) {
    throw toAwsError(`waiting for NAT gateway ${nat.id} to be deleted`, error);
  }
}
