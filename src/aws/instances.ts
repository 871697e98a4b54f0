import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  type Instance,
  ModifyInstanceAttributeCommand,
  paginateDescribeInstances,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { AwsError } from '../errors';
import { toAwsError } from './aws-error';
import type { Change, Fields } from './change';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, TAG_COMPONENT, type Tag, tagFilters } from './naming';
import { retryNotFound } from './not-found';
import { ignoreMissing } from './removal';
import { call, collect, retryWhile, type WaitOptions, waiterConfig } from './retry';

export interface FoundInstance {
  instanceId: string;
  privateIp: string | undefined;
  state: string;
  instanceType: string;
  sourceDestCheck: 'on' | 'off';
  tags: Record<string, string>;
}

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

function toFound(instance: Instance): FoundInstance {
  const tags: Record<string, string> = {};
  for (const t of instance.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
  return {
    instanceId: instance.InstanceId ?? '',
    privateIp: instance.PrivateIpAddress,
    state: instance.State?.Name ?? 'unknown',
    instanceType: instance.InstanceType ?? '',
    sourceDestCheck: instance.SourceDestCheck === false ? 'off' : 'on',
    tags,
  };
}

/** Every non-terminated instance of the deployment (any component), found by tag and checked for it. */
export async function listInstances(
  ec2: EC2Client,
  deployment: string,
  component?: string,
): Promise<FoundInstance[]> {
  const pages = await collect(
    'EC2 DescribeInstances',
    paginateDescribeInstances(
      { client: ec2 },
      {
        Filters: [...tagFilters(deployment, component), { Name: 'instance-state-name', Values: LIVE_STATES }],
      },
    ),
  );
  return pages
    .flatMap((p) => p.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter(
      (i) =>
        ownedBy(i.Tags, deployment) &&
        LIVE_STATES.includes(i.State?.Name ?? '') &&
        (component === undefined || componentOfTags(i.Tags) === component),
    )
    .map(toFound);
}

/** The instances as resources of the deployment: type, state and source/dest check compared by plans. */
export async function readInstances(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  return (await listInstances(ec2, deployment)).map((i) => ({
    kind: 'instance' as const,
    component: i.tags[TAG_COMPONENT] ?? '',
    id: i.instanceId,
    state: i.state,
    fields: { instanceType: i.instanceType, state: i.state, sourceDestCheck: i.sourceDestCheck },
    facts: {
      instanceType: i.instanceType,
      privateIp: i.privateIp ?? '',
      installed: i.tags[TAG_INSTALLED] ?? '',
      kasmOidc: i.tags[TAG_KASM_OIDC] ?? '',
    },
  }));
}

/** Tag on an instance recording what service installation last succeeded there (so a re-deploy skips it). */
export const TAG_INSTALLED = 'waveshift:installed';
/** Tag on the Kasm instance recording which OpenID configuration Kasm was last given. */
export const TAG_KASM_OIDC = 'waveshift:kasm-oidc';

/**
 * The deployment's instance of `component` ('controller', 'kasm', or another part's e.g. 'access-server-0'),
 * found by its tags; terminated instances do not count.
 */
export async function findInstance(
  ec2: EC2Client,
  deployment: string,
  component: string,
): Promise<FoundInstance | undefined> {
  const [first] = await listInstances(ec2, deployment, component);
  return first;
}

/** Where each instance's image comes from: SSM public parameters, so the newest patched AMI is used. */
export const AMI_PARAMETERS = {
  // Amazon Linux 2023: its own repositories carry Node.js 22 and PostgreSQL 15.
  controller: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  // Ubuntu 22.04 LTS, a host the Kasm Workspaces installer supports.
  kasm: '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id',
} as const;

export interface AmiChoice {
  imageId: string;
  parameter: string;
  /** The image's root device, which the encrypted gp3 volume mapping must name. */
  rootDeviceName: string;
  /** Its snapshot's size: RunInstances refuses a root volume smaller than that. */
  rootVolumeGb: number;
  /** Set when the image is not the one asked for, with the reason (an emulator lacking the parameter). */
  note?: string;
}

export async function readPublicParameter(ssm: SSMClient, name: string): Promise<string | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    return out.Parameter?.Value;
  } catch (error) {
    if ((error as { name?: string }).name === 'ParameterNotFound') return undefined;
    throw toAwsError(`SSM GetParameter ${name}`, error);
  }
}

/**
 * The AMI for `component`. An emulator (moto) publishes the Amazon Linux parameters but not Canonical's;
 * there, and only there, the Kasm host falls back to the Amazon Linux image and the note says so.
 */
export async function resolveAmi(
  ec2: EC2Client,
  ssm: SSMClient,
  component: 'controller' | 'kasm',
  emulator: boolean,
): Promise<AmiChoice> {
  const parameter = AMI_PARAMETERS[component];
  const imageId = await readPublicParameter(ssm, parameter);
  if (imageId) return { imageId, parameter, ...(await rootDevice(ec2, imageId)) };
  if (emulator && component === 'kasm') {
    const fallback = await readPublicParameter(ssm, AMI_PARAMETERS.controller);
    if (fallback) {
      return {
        imageId: fallback,
        parameter: AMI_PARAMETERS.controller,
        ...(await rootDevice(ec2, fallback)),
        note: `the emulator has no ${parameter}; the Kasm host uses the Amazon Linux image there`,
      };
    }
  }
  throw new AwsError(
    `no AMI: the SSM public parameter ${parameter} does not exist in this region; check the region in wavectl.json`,
    {},
  );
}

async function rootDevice(
  ec2: EC2Client,
  imageId: string,
): Promise<{ rootDeviceName: string; rootVolumeGb: number }> {
  const out = await call(`EC2 DescribeImages ${imageId}`, () =>
    ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })),
  );
  const image = out.Images?.[0];
  const name = image?.RootDeviceName;
  if (!name) throw new AwsError(`AMI ${imageId} was not found or has no root device; check the region`, {});
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === name);
  return { rootDeviceName: name, rootVolumeGb: root?.Ebs?.VolumeSize ?? 0 };
}

export interface LaunchSpec {
  deployment: string;
  component: string;
  imageId: string;
  rootDeviceName: string;
  /** The image's snapshot size: the root volume is never made smaller (RunInstances would refuse). */
  rootVolumeGb?: number;
  instanceType: string;
  volumeGb: number;
  subnetId: string;
  securityGroupId: string;
  instanceProfileName: string;
  vpcId: string;
  extraTags?: Tag[];
}

/**
 * Pure: the RunInstances request (IMDSv2 required, encrypted gp3 root volume, tags on instance and volume).
 * No fixed ClientToken: the SDK fills one per call and reuses it across its retries, and a run killed after
 * the launch finds the instance by its tags; a token fixed across runs would hand back a terminated instance.
 */
export function runInstancesInput(spec: LaunchSpec) {
  const tags = [...resourceTags(spec.deployment, spec.component), ...(spec.extraTags ?? [])];
  return {
    ImageId: spec.imageId,
    InstanceType: spec.instanceType as never,
    MinCount: 1,
    MaxCount: 1,
    SubnetId: spec.subnetId,
    SecurityGroupIds: [spec.securityGroupId],
    IamInstanceProfile: { Name: spec.instanceProfileName },
    MetadataOptions: {
      HttpTokens: 'required' as const,
      HttpEndpoint: 'enabled' as const,
      HttpPutResponseHopLimit: 1,
    },
    BlockDeviceMappings: [
      {
        DeviceName: spec.rootDeviceName,
        Ebs: {
          VolumeSize: Math.max(spec.volumeGb, spec.rootVolumeGb ?? 0),
          VolumeType: 'gp3' as const,
          Encrypted: true,
          DeleteOnTermination: true,
        },
      },
    ],
    TagSpecifications: [
      { ResourceType: 'instance' as const, Tags: tags },
      { ResourceType: 'volume' as const, Tags: tags },
    ],
  };
}

const IAM_PROPAGATION = /Invalid IAM Instance Profile|iamInstanceProfile|instance profile/i;

/**
 * Launches the instance. A new instance profile can take seconds to be usable by EC2 (IAM is eventually
 * consistent): that refusal is retried, not failed.
 */
export async function launchInstance(
  ec2: EC2Client,
  spec: LaunchSpec,
  wait: WaitOptions,
): Promise<FoundInstance> {
  const input = runInstancesInput(spec);
  const out = await retryWhile(
    `EC2 RunInstances ${spec.component}`,
    () => ec2.send(new RunInstancesCommand(input)),
    (error) =>
      (error as { name?: string }).name === 'InvalidParameterValue' &&
      IAM_PROPAGATION.test((error as Error).message ?? ''),
    { attempts: 20, delayMs: wait.emulator ? 200 : 3000 },
  );
  const instance = out.Instances?.[0];
  if (!instance?.InstanceId)
    throw new AwsError(`EC2 RunInstances ${spec.component} returned no instance`, {});
  return toFound(instance);
}

export async function waitRunning(ec2: EC2Client, instanceId: string, wait: WaitOptions): Promise<void> {
  try {
    await waitUntilInstanceRunning(waiterConfig(ec2, wait, 600), { InstanceIds: [instanceId] });
  } catch (error) {
    throw toAwsError(`waiting for instance ${instanceId} to run`, error);
  }
}

/** Changes an instance's type in place: stop, modify, start. The root volume stays. */
export async function resizeInstance(
  ec2: EC2Client,
  instanceId: string,
  instanceType: string,
  wait: WaitOptions,
): Promise<void> {
  try {
    await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    await waitUntilInstanceStopped(waiterConfig(ec2, wait, 900), { InstanceIds: [instanceId] });
    await ec2.send(
      new ModifyInstanceAttributeCommand({ InstanceId: instanceId, InstanceType: { Value: instanceType } }),
    );
    await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (error) {
    throw toAwsError(`resizing instance ${instanceId} to ${instanceType}`, error);
  }
  await waitRunning(ec2, instanceId, wait);
}

/** Starts a stopped (or stopping) instance, e.g. one left stopped by a resize that was interrupted. */
export async function startInstance(
  ec2: EC2Client,
  instanceId: string,
  state: string,
  wait: WaitOptions,
): Promise<void> {
  try {
    if (state === 'stopping')
      await waitUntilInstanceStopped(waiterConfig(ec2, wait, 900), { InstanceIds: [instanceId] });
    await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (error) {
    throw toAwsError(`starting instance ${instanceId}`, error);
  }
  await waitRunning(ec2, instanceId, wait);
}

/** Records a fact about an instance on the instance itself (e.g. the installed bundle's hash). */
export async function tagInstance(
  ec2: EC2Client,
  instanceId: string,
  key: string,
  value: string,
): Promise<void> {
  try {
    await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: key, Value: value }] }));
  } catch (error) {
    throw toAwsError(`EC2 CreateTags on ${instanceId}`, error);
  }
}

export const componentOf = (instance: FoundInstance): string => instance.tags[TAG_COMPONENT] ?? '';

export const desiredInstance = (instanceType: string): Fields => ({ instanceType, state: 'running' });

export async function describeInstance(ec2: EC2Client, instanceId: string): Promise<FoundInstance> {
  const out = await retryNotFound(`EC2 DescribeInstances ${instanceId}`, () =>
    ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })),
  );
  const instance = out.Reservations?.[0]?.Instances?.[0];
  if (!instance) throw new AwsError(`instance ${instanceId} disappeared`, {});
  return toFound(instance);
}

/**
 * Launches the instance (create), or brings it to the wanted type (stop, modify, start) and state (start a
 * stopped one, wait for a pending one); returns it as it runs.
 */
export async function applyInstance(
  ec2: EC2Client,
  change: Change,
  current: FoundResource | undefined,
  launch: () => Promise<FoundInstance>,
  wait: WaitOptions,
): Promise<FoundInstance> {
  let instanceId = change.id ?? '';
  if (change.action === 'create') instanceId = (await launch()).instanceId;
  else if (change.action === 'update') {
    const type = change.after?.instanceType;
    const state = current?.state ?? '';
    if (typeof type === 'string') await resizeInstance(ec2, instanceId, type, wait);
    else if (state === 'stopped' || state === 'stopping') await startInstance(ec2, instanceId, state, wait);
  }
  if (change.action !== 'keep') await waitRunning(ec2, instanceId, wait);
  return describeInstance(ec2, instanceId);
}

export async function removeInstance(ec2: EC2Client, instance: FoundResource, wait: WaitOptions) {
  await ignoreMissing('EC2 TerminateInstances', () =>
    ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.id] })),
  );
  try {
    await waitUntilInstanceTerminated(waiterConfig(ec2, wait, 900), { InstanceIds: [instance.id] });
  } catch (error) {
    throw toAwsError(`waiting for instance ${instance.id} to terminate`, error);
  }
}
