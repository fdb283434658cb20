// A kill during a multipart upload: the CLI is killed with SIGKILL while the parts of a large file are on
// their way (the fault proxy holds each part's answer). The next run, to completion, must leave no
// incomplete multipart upload of this app behind (ListMultipartUploads), must not touch another app's
// incomplete upload in the same bucket, and every URL must serve the local bytes.
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { type FaultProxy, faults, startFaultProxy } from '../helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from '../helpers/s3.js';
import {
  describeWrong,
  makeVersions,
  sleep,
  trustSeed,
  writeCliConfig,
  wrongUrls,
} from '../helpers/trust.js';
import { ownStderr, removeTemps, runCli, s3Env, startCli } from '../helpers/upload-check.js';

const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies.splice(0)) await p.close();
  removeTemps();
});

const SETTINGS = { FLASKS3_MULTIPART_THRESHOLD: 5 * 1024 * 1024 };

/** Incomplete multipart uploads in the bucket as `key` strings, or why the server cannot list them. */
async function incompleteUploads(bucket: string): Promise<{ keys: string[] } | { unsupported: string }> {
  try {
    const out = await testClient().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return { keys: (out.Uploads ?? []).map((u) => u.Key!).sort() };
  } catch (err) {
    const e = err as { $metadata?: { httpStatusCode?: number }; name?: string };
    if (e.$metadata?.httpStatusCode === 501) return { unsupported: `${e.name} (HTTP 501)` };
    throw err;
  }
}

describe('SIGKILL during a multipart upload', () => {
  it("the next run aborts this app's abandoned upload, keeps another app's, and serves every URL right", async () => {
    const seed = trustSeed();
    const [site] = makeVersions({ seed, count: 1, files: 20, largeBytes: 12 * 1024 * 1024, label: 'mpu' });
    const bucket = await freshBucket('trust-mpu');
    const client = testClient();
    // Another app's upload in progress under its own prefix: not this app's to abort.
    const other = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'other-app/big.bin' }),
    );

    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      rules: [{ method: 'PUT', query: 'partNumber', fault: faults.delay(5000) }],
    });
    proxies.push(proxy);
    writeCliConfig(site!, bucket, SETTINGS, proxy.url);
    const { child, done } = startCli(['upload', '--quiet'], { cwd: site!.root, env: s3Env() });
    const started = Date.now();
    while (
      !proxy.log.some((e) => e.method === 'PUT' && e.url.includes('partNumber')) &&
      Date.now() - started < 60_000
    )
      await sleep(50);
    await sleep(300);
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal, `the CLI was to be killed during its parts (TRUST_SEED=${seed})`).toBe('SIGKILL');

    writeCliConfig(site!, bucket, SETTINGS);
    const rerun = await runCli(['upload', '--only-modified', '--quiet'], { cwd: site!.root, env: s3Env() });
    expect(rerun.code, ownStderr(rerun.stderr)).toBe(0);
    const wrong = await wrongUrls(site!, bucket);
    expect(wrong, describeWrong('after a kill during a multipart upload and a rerun', wrong, seed)).toEqual(
      [],
    );

    const uploads = await incompleteUploads(bucket);
    if ('keys' in uploads) {
      // The server lists incomplete uploads (RGW, AWS): exactly the other app's is left.
      expect(uploads.keys, `incomplete multipart uploads left (TRUST_SEED=${seed})`).toEqual([
        'other-app/big.bin',
      ]);
    } else {
      // s3rver answers ListMultipartUploads with 501: nothing to observe there beyond the URLs above.
      expect(s3Backend().name, `ListMultipartUploads: ${uploads.unsupported}`).toBe('s3rver');
    }
    await client
      .send(
        new AbortMultipartUploadCommand({
          Bucket: bucket,
          Key: 'other-app/big.bin',
          UploadId: other.UploadId,
        }),
      )
      .catch(() => undefined);
  }, 120_000);
});
