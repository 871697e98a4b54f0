import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { readParameters } from '../aws/api-key';
import type { Observed } from '../aws/change';
import { readZones } from '../aws/dns';
import type { FoundResource } from '../aws/found';
import { ROLE_COMPONENTS, readLoneInstanceProfile, readRoles, roleName } from '../aws/iam';
import { readInstances } from '../aws/instances';
import { readInternetGateways } from '../aws/internet-gateway';
import { readAddresses, readNatGateways } from '../aws/nat-gateway';
import { readRouteTables } from '../aws/route-tables';
import { readSecurityGroups } from '../aws/security-groups';
import { readBucket } from '../aws/staging-bucket';
import { readSubnets } from '../aws/subnets';
import { readControllerCertificate } from '../aws/tls-parameters';
import { readVpcs } from '../aws/vpc';

export type { FoundResource } from '../aws/found';

export interface CensusClients {
  ec2: EC2Client;
  iam: IAMClient;
  route53: Route53Client;
  ssm: SSMClient;
  s3: S3Client;
}

export interface CensusScope {
  deployment: string;
  region: string;
  bucket: string;
}

/** What the deployment has in AWS: its resources, and the apex records of its zones. */
export interface Current {
  resources: FoundResource[];
  records: Record<string, Observed | undefined>;
  /** The controller's TLS certificate (PEM) as stored in SSM: what the TLS step plans renewal from. */
  controllerCertificatePem?: string;
}

/**
 * Reads everything the deployment owns: one paginated describe per family, filtered by the deployment's tag
 * on the server and checked for it again here (IAM by name and tag, zones by caller reference, parameters
 * by path, the bucket by its name and tag). The read phase of deploy, --dry-run, status and destroy.
 */
export async function readDeployment(clients: CensusClients, scope: CensusScope): Promise<Current> {
  const { ec2 } = clients;
  const { deployment } = scope;
  const [families, zones, controllerCertificatePem] = await Promise.all([
    Promise.all([
      readVpcs(ec2, deployment),
      readSubnets(ec2, deployment),
      readInternetGateways(ec2, deployment),
      readAddresses(ec2, deployment),
      readNatGateways(ec2, deployment),
      readRouteTables(ec2, deployment),
      readSecurityGroups(ec2, deployment),
      readInstances(ec2, deployment),
      readRoles(clients.iam, deployment, scope.region),
      readParameters(clients.ssm, deployment),
      readBucket(clients.s3, deployment, scope.bucket),
    ]),
    readZones(clients.route53, deployment, scope.region),
    readControllerCertificate(clients.ssm, deployment),
  ]);
  return {
    resources: [...families.flat(), ...zones.zones],
    records: zones.records,
    ...(controllerCertificatePem ? { controllerCertificatePem } : {}),
  };
}

/**
 * Everything the deployment owns, as a flat list (destroy's input, and the tests' view). Besides the read,
 * an instance profile that holds no role (a run killed between creating it and adding the role) is looked
 * up by its name: the role listing cannot show it, and destroy must not leave it behind.
 */
export async function takeCensus(clients: CensusClients, scope: CensusScope): Promise<FoundResource[]> {
  const { resources } = await readDeployment(clients, scope);
  const lone = await Promise.all(
    ROLE_COMPONENTS.filter(
      (c) => !resources.some((r) => r.kind === 'instance-profile' && r.component === c),
    ).map((c) =>
      readLoneInstanceProfile(clients.iam, scope.deployment, roleName(scope.deployment, scope.region, c), c),
    ),
  );
  return [...resources, ...lone.filter((p): p is FoundResource => p !== undefined)];
}
