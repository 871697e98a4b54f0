import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListAttachedRolePoliciesCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AwsError } from '../errors';
import { boundedName, type Ensured, tagRecord } from './ensured';
import { globalName, parameterNames, resourceTags, TAG_DEPLOYMENT } from './naming';
import { call, errorName } from './retry';

export type RoleComponent = 'controller' | 'kasm';

export const SSM_MANAGED_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';

/** IAM names are account-global: region and deployment are part of them, bounded to IAM's 64 characters. */
export const roleName = (deployment: string, region: string, component: string): string =>
  boundedName(globalName(deployment, region, component), 64);
export const inlinePolicyName = 'waveshift';

export interface PolicyContext {
  deployment: string;
  region: string;
  bucket: string;
}

/** Pure: the inline policy of each role. Scoped to the deployment by tag, parameter path and bucket. */
export function rolePolicy(component: RoleComponent, p: PolicyContext): Record<string, unknown> {
  const parameters = `arn:aws:ssm:${p.region}:*:parameter${parameterNames(p.deployment).root}/*`;
  const readParameters = {
    Sid: 'ReadOwnParameters',
    Effect: 'Allow',
    Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
    Resource: parameters,
  };
  const describe = { Sid: 'Describe', Effect: 'Allow', Action: ['ec2:Describe*'], Resource: '*' };
  if (component === 'kasm') return { Version: '2012-10-17', Statement: [describe, readParameters] };
  return {
    Version: '2012-10-17',
    Statement: [
      describe,
      readParameters,
      {
        Sid: 'ManageOwnInstances',
        Effect: 'Allow',
        Action: ['ec2:StartInstances', 'ec2:StopInstances', 'ec2:RebootInstances', 'ec2:CreateTags'],
        Resource: '*',
        Condition: { StringEquals: { [`aws:ResourceTag/${TAG_DEPLOYMENT}`]: p.deployment } },
      },
      {
        Sid: 'Dns',
        Effect: 'Allow',
        Action: [
          'route53:ChangeResourceRecordSets',
          'route53:ListResourceRecordSets',
          'route53:GetHostedZone',
          'route53:ListHostedZones',
          'route53:ListHostedZonesByName',
        ],
        Resource: '*',
      },
      {
        Sid: 'RunCommands',
        Effect: 'Allow',
        Action: ['ssm:SendCommand', 'ssm:GetCommandInvocation', 'ssm:ListCommandInvocations'],
        Resource: '*',
      },
      {
        Sid: 'StagingBucket',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:ListBucket'],
        Resource: [`arn:aws:s3:::${p.bucket}`, `arn:aws:s3:::${p.bucket}/*`],
      },
    ],
  };
}

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

async function getRole(iam: IAMClient, name: string) {
  try {
    return (await iam.send(new GetRoleCommand({ RoleName: name }))).Role;
  } catch (error) {
    if (errorName(error) === 'NoSuchEntityException' || errorName(error) === 'NoSuchEntity') return undefined;
    throw error;
  }
}

/** True when the role named for this deployment exists and carries its tag (it is ours). */
export async function findRole(iam: IAMClient, deployment: string, region: string, component: string) {
  const name = roleName(deployment, region, component);
  const role = await call('IAM GetRole', () => getRole(iam, name));
  if (!role) return undefined;
  return { name, arn: role.Arn ?? '', tags: tagRecord(role.Tags) };
}

export async function findInstanceProfile(iam: IAMClient, name: string) {
  try {
    const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    return { name, roles: (out.InstanceProfile?.Roles ?? []).map((r) => r.RoleName ?? '') };
  } catch (error) {
    if (errorName(error) === 'NoSuchEntityException' || errorName(error) === 'NoSuchEntity') return undefined;
    throw new AwsError(`IAM GetInstanceProfile ${name} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const canonical = (policy: unknown): string => JSON.stringify(policy);

/**
 * The role, its inline policy, the SSM managed-instance policy and an instance profile of the same name
 * holding the role. Each piece is checked and completed, so a run killed halfway finishes the rest.
 */
export async function ensureRole(
  iam: IAMClient,
  component: RoleComponent,
  policy: PolicyContext,
): Promise<Ensured> {
  const { deployment, region } = policy;
  const name = roleName(deployment, region, component);
  const tags = resourceTags(deployment, component);
  const changes: string[] = [];
  const existing = await findRole(iam, deployment, region, component);
  if (existing && existing.tags[TAG_DEPLOYMENT] !== deployment) {
    throw new AwsError(
      `IAM role ${name} exists but is not tagged ${TAG_DEPLOYMENT}=${deployment}; it belongs to something else: rename the deployment or remove the role`,
      {},
    );
  }
  const created = !existing;
  if (!existing) {
    await call('IAM CreateRole', () =>
      iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: TRUST_POLICY,
          Description: `Waveshift ${deployment} ${component} (${region})`,
          Tags: tags,
        }),
      ),
    );
  }
  const desired = canonical(rolePolicy(component, policy));
  const current = await call('IAM GetRolePolicy', async () => {
    try {
      const out = await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: inlinePolicyName }));
      return out.PolicyDocument ? canonical(JSON.parse(decodeURIComponent(out.PolicyDocument))) : undefined;
    } catch (error) {
      if (errorName(error) === 'NoSuchEntityException' || errorName(error) === 'NoSuchEntity')
        return undefined;
      throw error;
    }
  });
  if (current !== desired) {
    await call('IAM PutRolePolicy', () =>
      iam.send(
        new PutRolePolicyCommand({ RoleName: name, PolicyName: inlinePolicyName, PolicyDocument: desired }),
      ),
    );
    changes.push('inline policy');
  }
  const attached = await call('IAM ListAttachedRolePolicies', () =>
    iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name })),
  );
  if (!(attached.AttachedPolicies ?? []).some((p) => p.PolicyArn === SSM_MANAGED_POLICY_ARN)) {
    await call('IAM AttachRolePolicy', () =>
      iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: SSM_MANAGED_POLICY_ARN })),
    );
    changes.push('SSM managed-instance policy');
  }
  let profile = await findInstanceProfile(iam, name);
  if (!profile) {
    await call('IAM CreateInstanceProfile', () =>
      iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name, Tags: tags })),
    );
    profile = { name, roles: [] };
    changes.push('instance profile');
  }
  if (!profile.roles.includes(name)) {
    await call('IAM AddRoleToInstanceProfile', () =>
      iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })),
    );
    changes.push('role in profile');
  }
  if (created) return { status: 'created', id: name };
  return changes.length > 0
    ? { status: 'changed', id: name, detail: changes.join(', ') }
    : { status: 'unchanged', id: name };
}
