/**
 * Names and tags of everything a deployment owns in AWS (DESIGN §2). Resources are found again by these
 * tags, never by a cached ID alone; IAM and S3 names are account-global, so they carry the region too.
 */
export const TAG_DEPLOYMENT = 'waveshift:deployment';
export const TAG_COMPONENT = 'waveshift:component';

export interface Tag {
  Key: string;
  Value: string;
}

/** `Name=<deployment>-<component>` plus the two waveshift tags. */
export function resourceTags(deployment: string, component: string): Tag[] {
  return [
    { Key: 'Name', Value: `${deployment}-${component}` },
    { Key: TAG_DEPLOYMENT, Value: deployment },
    { Key: TAG_COMPONENT, Value: component },
  ];
}

/** EC2 Describe* filters that select one deployment's resources, optionally one component. */
export function tagFilters(deployment: string, component?: string): { Name: string; Values: string[] }[] {
  return [
    { Name: `tag:${TAG_DEPLOYMENT}`, Values: [deployment] },
    ...(component === undefined ? [] : [{ Name: `tag:${TAG_COMPONENT}`, Values: [component] }]),
  ];
}

/** An account-global name (IAM role, instance profile, policy, S3 bucket): unique per region and deployment. */
export function globalName(deployment: string, region: string, component: string): string {
  return `waveshift-${region}-${deployment}-${component}`;
}

/** SSM Parameter Store names of the deployment's secrets (SecureString), all under /waveshift/<name>/. */
export function parameterNames(deployment: string) {
  const root = `/waveshift/${deployment}`;
  return {
    root,
    apiKey: `${root}/api-key`,
    kasmAdminPassword: `${root}/kasm/admin-password`,
    sitePrivateKey: (site: number) => `${root}/sites/${site}/wireguard-private-key`,
    siteScannerKey: (site: number) => `${root}/sites/${site}/scanner-key`,
    accessServerPrivateKey: (index: number) => `${root}/access-servers/${index}/wireguard-private-key`,
    caKey: `${root}/tls/ca-key`,
    controllerTlsKey: `${root}/tls/controller-key`,
    controllerTlsCertificate: `${root}/tls/controller-certificate`,
    kasmOidcClientSecret: `${root}/kasm/oidc-client-secret`,
    idpClientSecret: `${root}/idp/client-secret`,
  };
}

/**
 * The client-side half of finding by tag: whatever a server-side filter did (the emulator ignores some), a
 * resource without this deployment's tag is never adopted, changed or deleted.
 */
export const ownedBy = (tags: readonly { Key?: string; Value?: string }[] | undefined, deployment: string) =>
  (tags ?? []).some((t) => t.Key === TAG_DEPLOYMENT && t.Value === deployment);

export const componentOfTags = (tags: readonly { Key?: string; Value?: string }[] | undefined): string =>
  (tags ?? []).find((t) => t.Key === TAG_COMPONENT)?.Value ?? '';
