// The object ACL and what happens when a server refuses it. New AWS buckets (ACLs disabled) and some
// S3-compatible stores refuse object ACLs: the deploy then goes on without them, warns once, and shows
// the bucket policy to use instead. A refusal is certain for AccessControlListNotSupported and
// NotImplemented/501; an AccessDenied may be about the ACL or about the object, so it counts as a refusal
// of the ACL only when the same PUT without the ACL succeeds.

import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { publicReadPolicy } from '../s3/bucket-policy.js';
import { describeError, errorCode, httpStatus } from '../s3/errors.js';
import { sendObject } from './send-object.js';
import type { DeployItem, SendContext, SentObject } from './types.js';

/** Whether an error may be a refusal of the ACL we sent (not of the object itself). */
export function mayBeAclRefusal(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === 'AccessControlListNotSupported' ||
    code === 'NotImplemented' ||
    httpStatus(err) === 501 ||
    code === 'AccessDenied' ||
    ((code === 'InvalidRequest' || code === 'InvalidArgument') && /acl/i.test(String((err as Error).message)))
  );
}

/** Refusals that are about the ACL for sure (an AccessDenied is only when a retry without ACL works). */
export function isCertainAclRefusal(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'AccessControlListNotSupported' || code === 'NotImplemented' || httpStatus(err) === 501;
}

/**
 * What to do after a PUT failed:
 * - `give-up`: the failure is the file's (no ACL was sent, the run was aborted, or the error is not
 *   about ACLs);
 * - `turn-acl-off-and-retry`: the server refused the ACL for sure: no later PUT sends it; retry this one
 *   without;
 * - `retry-without-acl`: maybe the ACL; retry without it, and turn ACLs off only if that works.
 */
export type AclFailureDecision = 'give-up' | 'turn-acl-off-and-retry' | 'retry-without-acl';

/** The decision after a failed PUT (see {@link AclFailureDecision}). Pure. */
export function decideAfterPutFailure(err: unknown, aclSent: boolean, aborted: boolean): AclFailureDecision {
  if (!aclSent || aborted || !mayBeAclRefusal(err)) return 'give-up';
  return isCertainAclRefusal(err) ? 'turn-acl-off-and-retry' : 'retry-without-acl';
}

/** What the bucket stage learned about ACLs (ensure-bucket.ts). */
export interface BucketAclOutcome {
  /** The bucket policy was printed with a warning already. */
  policyShown: boolean;
  /** The bucket allows no ACLs: object ACLs are off from the start. */
  objectAclOff: boolean;
}

/** The object ACL of a deploy: sent until a server refuses it, then off, with one warning. */
export class ObjectAclPolicy {
  private on: boolean;
  /** A PUT was refused with and without the ACL alike: such refusals are not about the ACL. */
  private refusedWithoutAclToo = new Set<string>();

  constructor(
    private readonly config: Pick<ResolvedConfig, 'objectAcl'>,
    private readonly bucketOutcome: BucketAclOutcome,
    private readonly where: {
      bucket: string;
      folderKeys: readonly string[];
      staticKeys: readonly string[];
      secrets: readonly string[];
      warn: (message: string) => void;
    },
  ) {
    this.on = config.objectAcl !== undefined && !bucketOutcome.objectAclOff;
  }

  /** The ACL to send with the next PUT, or undefined. */
  aclToSend(): string | undefined {
    return this.on ? this.config.objectAcl : undefined;
  }

  /** Whether a retry without the ACL is worth it after `err` (not when that code was refused without ACL too). */
  retryWithoutAclMayHelp(err: unknown): boolean {
    return !this.refusedWithoutAclToo.has(errorCode(err) ?? '');
  }

  /** The same PUT was refused without the ACL too: that refusal is the object's, not the ACL's. */
  refusedEitherWay(code: string | undefined): void {
    if (code) this.refusedWithoutAclToo.add(code);
  }

  /** The server refused the ACL: send none from now on, and say so once. */
  turnOff(err: unknown): void {
    if (!this.on) return;
    this.on = false;
    const acl = this.config.objectAcl;
    const { secrets, warn } = this.where;
    const what = `${settingLabel(setting('objectAcl'))}: the object ACL ${acl} was not set: the server refused it (${describeError(err, secrets)}). Objects are uploaded without an ACL.`;
    if (acl !== 'public-read') {
      warn(`${what} Objects are private unless a bucket policy says otherwise.`);
    } else if (this.bucketOutcome.policyShown) {
      warn(`${what} To make them public, attach the bucket policy printed above.`);
    } else {
      warn(
        `${what} To make them public, attach this bucket policy (on AWS, also allow public policies in the ` +
          `bucket's Block Public Access settings), or set objectAcl to 'none' to silence this warning:\n` +
          publicReadPolicy(this.where.bucket, this.where.folderKeys, this.where.staticKeys),
      );
    }
  }
}

/** Send one object with the deploy's ACL, falling back to none when the server refuses it. */
export async function sendWithAclFallback(
  ctx: SendContext,
  item: DeployItem,
  acl: ObjectAclPolicy,
): Promise<SentObject> {
  const sentAcl = acl.aclToSend();
  try {
    return await sendObject(ctx, item, sentAcl);
  } catch (err) {
    const decision = decideAfterPutFailure(err, sentAcl !== undefined, ctx.signal?.aborted === true);
    if (decision === 'give-up') throw err;
    // Refused without the ACL too, earlier in this deploy: retrying would only double every request.
    if (decision === 'retry-without-acl' && !acl.retryWithoutAclMayHelp(err)) throw err;
    if (decision === 'turn-acl-off-and-retry') acl.turnOff(err);
    let sent: SentObject;
    try {
      sent = await sendObject(ctx, item, undefined);
    } catch (again) {
      if (decision === 'retry-without-acl' && errorCode(again) === errorCode(err)) {
        acl.refusedEitherWay(errorCode(err));
      }
      throw again;
    }
    acl.turnOff(err); // AccessDenied with the ACL, fine without it: the ACL was the problem
    return sent;
  }
}
