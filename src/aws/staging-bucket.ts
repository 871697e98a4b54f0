import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AwsError } from '../errors';
import { COMPONENT } from './components';
import { boundedName, type Ensured, tagRecord } from './ensured';
import { globalName, resourceTags, TAG_DEPLOYMENT } from './naming';
import { call, errorName } from './retry';

/**
 * The staging bucket's name. Bucket names are global across every account, so the account ID is in it
 * besides region and deployment; bounded to S3's 63 characters.
 */
export const stagingBucketName = (deployment: string, region: string, accountId: string): string =>
  boundedName(`${globalName(deployment, region, COMPONENT.stagingBucket)}-${accountId}`, 63);

const notFound = (error: unknown) =>
  ['NotFound', 'NoSuchBucket', 'NoSuchKey', 'NoSuchTagSet'].includes(errorName(error)) ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

export async function bucketExists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (notFound(error)) return false;
    throw new AwsError(`S3 HeadBucket ${bucket} failed: ${errorName(error)}`, {
      cause: error,
      awsCode: errorName(error),
    });
  }
}

async function bucketTags(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  try {
    return tagRecord((await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet);
  } catch (error) {
    if (notFound(error)) return {};
    throw error;
  }
}

/** A private, encrypted bucket holding the controller bundle (too large for one SSM command). */
export async function ensureStagingBucket(
  s3: S3Client,
  deployment: string,
  region: string,
  bucket: string,
): Promise<Ensured> {
  const exists = await bucketExists(s3, bucket);
  if (!exists) {
    await call('S3 CreateBucket', async () => {
      try {
        await s3.send(
          new CreateBucketCommand({
            Bucket: bucket,
            ...(region === 'us-east-1'
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
          }),
        );
      } catch (error) {
        if (errorName(error) !== 'BucketAlreadyOwnedByYou') throw error;
      }
    });
  }
  const tags = await call('S3 GetBucketTagging', () => bucketTags(s3, bucket));
  if (tags[TAG_DEPLOYMENT] !== undefined && tags[TAG_DEPLOYMENT] !== deployment) {
    throw new AwsError(
      `S3 bucket ${bucket} belongs to deployment ${tags[TAG_DEPLOYMENT]}, not ${deployment}`,
      {},
    );
  }
  if (exists && tags[TAG_DEPLOYMENT] === deployment) return { status: 'unchanged', id: bucket };
  // New, or created by a run killed before it finished: (re)apply every setting, all idempotent.
  await call('S3 PutPublicAccessBlock', () =>
    s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      }),
    ),
  );
  await call('S3 PutBucketEncryption', () =>
    s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    ),
  );
  // Tags last: a bucket carrying them is complete.
  await call('S3 PutBucketTagging', () =>
    s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: { TagSet: resourceTags(deployment, COMPONENT.stagingBucket) },
      }),
    ),
  );
  return exists
    ? { status: 'changed', id: bucket, detail: 'completed settings' }
    : { status: 'created', id: bucket };
}

export const contentKey = (prefix: string, content: Buffer | string, suffix: string): string =>
  `${prefix}/${createHash('sha256').update(content).digest('hex')}${suffix}`;

/** Uploads `content` under a content-addressed key unless it is there already. */
export async function stageObject(
  s3: S3Client,
  bucket: string,
  key: string,
  content: Buffer | string,
): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return false;
  } catch (error) {
    if (!notFound(error))
      throw new AwsError(`S3 HeadObject ${key} failed: ${errorName(error)}`, { cause: error });
  }
  await call(`S3 PutObject ${key}`, () =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content })),
  );
  return true;
}
