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
import { EC2_TRUST_POLICY, instanceRolePolicy, type PolicyContext } from './iam-policies';
import { globalName, resourceTags, TAG_DEPLOYMENT } from './naming';
import { call, errorName } from './retry';

export type RoleComponent = 'controller' | 'kasm';

export const SSM_MANAGED_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';

/** IAM names are account-global: region and deployment are part of them, bounded to IAM's 64 characters. */
export const roleName = (deployment: string, region: string, component: string): string =>
  boundedName(globalName(deployment, region, component), 64);
export const inlinePolicyName = 'waveshift';

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
          AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
          Description: `Waveshift ${deployment} ${component} (${region})`,
          Tags: tags,
        }),
      ),
    );
  }
  const desired = canonical(instanceRolePolicy(component, policy));
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
