// Where the upload record lives: one object in the bucket, read with one GET and written whole with one
// PUT. Everything else of the deploy reaches the stored record only through readRecord and writeRecord.

import type { S3Client } from '@aws-sdk/client-s3';
import { errorCode, httpStatus } from '../s3/errors.js';
import { s3Sdk } from '../s3/sdk.js';
import { parseRecord, recordKey, serializeRecord, type UploadRecord } from './record.js';

/** What reading the record found. */
export type RecordRead =
  | { status: 'found'; record: UploadRecord }
  | { status: 'missing' }
  | { status: 'no-bucket' }
  /** The record could not be used; `problem` says why (the upload goes on as if there were none). */
  | { status: 'unusable'; problem: string; cause?: unknown };

/**
 * GET the record: one request. Distinguishes a missing record (NoSuchKey) from a missing bucket
 * (NoSuchBucket), so an unchanged re-deploy needs no HeadBucket. Other errors are thrown, except
 * AccessDenied (a key without s3:ListBucket gets it for a missing object too), which is `unusable`.
 */
export async function readRecord(
  client: S3Client,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<RecordRead> {
  let text: string;
  try {
    const out = await client.send(
      new (s3Sdk().GetObjectCommand)({ Bucket: bucket, Key: recordKey(prefix) }),
      {
        abortSignal: signal,
      },
    );
    text = (await out.Body?.transformToString('utf8')) ?? '';
  } catch (err) {
    const code = errorCode(err);
    if (code === 'NoSuchBucket') return { status: 'no-bucket' };
    if (code === 'NoSuchKey' || (httpStatus(err) === 404 && code !== 'NoSuchBucket'))
      return { status: 'missing' };
    if (code === 'AccessDenied')
      return { status: 'unusable', problem: 'reading it was denied (AccessDenied)', cause: err };
    throw err;
  }
  const parsed = parseRecord(text, bucket, prefix);
  return 'record' in parsed
    ? { status: 'found', record: parsed.record }
    : { status: 'unusable', problem: parsed.problem };
}

/** PUT the record (private: no ACL; never cached). */
export async function writeRecord(
  client: S3Client,
  record: UploadRecord,
  signal?: AbortSignal,
): Promise<void> {
  await client.send(
    new (s3Sdk().PutObjectCommand)({
      Bucket: record.bucket,
      Key: recordKey(record.prefix),
      Body: serializeRecord(record),
      ContentType: 'application/json; charset=utf-8',
      CacheControl: 'no-store',
    }),
    { abortSignal: signal },
  );
}
