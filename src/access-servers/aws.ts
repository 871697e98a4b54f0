import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeAddressesCommand,
  DescribeSecurityGroupsCommand,
  DisassociateAddressCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  type IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  findInstanceProfile,
  findRole,
  inlinePolicyName,
  roleName,
  SSM_MANAGED_POLICY_ARN,
} from '../aws/iam';
import { EC2_TRUST_POLICY, instanceRolePolicy } from '../aws/iam-policies';
import { type FoundInstance, findInstance, runInstancesInput, waitRunning } from '../aws/instances';
import { resourceTags, tagFilters } from '../aws/naming';
import { call, retryWhile, type WaitOptions } from '../aws/retry';
import { AwsError } from '../errors';
import { VPC_CIDR, WIREGUARD_PORT } from '../network/address-plan';
import {
  ACCESS_SERVER_ROLE_COMPONENT,
  ACCESS_SERVER_SG_COMPONENT,
  accessServerComponent,
  accessServerEipComponent,
} from './names';

/** The role and instance profile access servers run with (SSM managed instance + their keys). */
export async function ensureAccessServerRole(
  iam: IAMClient,
  deployment: string,
  region: string,
): Promise<string> {
  const name = roleName(deployment, region, ACCESS_SERVER_ROLE_COMPONENT);
  const tags = resourceTags(deployment, ACCESS_SERVER_ROLE_COMPONENT);
  if (!(await findRole(iam, deployment, region, ACCESS_SERVER_ROLE_COMPONENT))) {
    await call('IAM CreateRole', () =>
      iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
          Tags: tags,
        }),
      ),
    );
  }
  await call('IAM PutRolePolicy', () =>
    iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: inlinePolicyName,
        PolicyDocument: JSON.stringify(instanceRolePolicy('access-server', { deployment, region })),
      }),
    ),
  );
  await call('IAM AttachRolePolicy', () =>
    iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: SSM_MANAGED_POLICY_ARN })),
  );
  const profile = await findInstanceProfile(iam, name);
  if (!profile) {
    await call('IAM CreateInstanceProfile', () =>
      iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Tags: tags })),
    );
  }
  if (!profile?.roles.includes(name)) {
    await call('IAM AddRoleToInstanceProfile', () =>
      iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })),
    );
  }
  return name;
}

/** Pure: the access servers' ingress — WireGuard from anywhere, and everything from the VPC (its traffic to sites). */
export function accessServerIngress(listenPort: number) {
  return [
    {
      IpProtocol: 'udp',
      FromPort: listenPort,
      ToPort: listenPort,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'WireGuard from the sites' }],
    },
    { IpProtocol: '-1', IpRanges: [{ CidrIp: VPC_CIDR, Description: 'VPC traffic to the sites' }] },
  ];
}

export async function ensureAccessServerSecurityGroup(
  ec2: EC2Client,
  deployment: string,
  vpcId: string,
): Promise<string> {
  const found = await call('EC2 DescribeSecurityGroups', () =>
    ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: tagFilters(deployment, ACCESS_SERVER_SG_COMPONENT) }),
    ),
  );
  const existing = found.SecurityGroups?.[0]?.GroupId;
  if (existing) return existing;
  const created = await call('EC2 CreateSecurityGroup access-server', () =>
    ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `${deployment}-access-server`,
        Description: 'Waveshift WireGuard access servers',
        VpcId: vpcId,
        TagSpecifications: [
          { ResourceType: 'security-group', Tags: resourceTags(deployment, ACCESS_SERVER_SG_COMPONENT) },
        ],
      }),
    ),
  );
  const groupId = created.GroupId ?? '';
  await call('EC2 AuthorizeSecurityGroupIngress access-server', () =>
    ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: accessServerIngress(WIREGUARD_PORT),
      }),
    ),
  );
  return groupId;
}

export interface LaunchAccessServer {
  deployment: string;
  index: number;
  imageId: string;
  rootDeviceName: string;
  rootVolumeGb?: number;
  instanceType: string;
  subnetId: string;
  securityGroupId: string;
  instanceProfileName: string;
  vpcId: string;
  userData: string;
}

/**
 * The instance of access server `index` (found by tag, else launched), with source/destination check off
 * (it forwards for the sites) and an Elastic IP of its own. Every step is checked, so a re-run completes.
 */
export async function ensureAccessServerInstance(
  ec2: EC2Client,
  spec: LaunchAccessServer,
  wait: WaitOptions,
): Promise<{ instanceId: string; publicIp: string; networkInterfaceId?: string }> {
  const component = accessServerComponent(spec.index);
  let instanceId = (await findInstance(ec2, spec.deployment, component))?.instanceId;
  if (!instanceId) {
    const input = {
      ...runInstancesInput({ ...spec, component, volumeGb: 8 }),
      UserData: Buffer.from(spec.userData).toString('base64'),
    };
    const out = await retryWhile(
      `EC2 RunInstances ${component}`,
      () => ec2.send(new RunInstancesCommand(input)),
      (error) =>
        (error as { name?: string }).name === 'InvalidParameterValue' &&
        /instance profile/i.test((error as Error).message ?? ''),
      { attempts: 20, delayMs: wait.emulator ? 200 : 3000 },
    );
    instanceId = out.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new AwsError(`EC2 RunInstances ${component} returned no instance`, {});
  }
  await waitRunning(ec2, instanceId, wait);
  await call(`EC2 ModifyInstanceAttribute ${instanceId} source/dest check off`, () =>
    ec2.send(
      new ModifyInstanceAttributeCommand({ InstanceId: instanceId, SourceDestCheck: { Value: false } }),
    ),
  );
  const eipComponent = accessServerEipComponent(spec.index);
  const addresses = await call('EC2 DescribeAddresses', () =>
    ec2.send(new DescribeAddressesCommand({ Filters: tagFilters(spec.deployment, eipComponent) })),
  );
  let address = addresses.Addresses?.[0];
  if (!address) {
    const allocated = await call(`EC2 AllocateAddress ${eipComponent}`, () =>
      ec2.send(
        new AllocateAddressCommand({
          Domain: 'vpc',
          TagSpecifications: [
            { ResourceType: 'elastic-ip', Tags: resourceTags(spec.deployment, eipComponent) },
          ],
        }),
      ),
    );
    address = { AllocationId: allocated.AllocationId, PublicIp: allocated.PublicIp };
  }
  if (address.InstanceId !== instanceId) {
    await call(`EC2 AssociateAddress ${eipComponent}`, () =>
      ec2.send(new AssociateAddressCommand({ AllocationId: address.AllocationId, InstanceId: instanceId })),
    );
  }
  return { instanceId, publicIp: address.PublicIp ?? '' };
}

/** Terminates the instance and releases its Elastic IP; what is already gone is fine. */
export async function deleteAccessServerInstance(
  ec2: EC2Client,
  deployment: string,
  index: number,
): Promise<void> {
  const found: FoundInstance | undefined = (await findInstance(
    ec2,
    deployment,
    accessServerComponent(index),
  )) as FoundInstance | undefined;
  if (found) {
    await call(`EC2 TerminateInstances ${found.instanceId}`, () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: [found.instanceId] })),
    );
  }
  const addresses = await call('EC2 DescribeAddresses', () =>
    ec2.send(
      new DescribeAddressesCommand({ Filters: tagFilters(deployment, accessServerEipComponent(index)) }),
    ),
  );
  for (const a of addresses.Addresses ?? []) {
    if (a.AssociationId) {
      await call(`EC2 DisassociateAddress ${a.AssociationId}`, () =>
        ec2.send(new DisassociateAddressCommand({ AssociationId: a.AssociationId })),
      );
    }
    await call(`EC2 ReleaseAddress ${a.AllocationId}`, () =>
      ec2.send(new ReleaseAddressCommand({ AllocationId: a.AllocationId })),
    );
  }
}
