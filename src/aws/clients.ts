import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';

export interface AwsTarget {
  profile: string;
  region: string;
  /** An emulator or VPC endpoint; when set, every client sends its calls there. */
  endpointUrl?: string;
}

/** The SDK clients of one deployment, each built on first use so a command loads only the SDKs it needs. */
export interface AwsClients {
  readonly target: AwsTarget;
  /**
   * The one definition of "talking to an emulator": waits poll fast, and what the emulator cannot do (run
   * commands, register instances with SSM) is reported as unverified, never as healthy.
   */
  readonly emulator: boolean;
  ec2(): Promise<EC2Client>;
  iam(): Promise<IAMClient>;
  route53(): Promise<Route53Client>;
  ssm(): Promise<SSMClient>;
  s3(): Promise<S3Client>;
  sts(): Promise<STSClient>;
  /** Releases sockets; call when a command is done. */
  destroy(): void;
}

/**
 * Picks the endpoint: --endpoint-url, then AWS_ENDPOINT_URL, then the config file's aws.endpointUrl.
 * The SDK would read AWS_ENDPOINT_URL by itself, but deciding here lets `status` say where it is talking.
 */
export function resolveEndpoint(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  fromConfig: string | undefined,
): string | undefined {
  return flag ?? (env.AWS_ENDPOINT_URL || undefined) ?? fromConfig;
}

export function createAwsClients(target: AwsTarget): AwsClients {
  // The standard chain (env, SSO, shared files, instance role) for this profile, with adaptive retries that
  // slow down on throttling instead of failing a long deploy.
  const common = {
    region: target.region,
    profile: target.profile,
    retryMode: 'adaptive',
    maxAttempts: 10,
    ...(target.endpointUrl ? { endpoint: target.endpointUrl } : {}),
  } as const;
  const made: { destroy(): void }[] = [];
  const once = <T extends { destroy(): void }>(build: () => Promise<T>) => {
    let client: Promise<T> | undefined;
    return () => {
      client ??= build().then((c) => {
        made.push(c);
        return c;
      });
      return client;
    };
  };
  return {
    target,
    emulator: isEmulatorEndpoint(target.endpointUrl),
    ec2: once(async () => new (await import('@aws-sdk/client-ec2')).EC2Client(common)),
    iam: once(async () => new (await import('@aws-sdk/client-iam')).IAMClient(common)),
    route53: once(async () => new (await import('@aws-sdk/client-route-53')).Route53Client(common)),
    ssm: once(async () => new (await import('@aws-sdk/client-ssm')).SSMClient(common)),
    s3: once(
      async () =>
        new (await import('@aws-sdk/client-s3')).S3Client({
          ...common,
          forcePathStyle: Boolean(target.endpointUrl),
        }),
    ),
    sts: once(async () => new (await import('@aws-sdk/client-sts')).STSClient(common)),
    destroy() {
      for (const client of made.splice(0)) client.destroy();
    },
  };
}

/**
 * An endpoint override that is not an AWS host (a VPC endpoint is `*.amazonaws.com`) is taken for an emulator
 * such as moto: fast polls, and checks it cannot answer (SSM registration) are reported as not verified.
 */
export function isEmulatorEndpoint(endpointUrl: string | undefined): boolean {
  if (!endpointUrl) return false;
  try {
    return !/\.amazonaws\.com(\.cn)?$/.test(new URL(endpointUrl).hostname);
  } catch {
    return true;
  }
}
