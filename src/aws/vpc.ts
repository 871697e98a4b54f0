import {
  CreateVpcCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  type EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import { VPC_CIDR } from '../network/address-plan';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { resourceTags, tagFilters } from './naming';
import { call } from './retry';

export async function findVpc(ec2: EC2Client, deployment: string): Promise<string | undefined> {
  const out = await call('EC2 DescribeVpcs', () =>
    ec2.send(new DescribeVpcsCommand({ Filters: tagFilters(deployment, COMPONENT.vpc) })),
  );
  return out.Vpcs?.[0]?.VpcId;
}

/** The deployment's VPC 10.0.0.0/16 with DNS support and host names on (private zones need both). */
export async function ensureVpc(ec2: EC2Client, deployment: string): Promise<Ensured> {
  let id = await findVpc(ec2, deployment);
  let created = false;
  if (!id) {
    const out = await call('EC2 CreateVpc', () =>
      ec2.send(
        new CreateVpcCommand({
          CidrBlock: VPC_CIDR,
          TagSpecifications: [{ ResourceType: 'vpc', Tags: resourceTags(deployment, COMPONENT.vpc) }],
        }),
      ),
    );
    id = out.Vpc?.VpcId ?? '';
    created = true;
  }
  const vpcId = id;
  const fixed: string[] = [];
  for (const attribute of ['enableDnsSupport', 'enableDnsHostnames'] as const) {
    const current = await call('EC2 DescribeVpcAttribute', () =>
      ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: attribute })),
    );
    const on =
      attribute === 'enableDnsSupport' ? current.EnableDnsSupport?.Value : current.EnableDnsHostnames?.Value;
    if (on) continue;
    await call('EC2 ModifyVpcAttribute', () =>
      ec2.send(
        new ModifyVpcAttributeCommand(
          attribute === 'enableDnsSupport'
            ? { VpcId: vpcId, EnableDnsSupport: { Value: true } }
            : { VpcId: vpcId, EnableDnsHostnames: { Value: true } },
        ),
      ),
    );
    fixed.push(attribute);
  }
  if (created) return { status: 'created', id: vpcId };
  return fixed.length > 0
    ? { status: 'changed', id: vpcId, detail: `turned on ${fixed.join(', ')}` }
    : { status: 'unchanged', id: vpcId };
}
