// The fifth stage of createAll: the bucket, before the first upload. Created when the record's GET said
// it is missing; made public-read when putBucketAcl is on. Like the original, the bucket ACL is set on
// every run that uploads something (so an unchanged re-deploy stays one GET); refused, it is a warning
// with the bucket policy to use instead, and the uploads go on.

import { setting, settingLabel } from '../config.js';
import { createBucket, makeBucketPublicRead } from '../s3/bucket.js';
import { publicReadPolicy } from '../s3/bucket-policy.js';
import { describeError, errorCode } from '../s3/errors.js';
import type { BucketAclOutcome } from './acl-fallback.js';
import { preflightFailure } from './report.js';
import type { DeployContext, DeployItem } from './types.js';

/** What ensureBucket needs to know of the deploy. */
export interface BucketNeeds {
  exists: boolean;
  /** Something will be uploaded (the bucket ACL is set only then). */
  uploads: boolean;
  /** Every item, for the report of a failure before any upload. */
  items: readonly DeployItem[];
}

/** Create the bucket if missing, then set its ACL (best effort); see the top of this file. */
export async function ensureBucket(run: DeployContext, needs: BucketNeeds): Promise<BucketAclOutcome> {
  const { bucket, signal } = run;
  if (!needs.exists) {
    try {
      await createBucket(run.s3.client(), bucket, signal);
      run.logger.info?.(`created bucket ${bucket}`);
    } catch (err) {
      throw preflightFailure(run, err, 'could not create the bucket', needs.items);
    }
  }
  const outcome: BucketAclOutcome = { policyShown: false, objectAclOff: false };
  if (!run.config.putBucketAcl || !needs.uploads) return outcome;
  try {
    await makeBucketPublicRead(run.s3.store, bucket, signal);
  } catch (err) {
    if (signal?.aborted) throw preflightFailure(run, err, 'aborted', needs.items);
    outcome.policyShown = true;
    outcome.objectAclOff = bucketAllowsNoAcls(run, err);
    run.warn(outcome.objectAclOff ? noAclsWarning(run, err) : bucketAclRefusedWarning(run, err));
  }
  return outcome;
}

/**
 * A bucket with ACLs disabled (every new AWS bucket) refuses object ACLs too, except
 * bucket-owner-full-control: then both are said at once, and no object ACL is sent to be refused.
 */
function bucketAllowsNoAcls(run: DeployContext, err: unknown): boolean {
  const acl = run.config.objectAcl;
  return (
    errorCode(err) === 'AccessControlListNotSupported' &&
    acl !== undefined &&
    acl !== 'bucket-owner-full-control'
  );
}

function noAclsWarning(run: DeployContext, err: unknown): string {
  return (
    `${settingLabel(setting('putBucketAcl'))} and ${settingLabel(setting('objectAcl'))}: the bucket does not ` +
    `allow ACLs (${describeError(err, run.secrets)}): neither the bucket ACL public-read nor the object ACL ` +
    `${run.config.objectAcl} was set, and objects are uploaded without an ACL. To make the static files public, ` +
    `attach this bucket policy (on AWS, also allow public policies in the bucket's Block Public Access ` +
    `settings), or set putBucketAcl to false and objectAcl to 'none' to silence this warning:\n` +
    publicReadPolicy(run.bucket, run.folderKeys, run.staticKeys)
  );
}

function bucketAclRefusedWarning(run: DeployContext, err: unknown): string {
  return (
    `${settingLabel(setting('putBucketAcl'))}: the bucket ACL public-read was not set: ${describeError(err, run.secrets)}. ` +
    `Uploads go on. To make the static files public, attach this bucket policy instead (on AWS, also allow ` +
    `public policies in the bucket's Block Public Access settings), or set putBucketAcl to false to ` +
    `silence this warning:\n${publicReadPolicy(run.bucket, run.folderKeys, run.staticKeys)}`
  );
}
