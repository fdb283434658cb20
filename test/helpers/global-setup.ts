// Starts the S3 server the integration tests talk to, once per run: an embedded s3rver on a random
// loopback port (the default), or the Ceph RGW named by S3_ENDPOINT when S3_BACKEND=rgw.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { TestProject } from 'vitest/node';
import { keepFoldersOfDeletedObjects } from '../../examples/tools/s3rver-folders.mjs';
import type { S3BackendInfo } from './s3.js';

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3BackendInfo;
  }
}

/** Where vitest.config.ts points createAll's hash cache; emptied when the run ends. */
const HASH_CACHE = path.join(tmpdir(), 'nunjucks-s3-test-hash-cache');
const removeHashCache = () => rmSync(HASH_CACHE, { recursive: true, force: true });

export default async function setup(project: TestProject) {
  const backend = process.env.S3_BACKEND ?? 's3rver';
  if (backend === 'rgw') {
    const endpoint = process.env.S3_ENDPOINT;
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!endpoint || !accessKeyId || !secretAccessKey) {
      throw new Error(
        'S3_BACKEND=rgw needs S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (start it with scripts/rgw.sh start)',
      );
    }
    const u = new URL(endpoint);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
      throw new Error(`refusing non-loopback S3_ENDPOINT ${endpoint}`);
    project.provide('s3', {
      name: 'rgw',
      endpoint,
      accessKeyId,
      secretAccessKey,
      region: process.env.AWS_REGION ?? 'us-east-1',
    });
    return removeHashCache;
  }
  if (backend !== 's3rver') throw new Error(`S3_BACKEND must be s3rver or rgw, got ${backend}`);
  const directory = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-test-'));
  const server = keepFoldersOfDeletedObjects(
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory }),
  );
  const stopSurvivingServerErrors = surviveServerErrors(directory);
  const { port } = (await server.run()) as { port: number };
  project.provide('s3', {
    name: 's3rver',
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
  });
  return async () => {
    await server.close();
    stopSurvivingServerErrors();
    rmSync(directory, { recursive: true, force: true });
    removeHashCache();
  };
}

/**
 * s3rver runs in this process, vitest's main one, where an error it leaves unhandled would end the run
 * before the report is written. An error about a file in s3rver's folder is printed and the run goes on:
 * the test whose request it was fails on its own (a missing object, a request that times out). Any other
 * uncaught error ends the process as it would have. Returns the function that stops this.
 */
function surviveServerErrors(directory: string): () => void {
  const onUncaught = (err: Error & { path?: unknown }) => {
    if (typeof err.path === 'string' && err.path.startsWith(directory + path.sep)) {
      console.error(`embedded s3rver: an error it left unhandled, the run goes on: ${err.stack ?? err}`);
      return;
    }
    console.error(err);
    process.exit(1);
  };
  process.on('uncaughtException', onUncaught);
  return () => process.off('uncaughtException', onUncaught);
}
