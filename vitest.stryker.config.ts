import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (stryker.config.mjs): the test files of the mutated modules,
// which need no S3 server, no browser and no child process, so no global setup. The whole suite is
// vitest.config.ts.
export default defineConfig({
  test: {
    include: [
      'test/config.test.ts',
      'test/fingerprint.test.ts',
      'test/headers.test.ts',
      'test/plan.test.ts',
      'test/router.test.ts',
      'test/settings.test.ts',
      'test/url.test.ts',
    ],
    testTimeout: 30_000,
    // Stryker runs each mutant's tests in one worker (its vitest runner picks the pool); without isolation
    // the modules are loaded once, not once per mutant: several times faster on a busy machine. Stryker
    // switches mutants at run time, so a loaded module serves every mutant.
    isolate: false,
    env: { NUNJUCKS_S3_CACHE_DIR: path.join(tmpdir(), 'nunjucks-s3-stryker-hash-cache') },
  },
});
