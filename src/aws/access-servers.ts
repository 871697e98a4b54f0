import {
  AssociateAddressCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { AwsError } from '../errors';
import type { Change, Fields } from './change';
import { accessServerComponent, accessServerEipComponent } from './components';
import type { FoundResource } from './found';
import {
  applyInstance,
  type FoundInstance,
  type LaunchSpec,
  listInstances,
  runInstancesInput,
} from './instances';
import { allocateAddress, readAddresses, removeAddress } from './nat-gateway';
import { retryNotFound } from './not-found';
import { ignoreMissing, retryWhileInUse } from './removal';
import { retryWhile, type WaitOptions } from './retry';

export { ACCESS_SERVER_COMPONENT, accessServerComponent, accessServerEipComponent } from './components';

/** Pure: an access server runs, and forwards for the sites (source/destination check off). */
export const desiredAccessServer = (): Fields => ({ state: 'running', sourceDestCheck: 'off' });
/** Pure: its Elastic IP is associated with it (the sites' routers dial that address). */
export const desiredAccessServerAddress = (instanceId: string): Fields => ({ associatedWith: instanceId });

/** An instance launch (see LaunchSpec) with the access server's fixed 8 GB root and its user data. */
export type LaunchAccessServer = Omit<LaunchSpec, 'volumeGb' | 'extraTags'> & { userData: string };

/** Launches an access server with its user data; a new instance profile may need seconds to be usable. */
export async function launchAccessServer(
  ec2: EC2Client,
  spec: LaunchAccessServer,
  wait: WaitOptions,
): Promise<FoundInstance> {
  const input = {
    ...runInstancesInput({ ...spec, volumeGb: 8 }),
    UserData: Buffer.from(spec.userData).toString('base64'),
  };
  const out = await retryWhile(
    `EC2 RunInstances ${spec.component}`,
    () => ec2.send(new RunInstancesCommand(input)),
    (error) =>
      (error as { name?: string }).name === 'InvalidParameterValue' &&
      /instance profile/i.test((error as Error).message ?? ''),
    { attempts: 20, delayMs: wait.emulator ? 200 : 3000 },
  );
  const instanceId = out.Instances?.[0]?.InstanceId;
  if (!instanceId) throw new AwsError(`EC2 RunInstances ${spec.component} returned no instance`, {});
  return {
    instanceId,
    privateIp: undefined,
    state: 'pending',
    instanceType: spec.instanceType,
    sourceDestCheck: 'on',
    tags: {},
  };
}

/**
 * One access server brought to its plan: launched (create) or started, source/dest check turned off, and its
 * Elastic IP allocated and associated. `launch` is only called for a create.
 */
export async function applyAccessServer(
  ec2: EC2Client,
  deployment: string,
  index: number,
  changes: { instance: Change; address: Change },
  current: { instance?: FoundResource; address?: FoundResource },
  launch: () => Promise<FoundInstance>,
  wait: WaitOptions,
): Promise<{ instanceId: string; publicIp: string }> {
  const { instance: change, address } = changes;
  const running = await applyInstance(ec2, change, current.instance, launch, wait);
  const instanceId = running.instanceId;
  if (
    change.action === 'create' ||
    change.after?.sourceDestCheck !== undefined ||
    running.sourceDestCheck !== 'off'
  ) {
    await retryNotFound(`EC2 ModifyInstanceAttribute ${instanceId} source/dest check off`, () =>
      ec2.send(
        new ModifyInstanceAttributeCommand({ InstanceId: instanceId, SourceDestCheck: { Value: false } }),
      ),
    );
  }
  let allocationId = current.address?.id ?? '';
  let publicIp = current.address?.facts?.publicIp ?? '';
  if (address.action === 'create') {
    ({ allocationId, publicIp } = await allocateAddress(ec2, deployment, accessServerEipComponent(index)));
  }
  if (address.action === 'create' || current.address?.fields.associatedWith !== instanceId) {
    await retryNotFound(`EC2 AssociateAddress ${accessServerEipComponent(index)}`, () =>
      ec2.send(new AssociateAddressCommand({ AllocationId: allocationId, InstanceId: instanceId })),
    );
  }
  return { instanceId, publicIp };
}

/** Terminates access server `index` and releases its Elastic IP; what is already gone is fine. */
export async function removeAccessServer(ec2: EC2Client, deployment: string, index: number): Promise<void> {
  const component = accessServerComponent(index);
  const [instances, addresses] = await Promise.all([
    listInstances(ec2, deployment, component),
    readAddresses(ec2, deployment),
  ]);
  for (const i of instances) {
    await ignoreMissing(`EC2 TerminateInstances ${i.instanceId}`, () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: [i.instanceId] })),
    );
  }
  const whileInUse = retryWhileInUse(false);
  for (const a of addresses.filter((x) => x.component === accessServerEipComponent(index)))
    await removeAddress(ec2, a, whileInUse);
}
