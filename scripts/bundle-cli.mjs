// The CLI as a few files: after tsc has built <dist>, dist/cli/main.js and the modules of the package it
// imports are joined into dist/cli/main.js, with what only one command needs (the deploy, the templates,
// verify) in chunks beside it (dist/cli/bundle-*.js) that the command loads when it runs. Resolving and
// loading some 70 ES modules one by one cost an unchanged re-deploy about 35 ms of its node process
// (bench/import-cost.ts and the unchanged re-deploy rows of `npm run bench` show it).
// Packages in node_modules stay outside, loaded as before: the AWS SDK still only when a deploy needs it
// (src/s3/sdk.ts). The rest of dist/ stays as tsc wrote it, for the library's users.
//
// Usage: node scripts/bundle-cli.mjs [dist folder, default dist]

import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const dist = path.resolve(process.argv[2] ?? 'dist');
const cli = path.join(dist, 'cli');
const entry = path.join(cli, 'main.js');

await build({
  entryPoints: [entry],
  outdir: cli,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'bundle-[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  // Names as written (esbuild renames clashing ones otherwise): class and function names show in messages.
  keepNames: true,
  // tsc's source maps of the joined files are read and chained: traces still point into src/.
  // The maps name the sources (shipped in src/) rather than copy them, as tsc's maps do.
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
});

// What tsc wrote for dist/cli/ is in the bundle now: nothing imports it, so it is not shipped twice.
for (const file of readdirSync(cli)) {
  if (!/^(main|bundle-.*)\.js(\.map)?$/.test(file)) rmSync(path.join(cli, file));
}
