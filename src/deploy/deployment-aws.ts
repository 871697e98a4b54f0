import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { call } from '../aws/retry';
import { stagingBucketName } from '../aws/staging-bucket';
import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { AwsError } from '../errors';
import type { CensusClients, CensusScope } from './census';

/** The clients and scope that deploy, status and destroy all start from. */
export interface DeploymentAws {
  clients: CensusClients;
  scope: CensusScope;
  /** An endpoint override that is not AWS: waits poll fast and the output says what the emulator cannot do. */
  emulator: boolean;
  endpointUrl: string | undefined;
}

export async function openDeploymentAws(ctx: Context, config: WavectlConfig): Promise<DeploymentAws> {
  const aws = await ctx.aws();
  const [ec2, iam, route53, ssm, s3, sts] = await Promise.all([
    aws.ec2(),
    aws.iam(),
    aws.route53(),
    aws.ssm(),
    aws.s3(),
    aws.sts(),
  ]);
  // The staging bucket's name carries the account ID: S3 names are global across accounts.
  const identity = await call('STS GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  if (!identity.Account) throw new AwsError('STS GetCallerIdentity returned no account', {});
  return {
    clients: { ec2, iam, route53, ssm, s3 },
    scope: {
      deployment: config.name,
      region: config.aws.region,
      bucket: stagingBucketName(config.name, config.aws.region, identity.Account),
    },
    emulator: aws.emulator,
    endpointUrl: aws.target.endpointUrl,
  };
}
