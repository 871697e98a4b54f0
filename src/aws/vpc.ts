import {
  CreateVpcCommand,
  DeleteVpcCommand,
  DescribeVpcAttributeCommand,
  type EC2Client,
  ModifyVpcAttributeCommand,
  paginateDescribeVpcs,
} from '@aws-sdk/client-ec2';
import { VPC_CIDR } from '../network/address-plan';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, tagFilters } from './naming';
import { retryNotFound } from './not-found';
import type { InUseRetry } from './removal';
import { call, collect } from './retry';

const ATTRIBUTES = ['enableDnsSupport', 'enableDnsHostnames'] as const;

/** Pure: the VPC 10.0.0.0/16 with DNS support and host names on (private zones need both). */
export const desiredVpc = (): Fields => ({
  cidr: VPC_CIDR,
  enableDnsSupport: 'on',
  enableDnsHostnames: 'on',
});

/** The deployment's VPCs, each with its DNS attributes. */
export async function readVpcs(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const pages = await collect(
    'EC2 DescribeVpcs',
    paginateDescribeVpcs({ client: ec2 }, { Filters: tagFilters(deployment) }),
  );
  const vpcs = pages.flatMap((p) => p.Vpcs ?? []).filter((v) => ownedBy(v.Tags, deployment));
  return Promise.all(
    vpcs.map(async (v) => {
      const vpcId = v.VpcId ?? '';
      const [support, hostnames] = await Promise.all(
        ATTRIBUTES.map((Attribute) =>
          call('EC2 DescribeVpcAttribute', () =>
            ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute })),
          ),
        ),
      );
      return {
        kind: 'vpc' as const,
        component: componentOfTags(v.Tags),
        id: vpcId,
        state: v.State,
        fields: {
          cidr: v.CidrBlock ?? '',
          enableDnsSupport: support?.EnableDnsSupport?.Value ? 'on' : 'off',
          enableDnsHostnames: hostnames?.EnableDnsHostnames?.Value ? 'on' : 'off',
        },
      };
    }),
  );
}

/** Creates the VPC or turns on the attributes that are off; returns its id. */
export async function applyVpc(ec2: EC2Client, deployment: string, change: Change): Promise<string> {
  let vpcId = change.id ?? '';
  if (change.action === 'create') {
    const out = await call('EC2 CreateVpc', () =>
      ec2.send(
        new CreateVpcCommand({
          CidrBlock: VPC_CIDR,
          TagSpecifications: [{ ResourceType: 'vpc', Tags: resourceTags(deployment, COMPONENT.vpc) }],
        }),
      ),
    );
    vpcId = out.Vpc?.VpcId ?? '';
  }
  for (const attribute of ATTRIBUTES) {
    if (change.action !== 'create' && change.after?.[attribute] === undefined) continue;
    if (change.action === 'create' && attribute === 'enableDnsSupport') continue; // on by default
    await retryNotFound('EC2 ModifyVpcAttribute', () =>
      ec2.send(
        new ModifyVpcAttributeCommand(
          attribute === 'enableDnsSupport'
            ? { VpcId: vpcId, EnableDnsSupport: { Value: true } }
            : { VpcId: vpcId, EnableDnsHostnames: { Value: true } },
        ),
      ),
    );
  }
  return vpcId;
}

export async function removeVpc(ec2: EC2Client, vpc: FoundResource, whileInUse: InUseRetry): Promise<void> {
  await whileInUse('EC2 DeleteVpc', () => ec2.send(new DeleteVpcCommand({ VpcId: vpc.id })));
}
