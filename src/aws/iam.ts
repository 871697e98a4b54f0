import { createHash } from 'node:crypto';
import {
  AddRoleToInstanceProfileCommand,
  AttachRolePolicyCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetInstanceProfileCommand,
  type IAMClient,
  PutRolePolicyCommand,
  paginateGetAccountAuthorizationDetails,
  RemoveRoleFromInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { AwsError } from '../errors';
import type { Change, Fields } from './change';
import { boundedName, tagRecord } from './ensured';
import type { FoundResource } from './found';
import { globalName, ownedBy, parameterNames, resourceTags, TAG_COMPONENT, TAG_DEPLOYMENT } from './naming';
import { retryNotFound } from './not-found';
import { ignoreMissing } from './removal';
import { collect, errorName } from './retry';

export type RoleComponent = 'controller' | 'kasm' | 'access-server';
export const ROLE_COMPONENTS: readonly RoleComponent[] = ['controller', 'kasm', 'access-server'];

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
  if (component === 'access-server') return accessServerPolicy(p.deployment, p.region);
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

/** Pure: the access servers' inline policy — read their own WireGuard keys, nothing else of the deployment. */
export function accessServerPolicy(deployment: string, region: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadAccessServerKeys',
        Effect: 'Allow',
        Action: ['ssm:GetParameter'],
        Resource: `arn:aws:ssm:${region}:*:parameter${parameterNames(deployment).root}/access-servers/*`,
      },
    ],
  };
}

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** Pure: a policy document as a short fingerprint, so a plan can say "differs" without printing it. */
export const policyFingerprint = (document: unknown): string =>
  `sha256:${createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 12)}`;

export const desiredRole = (component: RoleComponent, policy: PolicyContext): Fields => ({
  inlinePolicy: policyFingerprint(rolePolicy(component, policy)),
  managedPolicies: [SSM_MANAGED_POLICY_ARN],
});

export const desiredInstanceProfile = (name: string): Fields => ({ roles: [name] });

const parsePolicy = (document: string | undefined): unknown => {
  if (!document) return undefined;
  try {
    return JSON.parse(decodeURIComponent(document));
  } catch {
    return document;
  }
};

/**
 * The deployment's roles and their instance profiles, in one paginated GetAccountAuthorizationDetails:
 * only the names this deployment uses, and only those tagged with it (a role of another "a-b" never counts).
 */
export async function readRoles(
  iam: IAMClient,
  deployment: string,
  region: string,
): Promise<FoundResource[]> {
  const names = new Map(ROLE_COMPONENTS.map((c) => [roleName(deployment, region, c), c]));
  const pages = await collect(
    'IAM GetAccountAuthorizationDetails',
    paginateGetAccountAuthorizationDetails({ client: iam }, { Filter: ['Role'] }),
  );
  const found: FoundResource[] = [];
  for (const role of pages.flatMap((p) => p.RoleDetailList ?? [])) {
    const name = role.RoleName ?? '';
    if (!names.has(name) || !ownedBy(role.Tags, deployment)) continue;
    const inline = role.RolePolicyList?.find((p) => p.PolicyName === inlinePolicyName);
    const document = parsePolicy(inline?.PolicyDocument);
    found.push({
      kind: 'iam-role',
      component: tagRecord(role.Tags)[TAG_COMPONENT] ?? '',
      id: name,
      fields: {
        inlinePolicy: document === undefined ? '' : policyFingerprint(document),
        managedPolicies: (role.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn ?? ''),
      },
      facts: {
        inlinePolicies: (role.RolePolicyList ?? []).map((p) => p.PolicyName).join(','),
        managedPolicies: (role.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn).join(','),
      },
    });
    for (const profile of role.InstanceProfileList ?? []) {
      const profileName = profile.InstanceProfileName ?? '';
      if (profileName !== name || found.some((f) => f.kind === 'instance-profile' && f.id === profileName))
        continue;
      const roles = (profile.Roles ?? []).map((r) => r.RoleName ?? '');
      found.push({
        kind: 'instance-profile',
        component: names.get(name)!,
        id: profileName,
        fields: { roles },
        facts: { roles: roles.join(',') },
      });
    }
  }
  return found;
}

/**
 * An instance profile of this deployment that holds no role (a run killed between creating it and adding the
 * role) is invisible to the role listing: looked up by name, and adopted only when tagged with the deployment.
 */
export async function readLoneInstanceProfile(
  iam: IAMClient,
  deployment: string,
  name: string,
  component: string,
): Promise<FoundResource | undefined> {
  try {
    const out = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
    const profile = out.InstanceProfile;
    if (!ownedBy(profile?.Tags, deployment)) return undefined;
    const roles = (profile?.Roles ?? []).map((r) => r.RoleName ?? '');
    return {
      kind: 'instance-profile',
      component,
      id: name,
      fields: { roles },
      facts: { roles: roles.join(',') },
    };
  } catch (error) {
    if (/NoSuchEntity/.test(errorName(error))) return undefined;
    throw new AwsError(`IAM GetInstanceProfile ${name} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Creates or completes the role: inline policy, the SSM managed-instance policy. */
export async function applyRole(
  iam: IAMClient,
  component: RoleComponent,
  policy: PolicyContext,
  change: Change,
): Promise<string> {
  const { deployment, region } = policy;
  const name = roleName(deployment, region, component);
  if (change.action === 'keep') return name;
  if (change.action === 'create') {
    try {
      await iam.send(
        new CreateRoleCommand({
          RoleName: name,
          AssumeRolePolicyDocument: TRUST_POLICY,
          Description: `Waveshift ${deployment} ${component} (${region})`,
          Tags: resourceTags(deployment, component),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'EntityAlreadyExistsException' || errorName(error) === 'EntityAlreadyExists') {
        throw new AwsError(
          `IAM role ${name} exists but is not tagged ${TAG_DEPLOYMENT}=${deployment}; it belongs to something else: rename the deployment or remove the role`,
          { cause: error },
        );
      }
      throw new AwsError(`IAM CreateRole ${name} failed: ${(error as Error).message}`, { cause: error });
    }
  }
  if (change.action === 'create' || change.after?.inlinePolicy !== undefined) {
    await retryNotFound('IAM PutRolePolicy', () =>
      iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: inlinePolicyName,
          PolicyDocument: JSON.stringify(rolePolicy(component, policy)),
        }),
      ),
    );
  }
  if (change.action === 'create' || change.after?.managedPolicies !== undefined) {
    await retryNotFound('IAM AttachRolePolicy', () =>
      iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: SSM_MANAGED_POLICY_ARN })),
    );
  }
  return name;
}

/** Creates the instance profile of the role's name (or adopts a lone one of ours) and puts the role in it. */
export async function applyInstanceProfile(
  iam: IAMClient,
  deployment: string,
  component: RoleComponent,
  name: string,
  change: Change,
): Promise<void> {
  if (change.action === 'keep') return;
  let roles = [...((change.before?.roles as readonly string[] | undefined) ?? [])];
  if (change.action === 'create') {
    try {
      await iam.send(
        new CreateInstanceProfileCommand({
          InstanceProfileName: name,
          Tags: resourceTags(deployment, component),
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'EntityAlreadyExistsException' && errorName(error) !== 'EntityAlreadyExists')
        throw new AwsError(`IAM CreateInstanceProfile ${name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      const lone = await readLoneInstanceProfile(iam, deployment, name, component);
      if (!lone)
        throw new AwsError(
          `IAM instance profile ${name} exists but is not tagged ${TAG_DEPLOYMENT}=${deployment}; remove it or rename the deployment`,
          { cause: error },
        );
      roles = [...(lone.fields.roles as readonly string[])];
    }
  }
  if (!roles.includes(name)) {
    await retryNotFound('IAM AddRoleToInstanceProfile', () =>
      iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name })),
    );
  }
}

export async function removeInstanceProfile(iam: IAMClient, profile: FoundResource): Promise<void> {
  await ignoreMissing(`IAM delete instance profile ${profile.id}`, async () => {
    for (const role of (profile.facts?.roles ?? '').split(',').filter(Boolean)) {
      await iam.send(
        new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: profile.id, RoleName: role }),
      );
    }
    await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: profile.id }));
  });
}

export async function removeRole(iam: IAMClient, role: FoundResource): Promise<void> {
  await ignoreMissing(`IAM delete role ${role.id}`, async () => {
    for (const policy of (role.facts?.inlinePolicies ?? '').split(',').filter(Boolean)) {
      await iam.send(new DeleteRolePolicyCommand({ RoleName: role.id, PolicyName: policy }));
    }
    for (const arn of (role.facts?.managedPolicies ?? '').split(',').filter(Boolean)) {
      await iam.send(new DetachRolePolicyCommand({ RoleName: role.id, PolicyArn: arn }));
    }
    await iam.send(new DeleteRoleCommand({ RoleName: role.id }));
  });
}
