// The object store on the lean path (lean-client.ts): each request retried with the one policy of
// src/s3/retry.ts. ListObjects pages are read without a tree (listing-page.ts), other answers by the
// strict XML reader (xml.ts): both on the same walk, with the same errors. Listings are not asked for
// EncodingType=url: keys come back as XML text, entities decoded.

import { contentMd5 } from '../../content/md5.js';
import type { ObjectStore, UploadPage } from '../object-store.js';
import { withRetries } from '../retry.js';
import type { LeanS3 } from './lean-client.js';
import { readObjectPage } from './listing-page.js';
import { dateOf } from './listing-time.js';
import { childrenNamed, childText, parseXml, type XmlElement } from './xml.js';
import { unexpectedRoot } from './xml-error.js';

/** The store on `s3`, each request attempted up to `maxAttempts` times. */
export function leanStore(s3: LeanS3, maxAttempts: number): ObjectStore {
  const retried = <T>(signal: AbortSignal | undefined, attempt: () => Promise<T>) =>
    withRetries(maxAttempts, signal, attempt);
  const getObjectWithEtag: ObjectStore['getObjectWithEtag'] = (bucket, key, signal) =>
    retried(signal, async () => {
      const answer = await s3.send({ method: 'GET', bucket, key }, signal);
      return { body: answer.body, etag: answer.headers['etag'] };
    });
  return {
    getObject: async (bucket, key, signal) => (await getObjectWithEtag(bucket, key, signal)).body,
    getObjectWithEtag,
    putObject: (o, signal) =>
      retried(signal, async () => {
        const body = Buffer.from(o.body);
        const headers: Record<string, string> = { 'content-md5': contentMd5(body) };
        if (o.contentType !== undefined) headers['content-type'] = o.contentType;
        if (o.cacheControl !== undefined) headers['cache-control'] = o.cacheControl;
        if (o.ifNoneMatch !== undefined) headers['if-none-match'] = o.ifNoneMatch;
        await s3.send({ method: 'PUT', bucket: o.bucket, key: o.key, headers, body }, signal);
      }),
    deleteObject: (bucket, key, signal) =>
      retried(signal, async () => {
        await s3.send({ method: 'DELETE', bucket, key }, signal);
      }),
    listObjects: (input, signal) =>
      retried(signal, async () => {
        const query: Record<string, string> = {};
        if (input.prefix) query['prefix'] = input.prefix;
        if (input.marker !== undefined) query['marker'] = input.marker;
        if (input.maxKeys !== undefined) query['max-keys'] = String(input.maxKeys);
        const answer = await s3.send({ method: 'GET', bucket: input.bucket, query }, signal);
        return readObjectPage(answer.body.toString('utf8'));
      }),
    listMultipartUploads: (input, signal) =>
      retried(signal, async () => {
        const query: Record<string, string> = { uploads: '' };
        if (input.prefix) query['prefix'] = input.prefix;
        if (input.keyMarker !== undefined) query['key-marker'] = input.keyMarker;
        if (input.uploadIdMarker !== undefined) query['upload-id-marker'] = input.uploadIdMarker;
        const answer = await s3.send({ method: 'GET', bucket: input.bucket, query }, signal);
        return uploadPage(resultOf(answer.body, 'ListMultipartUploadsResult'));
      }),
    abortMultipartUpload: (input, signal) =>
      retried(signal, async () => {
        await s3.send(
          { method: 'DELETE', bucket: input.bucket, key: input.key, query: { uploadId: input.uploadId } },
          signal,
        );
      }),
    putBucketAcl: (bucket, acl, signal) =>
      retried(signal, async () => {
        await s3.send({ method: 'PUT', bucket, query: { acl: '' }, headers: { 'x-amz-acl': acl } }, signal);
      }),
  };
}

/** The answer's root element, which must be `name`. */
function resultOf(body: Buffer, name: string): XmlElement {
  const root = parseXml(body.toString('utf8'));
  if (root.name !== name) throw unexpectedRoot(name, root.name);
  return root;
}

const isTrue = (text: string | undefined) => text?.trim() === 'true';

function uploadPage(root: XmlElement): UploadPage {
  return {
    uploads: childrenNamed(root, 'Upload').flatMap((u) => {
      const key = childText(u, 'Key');
      const uploadId = childText(u, 'UploadId');
      if (key === undefined || uploadId === undefined) return [];
      return [{ key, uploadId, initiated: dateOf(childText(u, 'Initiated')) }];
    }),
    isTruncated: isTrue(childText(root, 'IsTruncated')),
    nextKeyMarker: childText(root, 'NextKeyMarker') || undefined,
    nextUploadIdMarker: childText(root, 'NextUploadIdMarker') || undefined,
  };
}
