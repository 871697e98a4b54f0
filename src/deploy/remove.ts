import { removeParameter } from '../aws/api-key';
import type { ResourceKind } from '../aws/components';
import { removeZone } from '../aws/dns';
import type { FoundResource } from '../aws/found';
import { removeInstanceProfile, removeRole } from '../aws/iam';
import { removeInstance } from '../aws/instances';
import { removeInternetGateway } from '../aws/internet-gateway';
import { removeAddress, removeNatGateway } from '../aws/nat-gateway';
import { type InUseRetry, retryWhileInUse } from '../aws/removal';
import type { WaitOptions } from '../aws/retry';
import { removeRouteTable } from '../aws/route-tables';
import { removeSecurityGroup } from '../aws/security-groups';
import { removeBucket } from '../aws/staging-bucket';
import { removeSubnet } from '../aws/subnets';
import { removeVpc } from '../aws/vpc';
import type { CensusClients } from './census';

interface RemoveEnv {
  clients: CensusClients;
  wait: WaitOptions;
  whileInUse: InUseRetry;
}

/** Each family's `remove`, by the kind of resource it reads. */
const REMOVERS: Record<ResourceKind, (r: FoundResource, env: RemoveEnv) => Promise<void>> = {
  instance: (r, { clients, wait }) => removeInstance(clients.ec2, r, wait),
  'nat-gateway': (r, { clients, wait }) => removeNatGateway(clients.ec2, r, wait),
  'elastic-ip': (r, { clients, whileInUse }) => removeAddress(clients.ec2, r, whileInUse),
  'internet-gateway': (r, { clients, whileInUse }) => removeInternetGateway(clients.ec2, r, whileInUse),
  'route-table': (r, { clients, whileInUse }) => removeRouteTable(clients.ec2, r, whileInUse),
  subnet: (r, { clients, whileInUse }) => removeSubnet(clients.ec2, r, whileInUse),
  'security-group': (r, { clients, whileInUse }) => removeSecurityGroup(clients.ec2, r, whileInUse),
  vpc: (r, { clients, whileInUse }) => removeVpc(clients.ec2, r, whileInUse),
  'hosted-zone': (r, { clients }) => removeZone(clients.route53, r),
  'instance-profile': (r, { clients }) => removeInstanceProfile(clients.iam, r),
  'iam-role': (r, { clients }) => removeRole(clients.iam, r),
  parameter: (r, { clients }) => removeParameter(clients.ssm, r),
  bucket: (r, { clients }) => removeBucket(clients.s3, r),
};

/**
 * The reverse of the dependency order: what holds a thing goes first. Instances hold ENIs in subnets and
 * security groups; the NAT gateway holds its Elastic IP; the IGW must be detached before the VPC goes.
 * Account-global pieces have no EC2 dependency and go alongside, roles after their instance profiles.
 */
export const DESTROY_PHASES: readonly (readonly ResourceKind[])[] = [
  ['instance'],
  ['nat-gateway'],
  ['elastic-ip', 'internet-gateway'],
  ['route-table', 'subnet', 'security-group'],
  ['vpc'],
];
export const GLOBAL_PHASES: readonly (readonly ResourceKind[])[] = [
  ['hosted-zone', 'instance-profile', 'parameter', 'bucket'],
  ['iam-role'],
];

/** Pure: the resources split into the ordered EC2 phases and the ordered global phases. */
export function removalOrder(found: readonly FoundResource[]): {
  phases: FoundResource[][];
  global: FoundResource[][];
} {
  const split = (phases: readonly (readonly ResourceKind[])[]) =>
    phases.map((kinds) => found.filter((f) => kinds.includes(f.kind)));
  return { phases: split(DESTROY_PHASES), global: split(GLOBAL_PHASES) };
}

/** Removes `found` in reverse dependency order, the EC2 chain and the global chain side by side. */
export async function removeAll(
  found: readonly FoundResource[],
  clients: CensusClients,
  wait: WaitOptions,
  track: (r: FoundResource, work: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const env: RemoveEnv = { clients, wait, whileInUse: retryWhileInUse(wait.emulator) };
  const order = removalOrder(found);
  const chain = async (phases: FoundResource[][]) => {
    for (const phase of phases) await Promise.all(phase.map((r) => track(r, () => REMOVERS[r.kind](r, env))));
  };
  const settled = await Promise.allSettled([chain(order.phases), chain(order.global)]);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}
