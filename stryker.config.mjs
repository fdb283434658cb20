// Mutation testing of the pure modules against their fast tests: `npm run test:mutation`.
// Not part of CI (.ci/run): on 2 cores it takes longer than CI's 90 minutes allow. The survivors that
// remain are equivalent mutants, each named with why in stryker.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  mutate: [
    'src/template/url.ts',
    'src/deploy/plan.ts',
    'src/content/headers.ts',
    'src/template/router.ts',
    'src/content/fingerprint.ts',
    'src/config.ts',
    'src/settings.ts',
    'src/setting-checks.ts',
    'src/setting-strings.ts',
  ],
  coverageAnalysis: 'perTest',
  // A mutant in module-level code (the settings table, the encoders' regexes) runs while modules load, so
  // no test covers it alone and each would rerun every test: on 2 shared cores, hours. Ignored (reported
  // as such); the tests check those tables through the functions that use them.
  ignoreStatic: true,
  // Stryker rewrites tsconfig.json's paths through the TypeScript JS API, which TypeScript 7 (native)
  // no longer has; vitest compiles the sandbox's TypeScript itself, so no tsconfig is needed there.
  tsconfigFile: '',
  // The machine's 2 cores are shared; one test runner at a time.
  concurrency: 1,
  // Reruns test only the mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
