// abortAbandonedUploads (src/deploy/state/multipart-janitor.ts) against the real S3 server of the run:
// on a server that lists incomplete uploads (RGW), exactly the app's old uploads are aborted, another
// app's and recent ones are kept; on s3rver (ListMultipartUploads is 501) it says it could do nothing.
// And through createAll: an upload of a key the app's record owns is aborted though no local file and no
// generation names it any more.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { abortAbandonedUploads, listIncompleteUploads } from '../src/deploy/state/multipart-janitor.js';
import { createAll } from '../src/deploy/upload.js';
import { freshBucket, s3Backend, testClient, testStore } from './helpers/s3.js';

const client = testClient();
const store = testStore();

describe('abortAbandonedUploads', () => {
  it("aborts only this app's uploads initiated before the cut-off", async () => {
    const bucket = await freshBucket('state-mpu');
    const start = async (Key: string) =>
      (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }))).UploadId!;
    const mine = await start('static/big.bin');
    const notOwned = await start('static/someone-elses.bin');
    const otherApp = await start('other/big.bin');
    const owned = new Set(['static/big.bin', 'static/late.bin']);
    const options = { store, bucket, prefixes: ['static/'], owns: (k: string) => owned.has(k) };

    // A cut-off before every upload: nothing is old enough.
    const early = await abortAbandonedUploads({ ...options, initiatedBefore: new Date(0) });
    if (!early.supported) {
      expect(s3Backend().name).toBe('s3rver');
      expect(await listIncompleteUploads(store, bucket, '')).toBeUndefined();
      // s3rver cannot abort either (AbortMultipartUpload answers 405): the bucket is left as it is.
      return;
    }
    expect(early.aborted).toEqual([]);

    const report = await abortAbandonedUploads({
      ...options,
      initiatedBefore: new Date(Date.now() + 3_600_000),
    });
    expect(report.aborted.map((u) => u.uploadId)).toEqual([mine]);
    expect(report.kept.map((u) => u.key)).toEqual(['static/someone-elses.bin']);
    const left = (await listIncompleteUploads(store, bucket, ''))!.map((u) => u.uploadId).sort();
    expect(left).toEqual([notOwned, otherApp].sort());
  });
});

describe("createAll's janitor", () => {
  it("aborts an old upload of a key the record owns, with its file gone; keeps one of a key it doesn't", async () => {
    const bucket = await freshBucket('janitor-record');
    const root = mkdtempSync(path.join(tmpdir(), 'janitor-record-'));
    try {
      cpSync(path.resolve(import.meta.dirname, 'fixtures/site'), root, { recursive: true });
      const backend = s3Backend();
      const app: AppLike = {
        root,
        config: {
          FLASKS3_BUCKET_NAME: bucket,
          FLASKS3_ENDPOINT_URL: backend.endpoint,
          FLASKS3_REGION: backend.region,
          FLASKS3_ONLY_MODIFIED: true,
          AWS_ACCESS_KEY_ID: backend.accessKeyId,
          AWS_SECRET_ACCESS_KEY: backend.secretAccessKey,
        },
      };
      const quiet = { warn: () => {} };
      await createAll(app, { logger: quiet });
      // The file goes; its key stays the record's. An upload of it, as a killed deploy whose generation
      // is gone would leave, and one of a key this app never had.
      rmSync(path.join(root, 'static/css/app.css'));
      const start = async (Key: string) =>
        (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }))).UploadId!;
      await start('static/css/app.css');
      const notOwned = await start('static/someone-elses.bin');
      if ((await listIncompleteUploads(store, bucket, '')) === undefined) {
        expect(s3Backend().name).toBe('s3rver');
        return;
      }
      await createAll(app, { logger: quiet });
      const left = (await listIncompleteUploads(store, bucket, ''))!;
      expect(left.map((u) => [u.key, u.uploadId])).toEqual([['static/someone-elses.bin', notOwned]]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
