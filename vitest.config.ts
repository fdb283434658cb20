import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// One suite. Tests that need S3 call s3Backend() (test/helpers/s3.ts); the global setup starts an
// embedded s3rver on a random loopback port, or, with S3_BACKEND=rgw, uses the Ceph RGW that
// scripts/rgw.sh started (S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in the environment).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // createAll's hash cache (src/hash-cache.ts) goes here, not into node_modules/.cache of the project.
    env: { NUNJUCKS_S3_CACHE_DIR: path.join(tmpdir(), 'nunjucks-s3-test-hash-cache') },
  },
});
