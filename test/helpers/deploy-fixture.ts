import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { stagingBucketName } from '../../src/aws/staging-bucket';
import { type FoundResource, takeCensus } from '../../src/deploy/census';
import { runCli } from './cli';

/** moto's account: every moto server answers as this one. */
export const MOTO_ACCOUNT = '123456789012';
export const PROFILE = 'waveshift-deploy-test';

/**
 * moto loads AWS managed policies (AmazonSSMManagedInstanceCore, which deploy attaches) only when asked.
 * Call before startMoto(): the server inherits this process's environment.
 */
export function motoWithManagedPolicies(): void {
  process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
}

/** A deployment directory with wavectl.json written by the real `init`. */
export async function initDeployment(root: string, name: string, region: string): Promise<string> {
  const dir = join(root, `${name}-${region}`);
  await mkdir(dir, { recursive: true });
  const run = await runCli(
    [
      'init',
      '--identity-provider',
      'local',
      '--profile',
      PROFILE,
      '--region',
      region,
      '--name',
      name,
      '--dir',
      dir,
    ],
    { cwd: dir },
  );
  if (run.code !== 0) throw new Error(`init failed: ${run.stderr}`);
  return dir;
}

/** Raw SDK clients on moto, for assertions that do not go through wavectl. */
export function rawClients(endpoint: string, region: string) {
  const common = { region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  return {
    ec2: new EC2Client(common),
    iam: new IAMClient(common),
    route53: new Route53Client(common),
    ssm: new SSMClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
  };
}

/** Everything found for `deployment` in `region`, as counts by "kind/component". */
export async function census(
  endpoint: string,
  deployment: string,
  region: string,
): Promise<{ found: FoundResource[]; counts: Record<string, number> }> {
  const clients = rawClients(endpoint, region);
  const found = await takeCensus(clients, {
    deployment,
    region,
    bucket: stagingBucketName(deployment, region, MOTO_ACCOUNT),
  });
  const counts: Record<string, number> = {};
  for (const f of found) counts[`${f.kind}/${f.component}`] = (counts[`${f.kind}/${f.component}`] ?? 0) + 1;
  return { found, counts };
}

/** The census of a complete deployment: each of the 20 resources exactly once. */
export const FULL_DEPLOYMENT: Record<string, number> = {
  'vpc/vpc': 1,
  'subnet/public-subnet': 1,
  'subnet/private-subnet': 1,
  'internet-gateway/internet-gateway': 1,
  'elastic-ip/nat-eip': 1,
  'nat-gateway/nat-gateway': 1,
  'route-table/public-route-table': 1,
  'route-table/private-route-table': 1,
  'security-group/controller': 1,
  'security-group/kasm': 1,
  'iam-role/controller': 1,
  'iam-role/kasm': 1,
  'instance-profile/controller': 1,
  'instance-profile/kasm': 1,
  'hosted-zone/controller-zone': 1,
  'hosted-zone/kasm-zone': 1,
  'instance/controller': 1,
  'instance/kasm': 1,
  'parameter/api-key': 1,
  'parameter/tls/ca-key': 1,
  'parameter/tls/controller-key': 1,
  'parameter/tls/controller-certificate': 1,
  'parameter/kasm/oidc-client-secret': 1,
  'bucket/staging': 1,
};
