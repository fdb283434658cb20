// With fingerprint 'filename', a file has two keys with the same bytes (fingerprint-upload.ts): its own
// and its fingerprinted one. The bytes go up once: the fingerprinted key is made from the own key by a
// server-side CopyObject with MetadataDirective REPLACE and every header, the metadata and the ACL a PUT
// of that key would set (the immutable Cache-Control included), with the Content-Encoding the own key
// was actually stored with (gzip only where it paid: send-object.ts).
//
// A copy is made only of bytes this deploy vouches for: the own key's PUT of this run, once it succeeded,
// or, when the own key was skipped as unchanged, its claim, if a listing confirmed it in this run (and,
// when the claim cannot tell whether gzip was kept, a HeadObject under its ETag tells). The
// copy is guarded by `x-amz-copy-source-if-match` with the ETag of that PUT or claim (when the server gave
// one), so an own key rewritten meanwhile is not copied. In every other case, and when the server refuses
// the copy (NotImplemented / 501, AccessDenied, PreconditionFailed, or anything else), the fingerprinted
// key is uploaded by PUT, as it was before copies: no deploy fails for want of a copy. A server that does
// not implement CopyObject, or denies it where the PUT with the same ACL is allowed, is not asked again
// in the same run. Objects smaller than MIN_COPY_BYTES are sent again: their copy would cost more time
// than their bytes.

import type { CopyObjectCommandInput } from '@aws-sdk/client-s3';
import type { ObjectFields } from '../content/headers.js';
import { describeError, errorCode, httpStatus } from '../s3/errors.js';
import { encodeKeyPath } from '../s3/lean/sign.js';
import { s3Sdk } from '../s3/sdk.js';
import { type ObjectAclPolicy, sendWithAclFallback } from './acl-fallback.js';
import { isFingerprintedCopy } from './fingerprint-upload.js';
import type { RecordedObject } from './record.js';
import { storedFields } from './send-object.js';
import { etagFrom } from './state/listing.js';
import type { DeployItem, SendContext, SentObject } from './types.js';

/** The largest object one CopyObject may copy (S3's limit; larger ones need a multipart copy). */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;
/**
 * Objects stored smaller than this are sent again rather than copied: a copy request costs the client and
 * the server about what the PUT of a small body does, to save few bytes. Measured with Ceph RGW on a
 * loaded 2-core machine, a 2,000-file site of 67 MiB (gzip on, 54 MiB stored): two PUTs per file sent
 * 108.1 MiB in 28-33 s; copying every fingerprinted key sent 54.0 MiB in 43-54 s; copying bodies of 16 KiB
 * and more sent 58.3 MiB in 28-32 s.
 */
export const MIN_COPY_BYTES = 16 * 1024;

/** The object a copy is made from: the own key as its PUT stored it, or as its confirmed claim says. */
export interface CopySource {
  key: string;
  /** Its ETag (no quotes), the copy's condition; undefined when the server gave none. */
  etag: string | undefined;
  hash: string;
  /** Size of the local file. */
  size: number;
  /** Size of the object stored (gzipped size when gzipped). */
  stored: number;
  gzipped: boolean;
}

/**
 * Whether the object of a claim is stored gzipped, for a file whose settings ask for gzip (`gzipWanted`).
 * Gzip is kept only when it makes the body smaller, so a smaller stored size means gzipped. A larger one
 * means gzipped by a version that gzipped whatever the result; such a version may also have stored a
 * gzipped body of exactly the file's size, so the same size cannot tell (undefined: ask the bucket).
 */
export function claimGzipped(
  gzipWanted: boolean,
  claim: Pick<RecordedObject, 'size' | 'stored'>,
): boolean | undefined {
  if (!gzipWanted) return false;
  if (claim.stored === undefined || claim.stored === claim.size) return undefined;
  return true;
}

/**
 * The Content-Encoding of the claimed object, asked of the bucket (HeadObject, under the claim's ETag):
 * whether it is gzipped; undefined when the bucket does not hold that object any more.
 */
async function storedGzipped(ctx: SendContext, key: string, etag: string): Promise<boolean | undefined> {
  try {
    const head = await ctx.client.send(
      new (s3Sdk().HeadObjectCommand)({ Bucket: ctx.bucket, Key: key, IfMatch: `"${etag}"` }),
      { abortSignal: ctx.signal },
    );
    return head.ContentEncoding === 'gzip';
  } catch {
    return undefined; // changed, gone or not allowed: the fingerprinted key is uploaded instead
  }
}

/** The header fields of a copy: those of a PUT, less Content-MD5 (a copy has no body). */
type CopyFields = Omit<ObjectFields, 'ContentMD5'>;

/** What the copy of `item` from `source` would be stored with, or undefined when it cannot be a copy. */
function copyFields(item: DeployItem, source: CopySource): CopyFields | undefined {
  const { ContentMD5, ...fields } = storedFields(item.settings, source.gzipped);
  // A Content-MD5 describes a request body; a copy has none. Such files are uploaded.
  if (ContentMD5 !== undefined || source.stored > MAX_COPY_BYTES || source.stored < MIN_COPY_BYTES)
    return undefined;
  return fields;
}

/** Copy `source` to the fingerprinted key of `item` (see the top of this file); the SDK retries it. */
async function copyObject(
  ctx: SendContext,
  item: DeployItem,
  source: CopySource,
  acl: string | undefined,
  fields: CopyFields,
): Promise<SentObject> {
  const s = item.settings;
  const out = await ctx.client.send(
    new (s3Sdk().CopyObjectCommand)({
      Bucket: ctx.bucket,
      Key: item.key,
      CopySource: `${ctx.bucket}/${encodeKeyPath(source.key)}`,
      ...(source.etag !== undefined ? { CopySourceIfMatch: `"${source.etag}"` } : {}),
      MetadataDirective: 'REPLACE',
      ...fields,
      ...(Object.keys(s.metadata).length ? { Metadata: { ...s.metadata } } : {}),
      ...(acl ? { ACL: acl as CopyObjectCommandInput['ACL'] } : {}),
    }),
    { abortSignal: ctx.signal },
  );
  return {
    hash: source.hash,
    size: source.size,
    stored: source.stored,
    bytesSent: 0,
    gzipped: source.gzipped,
    etag: etagFrom(out.CopyObjectResult?.ETag),
  };
}

/** A promise and its resolver. */
interface Pending<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

/**
 * The own keys of a transfer, as their uploads settle, and the claims of those skipped: what each
 * fingerprinted copy can be made from. Also whether the server still takes copies.
 */
export class FingerprintCopies {
  readonly #uploads = new Map<string, Pending<CopySource | undefined>>();
  #serverCopies = true;

  constructor(
    private readonly claims: {
      /** The working record's claims (record-keeper.ts). */
      objects: Readonly<Record<string, RecordedObject>>;
      /** A listing confirmed the claims in this run (not with trustRecord). */
      confirmed: boolean;
      /** Said once when the server refuses copies. */
      info: (message: string) => void;
      secrets: readonly string[];
    },
  ) {}

  /** The own key of `item` is uploaded in this run: copies of it wait for its outcome. */
  expect(item: DeployItem): void {
    let resolve!: (value: CopySource | undefined) => void;
    const promise = new Promise<CopySource | undefined>((r) => {
      resolve = r;
    });
    this.#uploads.set(item.key, { promise, resolve });
  }

  /** The upload of own key `item` ended: `sent` when it succeeded, undefined when it failed. */
  settle(item: DeployItem, sent: SentObject | undefined): void {
    const source: CopySource | undefined = sent && {
      key: item.key,
      etag: sent.etag,
      hash: sent.hash,
      size: sent.size,
      stored: sent.stored,
      gzipped: sent.gzipped,
    };
    this.#uploads.get(item.key)?.resolve(source);
  }

  /** The source of fingerprinted `copy`, once its own key's upload settled; undefined: upload it. */
  async sourceFor(ctx: SendContext, copy: DeployItem): Promise<CopySource | undefined> {
    const own = copy.file.key;
    const upload = this.#uploads.get(own);
    if (upload) return await upload.promise;
    if (!this.claims.confirmed || !Object.hasOwn(this.claims.objects, own)) return undefined;
    const claim = this.claims.objects[own]!;
    const { etag, stored } = claim;
    if (etag === undefined || stored === undefined || stored < MIN_COPY_BYTES) return undefined;
    if (claim.hash !== copy.hash || claim.size !== copy.size) return undefined;
    const gzipped = claimGzipped(copy.settings.gzip, claim) ?? (await storedGzipped(ctx, own, etag));
    if (gzipped === undefined) return undefined;
    return { key: own, etag, hash: claim.hash, size: claim.size, stored, gzipped };
  }

  /**
   * Send `item`: a fingerprinted copy from its own key when it can be (see the top of this file), else
   * (and for every other item) an upload.
   */
  async send(ctx: SendContext, item: DeployItem, acl: ObjectAclPolicy): Promise<SentObject> {
    if (!isFingerprintedCopy(item)) return await sendWithAclFallback(ctx, item, acl);
    const source = await this.sourceFor(ctx, item);
    const fields = source && this.#serverCopies ? copyFields(item, source) : undefined;
    if (!source || !fields) return await sendWithAclFallback(ctx, item, acl);
    const aclSent = acl.aclToSend();
    try {
      return await copyObject(ctx, item, source, aclSent, fields);
    } catch (err) {
      if (ctx.signal?.aborted) throw err;
      const sent = await sendWithAclFallback(ctx, item, acl);
      // The PUT went through with the ACL the copy had: the refusal was the copy's, not the ACL's.
      if (refusesCopies(err) && acl.aclToSend() === aclSent) this.#stopCopies(err);
      return sent;
    }
  }

  #stopCopies(err: unknown): void {
    if (!this.#serverCopies) return;
    this.#serverCopies = false;
    this.claims.info(
      `the server refused a server-side copy (${describeError(err, this.claims.secrets)}); ` +
        'fingerprinted keys are uploaded instead, sending each file twice',
    );
  }
}

/** A refusal that every later copy would meet: CopyObject not implemented, or not allowed to us. */
function refusesCopies(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NotImplemented' || httpStatus(err) === 501 || code === 'AccessDenied';
}
