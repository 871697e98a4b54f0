import {
  DeleteInternetGatewayCommand,
  DeleteNatGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DetachInternetGatewayCommand,
  DisassociateAddressCommand,
  DisassociateRouteTableCommand,
  type EC2Client,
  ReleaseAddressCommand,
  TerminateInstancesCommand,
  waitUntilInstanceTerminated,
  waitUntilNatGatewayDeleted,
} from '@aws-sdk/client-ec2';
import {
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import {
  ChangeResourceRecordSetsCommand,
  DeleteHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DeleteParametersCommand } from '@aws-sdk/client-ssm';
import { toAwsError } from '../aws/aws-error';
import type { ResourceKind } from '../aws/components';
import { errorName, type WaitOptions, waiterConfig } from '../aws/retry';
import { describeRecords, withoutRecords } from '../config/records';
import type { Context } from '../context';
import { AbortedError, AwsError } from '../errors';
import { formatElapsed } from '../io/output';
import { type CensusClients, type FoundResource, takeCensus } from './census';
import { openDeploymentAws } from './deployment-aws';

/**
 * The order AWS requires: what holds a thing goes first. Instances hold ENIs in subnets and security
 * groups; the NAT gateway holds its Elastic IP; the IGW must be detached before the VPC goes.
 * Account-global pieces (zones, IAM, parameters, bucket) have no EC2 dependency and go in parallel.
 */
export const DESTROY_PHASES: readonly (readonly ResourceKind[])[] = [
  ['instance'],
  ['nat-gateway'],
  ['elastic-ip', 'internet-gateway'],
  ['route-table', 'subnet', 'security-group'],
  ['vpc'],
];
export const GLOBAL_KINDS: readonly ResourceKind[] = [
  'hosted-zone',
  'instance-profile',
  'parameter',
  'bucket',
];

/** Pure: the census split into the ordered EC2 phases and the independent global phase. */
export function destroyPlan(found: readonly FoundResource[]): {
  phases: FoundResource[][];
  global: FoundResource[];
} {
  return {
    phases: DESTROY_PHASES.map((kinds) => found.filter((f) => kinds.includes(f.kind))),
    // Roles go after their instance profiles (a role in a profile cannot be deleted).
    global: [
      ...found.filter((f) => GLOBAL_KINDS.includes(f.kind)),
      ...found.filter((f) => f.kind === 'iam-role'),
    ],
  };
}

const ignoreMissing = async (action: string, work: () => Promise<unknown>) => {
  try {
    await work();
  } catch (error) {
    if (/NotFound|NoSuchEntity|NoSuchBucket|NoSuchHostedZone|ParameterNotFound/.test(errorName(error)))
      return;
    throw toAwsError(action, error);
  }
};

/** Retries a delete refused because something still holds the resource (ENIs released asynchronously). */
async function whileInUse(action: string, work: () => Promise<unknown>, wait: WaitOptions) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ignoreMissing(action, work);
    } catch (error) {
      const code = (error as AwsError).awsCode ?? '';
      if (attempt >= 40 || !/DependencyViolation|InUse|InvalidIPAddress.InUse/.test(code)) throw error;
      await new Promise((r) => setTimeout(r, wait.emulator ? 250 : 15_000));
    }
  }
}

async function deleteEc2(ec2: EC2Client, r: FoundResource, wait: WaitOptions): Promise<void> {
  switch (r.kind) {
    case 'instance':
      await ignoreMissing('EC2 TerminateInstances', () =>
        ec2.send(new TerminateInstancesCommand({ InstanceIds: [r.id] })),
      );
      try {
        await waitUntilInstanceTerminated(waiterConfig(ec2, wait, 900), { InstanceIds: [r.id] });
      } catch (error) {
        throw toAwsError(`waiting for instance ${r.id} to terminate`, error);
      }
      return;
    case 'nat-gateway':
      if (r.state !== 'deleting') {
        await ignoreMissing('EC2 DeleteNatGateway', () =>
          ec2.send(new DeleteNatGatewayCommand({ NatGatewayId: r.id })),
        );
      }
      try {
        await waitUntilNatGatewayDeleted(waiterConfig(ec2, wait, 900), { NatGatewayIds: [r.id] });
      } catch (error) {
        throw toAwsError(`waiting for NAT gateway ${r.id} to be deleted`, error);
      }
      return;
    case 'elastic-ip':
      if (r.facts?.associationId) {
        await ignoreMissing('EC2 DisassociateAddress', () =>
          ec2.send(new DisassociateAddressCommand({ AssociationId: r.facts!.associationId })),
        );
      }
      await whileInUse(
        'EC2 ReleaseAddress',
        () => ec2.send(new ReleaseAddressCommand({ AllocationId: r.id })),
        wait,
      );
      return;
    case 'internet-gateway':
      for (const vpcId of (r.facts?.vpcIds ?? '').split(',').filter(Boolean)) {
        await whileInUse(
          'EC2 DetachInternetGateway',
          () => ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: r.id, VpcId: vpcId })),
          wait,
        );
      }
      await ignoreMissing('EC2 DeleteInternetGateway', () =>
        ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: r.id })),
      );
      return;
    case 'route-table':
      for (const association of (r.facts?.associations ?? '').split(',').filter(Boolean)) {
        await ignoreMissing('EC2 DisassociateRouteTable', () =>
          ec2.send(new DisassociateRouteTableCommand({ AssociationId: association })),
        );
      }
      await whileInUse(
        'EC2 DeleteRouteTable',
        () => ec2.send(new DeleteRouteTableCommand({ RouteTableId: r.id })),
        wait,
      );
      return;
    case 'subnet':
      await whileInUse('EC2 DeleteSubnet', () => ec2.send(new DeleteSubnetCommand({ SubnetId: r.id })), wait);
      return;
    case 'security-group':
      await whileInUse(
        'EC2 DeleteSecurityGroup',
        () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: r.id })),
        wait,
      );
      return;
    case 'vpc':
      await whileInUse('EC2 DeleteVpc', () => ec2.send(new DeleteVpcCommand({ VpcId: r.id })), wait);
      return;
    default:
      throw new Error(`not an EC2 resource: ${r.kind}`);
  }
}

async function deleteZone(route53: Route53Client, id: string): Promise<void> {
  await ignoreMissing('Route53 delete zone', async () => {
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: id }));
    const own = (records.ResourceRecordSets ?? []).filter((r) => r.Type !== 'SOA' && r.Type !== 'NS');
    if (own.length > 0) {
      await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: id,
          ChangeBatch: { Changes: own.map((r) => ({ Action: 'DELETE', ResourceRecordSet: r })) },
        }),
      );
    }
    await route53.send(new DeleteHostedZoneCommand({ Id: id }));
  });
}

async function deleteRole(iam: IAMClient, name: string): Promise<void> {
  await ignoreMissing(`IAM delete role ${name}`, async () => {
    const inline = await iam.send(new ListRolePoliciesCommand({ RoleName: name }));
    for (const policy of inline.PolicyNames ?? []) {
      await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy }));
    }
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }));
    for (const p of attached.AttachedPolicies ?? []) {
      await iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: p.PolicyArn }));
    }
    await iam.send(new DeleteRoleCommand({ RoleName: name }));
  });
}

async function deleteInstanceProfile(iam: IAMClient, r: FoundResource): Promise<void> {
  await ignoreMissing(`IAM delete instance profile ${r.id}`, async () => {
    for (const role of (r.facts?.roles ?? '').split(',').filter(Boolean)) {
      await iam.send(new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: r.id, RoleName: role }));
    }
    await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: r.id }));
  });
}

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
  await ignoreMissing(`S3 delete bucket ${bucket}`, async () => {
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key ?? '',
        VersionId: v.VersionId ?? undefined,
      }));
      if (objects.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });
}

async function deleteGlobal(clients: CensusClients, r: FoundResource): Promise<void> {
  switch (r.kind) {
    case 'hosted-zone':
      return deleteZone(clients.route53, r.id);
    case 'instance-profile':
      return deleteInstanceProfile(clients.iam, r);
    case 'iam-role':
      return deleteRole(clients.iam, r.id);
    case 'parameter':
      return ignoreMissing('SSM DeleteParameters', () =>
        clients.ssm.send(new DeleteParametersCommand({ Names: [r.id] })),
      );
    case 'bucket':
      return emptyAndDeleteBucket(clients.s3, r.id);
    default:
      throw new Error(`not a global resource: ${r.kind}`);
  }
}

export interface DestroyResult {
  deployment: string;
  region: string;
  status: 'unchanged' | 'destroyed';
  deleted: { kind: ResourceKind; component: string; id: string }[];
  remaining: number;
  elapsedMs: number;
}

export async function destroy(ctx: Context): Promise<DestroyResult> {
  const config = await ctx.loadConfig();
  const deployment = config.name;
  const region = config.aws.region;
  if (
    !(await ctx.confirm(
      `This deletes every AWS resource of deployment "${deployment}" in ${region}.`,
      deployment,
      `destroy deployment "${deployment}"`,
    ))
  ) {
    throw new AbortedError('not confirmed; nothing was changed');
  }
  return ctx.withLock(async () => {
    const began = Date.now();
    const { clients, scope, emulator } = await openDeploymentAws(ctx, config);
    const { ec2 } = clients;
    const wait: WaitOptions = { emulator };
    const found = await ctx.io.track(
      'census',
      () => takeCensus(clients, scope),
      (f) => `${f.length} resources`,
    );
    const plan = destroyPlan(found);
    const deleted: DestroyResult['deleted'] = [];
    const remove = async (r: FoundResource, work: () => Promise<void>) => {
      await ctx.io.track(`delete ${r.kind} ${r.component} ${r.id}`, work);
      deleted.push({ kind: r.kind, component: r.component, id: r.id });
    };
    const ec2Chain = (async () => {
      for (const phase of plan.phases)
        await Promise.all(phase.map((r) => remove(r, () => deleteEc2(ec2, r, wait))));
    })();
    const globals = (async () => {
      const first = plan.global.filter((r) => r.kind !== 'iam-role');
      await Promise.all(first.map((r) => remove(r, () => deleteGlobal(clients, r))));
      await Promise.all(
        plan.global
          .filter((r) => r.kind === 'iam-role')
          .map((r) => remove(r, () => deleteGlobal(clients, r))),
      );
    })();
    const settled = await Promise.allSettled([ec2Chain, globals]);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const left = await ctx.io.track(
      'census after',
      () => takeCensus(clients, scope),
      (f) => `${f.length} left`,
    );
    if (left.length > 0) {
      throw new AwsError(
        `destroy left ${left.length} resource(s): ${left.map((r) => `${r.kind} ${r.id}`).join(', ')}; run \`wavectl destroy\` again`,
        {},
      );
    }
    // Nothing of the deployment is left: wavectl.json keeps its settings and claims no live resource.
    const settings = await ctx.loadConfig();
    if (describeRecords(settings).length > 0) await ctx.saveConfig(withoutRecords(settings));
    return {
      deployment,
      region,
      status: found.length === 0 ? 'unchanged' : 'destroyed',
      deleted,
      remaining: 0,
      elapsedMs: Date.now() - began,
    };
  });
}

export function renderDestroyResult(result: DestroyResult): string {
  if (result.status === 'unchanged')
    return `Nothing to destroy: no resource of ${result.deployment} in ${result.region}`;
  return `Destroyed ${result.deployment} (${result.region}): ${result.deleted.length} resources deleted in ${formatElapsed(result.elapsedMs)}; none left`;
}
