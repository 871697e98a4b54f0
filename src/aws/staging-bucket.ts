import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AwsError } from '../errors';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import { boundedName, tagRecord } from './ensured';
import type { FoundResource } from './found';
import { globalName, resourceTags, TAG_DEPLOYMENT } from './naming';
import { retryNotFound } from './not-found';
import { ignoreMissing } from './removal';
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

export const desiredBucket = (deployment: string): Fields => ({ deployment });

/**
 * The staging bucket, in one call: GetBucketTagging answers NoSuchBucket when it does not exist and
 * NoSuchTagSet when a run was killed before tagging it (then it is ours to finish: its name carries account,
 * region and deployment). A bucket tagged for another deployment is never adopted.
 */
export async function readBucket(s3: S3Client, deployment: string, bucket: string): Promise<FoundResource[]> {
  let owner = '';
  try {
    owner =
      tagRecord((await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet)[TAG_DEPLOYMENT] ??
      '';
  } catch (error) {
    if (errorName(error) === 'NoSuchBucket') return [];
    if (!notFound(error))
      throw new AwsError(`S3 GetBucketTagging ${bucket} failed: ${errorName(error)}`, {
        cause: error,
        awsCode: errorName(error),
      });
    // NoSuchTagSet, or a 404 without a code: the bucket may exist untagged.
    if (errorName(error) !== 'NoSuchTagSet' && !(await bucketExists(s3, bucket))) return [];
  }
  if (owner !== '' && owner !== deployment) return [];
  return [
    {
      kind: 'bucket',
      component: COMPONENT.stagingBucket,
      id: bucket,
      state: owner ? 'tagged' : 'untagged',
      fields: { deployment: owner },
    },
  ];
}

/** A private, encrypted bucket holding the controller bundle (too large for one SSM command). */
export async function applyBucket(
  s3: S3Client,
  scope: { deployment: string; region: string; bucket: string },
  change: Change,
): Promise<string> {
  const { deployment, region, bucket } = scope;
  if (change.action === 'keep') return bucket;
  if (change.action === 'create') {
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
        const owner = tagRecord(
          (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket })).catch(() => ({ TagSet: [] })))
            .TagSet,
        )[TAG_DEPLOYMENT];
        if (owner && owner !== deployment)
          throw new AwsError(`S3 bucket ${bucket} belongs to deployment ${owner}, not ${deployment}`, {});
      }
    });
  }
  // New, or created by a run killed before it finished: (re)apply every setting, all idempotent.
  await retryNotFound('S3 PutPublicAccessBlock', () =>
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
  return bucket;
}

export async function removeBucket(s3: S3Client, bucket: FoundResource): Promise<void> {
  await ignoreMissing(`S3 delete bucket ${bucket.id}`, async () => {
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket.id }));
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key ?? '',
        VersionId: v.VersionId ?? undefined,
      }));
      if (objects.length === 0) break;
      await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket.id, Delete: { Objects: objects, Quiet: true } }),
      );
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket.id }));
  });
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
