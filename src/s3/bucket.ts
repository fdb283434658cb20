// Bucket operations a deploy makes before its first upload: does the bucket exist, create it, make it
// public-read. Each is one request; what to do when one is refused is the caller's decision.

import type { BucketLocationConstraint, S3Client } from '@aws-sdk/client-s3';
import { errorCode, httpStatus } from './errors.js';
import type { ObjectStore } from './object-store.js';
import { s3Sdk } from './sdk.js';

/** HeadBucket: false when the bucket does not exist; true when it does or we cannot tell (403). */
export async function bucketExists(client: S3Client, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.send(new (s3Sdk().HeadBucketCommand)({ Bucket: bucket }), { abortSignal: signal });
    return true;
  } catch (err) {
    if (httpStatus(err) === 404 || errorCode(err) === 'NotFound' || errorCode(err) === 'NoSuchBucket')
      return false;
    if (httpStatus(err) === 403) return true;
    throw err;
  }
}

/** CreateBucket, with the client's region as LocationConstraint outside us-east-1 (the original never sent one). */
export async function createBucket(client: S3Client, bucket: string, signal?: AbortSignal): Promise<void> {
  const region = await client.config.region();
  const constraint =
    region && region !== 'us-east-1' ? { LocationConstraint: region as BucketLocationConstraint } : undefined;
  try {
    await client.send(
      new (s3Sdk().CreateBucketCommand)({ Bucket: bucket, CreateBucketConfiguration: constraint }),
      { abortSignal: signal },
    );
  } catch (err) {
    // Created meanwhile by us (a retry after a lost response, or a concurrent deploy): fine.
    if (errorCode(err) === 'BucketAlreadyOwnedByYou') return;
    throw err;
  }
}

/** PutBucketAcl public-read (on the lean path where it applies). Throws the server's refusal as it is. */
export async function makeBucketPublicRead(
  store: ObjectStore,
  bucket: string,
  signal?: AbortSignal,
): Promise<void> {
  await store.putBucketAcl(bucket, 'public-read', signal);
}
