// The S3 server a test talks to (see global-setup.ts), a client for it, and fresh buckets per test.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { LeanS3 } from '../../src/s3/lean/lean-client.js';
import { leanStore } from '../../src/s3/lean/lean-store.js';

export interface S3BackendInfo {
  name: 's3rver' | 'rgw';
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export function s3Backend(): S3BackendInfo {
  return inject('s3');
}

/** A client for the test server, with the options S3-compatible stores need. */
export function testClient(info = s3Backend()): S3Client {
  return new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A bucket name no other test uses. */
export function uniqueBucket(label = 't'): string {
  return `${label}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
}

/** Create a fresh bucket on the test server and return its name. */
export async function freshBucket(label?: string, client = testClient()): Promise<string> {
  const bucket = uniqueBucket(label);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** The lean object store (src/s3/lean/) for the test server, as createAll builds it from the settings. */
export function testStore(info = s3Backend(), options: { endpoint?: string; maxAttempts?: number } = {}) {
  const lean = new LeanS3({
    endpoint: new URL(options.endpoint ?? info.endpoint),
    region: info.region,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    maxSockets: 16,
    connectionTimeout: 10_000,
    socketTimeout: 60_000,
  });
  return leanStore(lean, options.maxAttempts ?? 3);
}
