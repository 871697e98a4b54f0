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
import { boundedName } from './ensured';
import type { FoundResource } from './found';
import {
  EC2_TRUST_POLICY,
  type InstanceRole,
  instanceRolePolicy,
  type PolicyContext as PolicyScope,
} from './iam-policies';
import { componentOfTags, globalName, ownedBy, resourceTags, TAG_DEPLOYMENT } from './naming';
import { retryNotFound } from './not-found';
import { ignoreMissing } from './removal';
import { collect, errorName } from './retry';

export type RoleComponent = InstanceRole;
export const ROLE_COMPONENTS: readonly RoleComponent[] = ['controller', 'kasm', 'access-server'];

export const SSM_MANAGED_POLICY_ARN = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';

/** IAM names are account-global: region and deployment are part of them, bounded to IAM's 64 characters. */
export const roleName = (deployment: string, region: string, component: string): string =>
  boundedName(globalName(deployment, region, component), 64);
export const inlinePolicyName = 'waveshift';

/** What each role's policy is scoped to; the staging bucket is always known where roles are planned. */
export type PolicyContext = Required<PolicyScope>;

/** Pure: a policy document as a short fingerprint, so a plan can say "differs" without printing it. */
export const policyFingerprint = (document: unknown): string =>
  `sha256:${createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 12)}`;

export const desiredRole = (component: RoleComponent, policy: PolicyContext): Fields => ({
  inlinePolicy: policyFingerprint(instanceRolePolicy(component, policy)),
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

/** An instance profile as read, with the roles it holds. */
function foundInstanceProfile(
  name: string,
  component: string,
  held: readonly { RoleName?: string }[] | undefined,
): FoundResource {
  const roles = (held ?? []).map((r) => r.RoleName ?? '');
  return {
    kind: 'instance-profile',
    component,
    id: name,
    fields: { roles },
    facts: { roles: roles.join(',') },
  };
}

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
      component: componentOfTags(role.Tags),
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
      found.push(foundInstanceProfile(profileName, names.get(name)!, profile.Roles));
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
    return foundInstanceProfile(name, component, profile?.Roles);
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
          AssumeRolePolicyDocument: JSON.stringify(EC2_TRUST_POLICY),
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
          PolicyDocument: JSON.stringify(instanceRolePolicy(component, policy)),
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
