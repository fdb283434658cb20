// abortAbandonedUploads (src/deploy/state/multipart-janitor.ts) against the real S3 server of the run:
// on a server that lists incomplete uploads (RGW), exactly the app's old uploads are aborted, another
// app's and recent ones are kept; on s3rver (ListMultipartUploads is 501) it says it could do nothing.
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { abortAbandonedUploads, listIncompleteUploads } from '../src/deploy/state/multipart-janitor.js';
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
