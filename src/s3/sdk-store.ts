// The object store on the SDK's client: for an injected client, for endpoints the lean path does not
// take (AWS's own, virtual-hosted), and for credentials only the SDK's chain knows. The client is asked
// for on each request, so it is created (and the SDK loaded) only when a request is made. The SDK
// retries these requests itself, with the policy of retry.ts (uploaderRetryStrategy).

import type { S3Client } from '@aws-sdk/client-s3';
import { contentMd5 } from '../content/md5.js';
import type { ObjectStore } from './object-store.js';
import { s3Sdk } from './sdk.js';

/** The store whose requests go through `client()`. */
export function sdkStore(client: () => S3Client): ObjectStore {
  const send = <T>(command: unknown, signal?: AbortSignal) =>
    client().send(command as never, { abortSignal: signal }) as Promise<T>;
  const getObjectWithEtag: ObjectStore['getObjectWithEtag'] = async (bucket, key, signal) => {
    const out = await send<{ Body?: { transformToByteArray(): Promise<Uint8Array> }; ETag?: string }>(
      new (s3Sdk().GetObjectCommand)({ Bucket: bucket, Key: key }),
      signal,
    );
    const body = Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    return { body, etag: out.ETag };
  };
  return {
    getObject: async (bucket, key, signal) => (await getObjectWithEtag(bucket, key, signal)).body,
    getObjectWithEtag,
    async putObject(o, signal) {
      await send(
        new (s3Sdk().PutObjectCommand)({
          Bucket: o.bucket,
          Key: o.key,
          Body: o.body,
          ContentType: o.contentType,
          CacheControl: o.cacheControl,
          IfNoneMatch: o.ifNoneMatch,
          ContentMD5: contentMd5(o.body),
        }),
        signal,
      );
    },
    async deleteObject(bucket, key, signal) {
      await send(new (s3Sdk().DeleteObjectCommand)({ Bucket: bucket, Key: key }), signal);
    },
    async listObjects(input, signal) {
      const page = await send<import('@aws-sdk/client-s3').ListObjectsCommandOutput>(
        new (s3Sdk().ListObjectsCommand)({
          Bucket: input.bucket,
          Prefix: input.prefix || undefined,
          Marker: input.marker,
          MaxKeys: input.maxKeys,
        }),
        signal,
      );
      return {
        objects: (page.Contents ?? []).flatMap((c) =>
          c.Key === undefined
            ? []
            : [
                {
                  key: c.Key,
                  etag: c.ETag ?? '',
                  size: c.Size ?? 0,
                  lastModified: c.LastModified?.toISOString(),
                },
              ],
        ),
        isTruncated: page.IsTruncated === true,
        nextMarker: page.NextMarker,
      };
    },
    async listMultipartUploads(input, signal) {
      const page = await send<import('@aws-sdk/client-s3').ListMultipartUploadsCommandOutput>(
        new (s3Sdk().ListMultipartUploadsCommand)({
          Bucket: input.bucket,
          Prefix: input.prefix || undefined,
          KeyMarker: input.keyMarker,
          UploadIdMarker: input.uploadIdMarker,
        }),
        signal,
      );
      return {
        uploads: (page.Uploads ?? []).flatMap((u) =>
          u.Key === undefined || u.UploadId === undefined
            ? []
            : [{ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated }],
        ),
        isTruncated: page.IsTruncated === true,
        nextKeyMarker: page.NextKeyMarker,
        nextUploadIdMarker: page.NextUploadIdMarker,
      };
    },
    async abortMultipartUpload(input, signal) {
      await send(
        new (s3Sdk().AbortMultipartUploadCommand)({
          Bucket: input.bucket,
          Key: input.key,
          UploadId: input.uploadId,
        }),
        signal,
      );
    },
    async putBucketAcl(bucket, acl, signal) {
      await send(new (s3Sdk().PutBucketAclCommand)({ Bucket: bucket, ACL: acl as 'public-read' }), signal);
    },
  };
}
