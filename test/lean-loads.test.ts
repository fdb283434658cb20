// What a deploy on the lean path loads: the built CLI, run in a fresh node against the test server, for
// a first deploy of small files and for an unchanged re-deploy, lists every module it loaded (ES modules
// through a loader hook that logs each resolved URL, CommonJS ones from require.cache at exit). None may
// be the AWS SDK (@aws-sdk/*, @smithy/*). With credentials only the SDK's chain knows (a shared
// credentials file), the same deploy goes through the SDK, and the list shows it loaded: the check is real.
// The package is built from the current sources into a throwaway folder first, the CLI bundled as
// `npm run build` does.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshBucket, s3Backend } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  ownStderr,
  removeTemps,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SDK = /\/node_modules\/(@aws-sdk|@smithy)\//;

// Appends every URL the ES module loader resolves to LOADS_FILE (the hooks run on their own thread).
const HOOK = `
import { register } from 'node:module';
const hooks = 'import { appendFileSync } from "node:fs";' +
  'export async function resolve(specifier, context, next) {' +
  '  const result = await next(specifier, context);' +
  '  appendFileSync(process.env.LOADS_FILE, result.url + "\\\\n"); return result; }';
register('data:text/javascript,' + encodeURIComponent(hooks), import.meta.url);
`;

// At exit, appends every CommonJS module loaded (the SDK is loaded through require: src/s3/sdk.ts).
const AT_EXIT = `
process.on('exit', () => {
  require('node:fs').appendFileSync(process.env.LOADS_FILE, Object.keys(require.cache).join('\\n') + '\\n');
});
`;

let work: string;
let dist: string;

beforeAll(() => {
  const cache = path.join(REPO, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  // Inside the repository, so that the build resolves its dependencies from node_modules.
  work = mkdtempSync(path.join(cache, 'nunjucks-s3-lean-loads-'));
  dist = path.join(work, 'dist');
  const tsc = path.join(REPO, 'node_modules/.bin/tsc');
  const build = spawnSync(tsc, ['-p', 'tsconfig.build.json', '--outDir', dist], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  // The CLI as `npm run build` ships it: joined into a few files (scripts/bundle-cli.mjs).
  const bundle = spawnSync(process.execPath, [path.join(REPO, 'scripts/bundle-cli.mjs'), dist], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (bundle.status !== 0) throw new Error(`bundle failed: ${bundle.stdout}${bundle.stderr}`);
  writeFileSync(path.join(work, 'hook.mjs'), HOOK);
  writeFileSync(path.join(work, 'at-exit.cjs'), AT_EXIT);
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  removeTemps();
});

/** Run `upload --json` of the site in `root` with `env` (no other AWS_* variable); what it loaded. */
function upload(root: string, env: Record<string, string>) {
  const loadsFile = path.join(root, `loads-${Date.now()}.txt`);
  writeFileSync(loadsFile, '');
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      path.join(work, 'hook.mjs'),
      '--require',
      path.join(work, 'at-exit.cjs'),
      path.join(dist, 'cli/main.js'),
      'upload',
      '--json',
      '--config',
      path.join(root, 'site.json'),
    ],
    { cwd: root, encoding: 'utf8', env: { ...clean, ...env, LOADS_FILE: loadsFile } },
  );
  const loaded = readFileSync(loadsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((u) => (u.startsWith('file:') ? fileURLToPath(u) : u));
  return { run, loaded, report: run.status === 0 ? JSON.parse(run.stdout) : undefined };
}

/** A site of 30 small files, its config naming the test server and `bucket`. */
function site(bucket: string): string {
  const root = tempDir('lean-loads');
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) files[`static/d${i % 3}/f ${i}+.css`] = `.f${i} { color: #${i}${i}${i} }\n`;
  writeFiles(root, files);
  writeFileSync(
    path.join(root, 'site.json'),
    JSON.stringify({
      root,
      config: {
        bucketName: bucket,
        endpointUrl: s3Backend().endpoint,
        region: s3Backend().region,
        onlyModified: true,
      },
    }),
  );
  return root;
}

describe('a deploy on the lean path', () => {
  it('loads no @aws-sdk or @smithy module, for a first deploy of small files and for an unchanged re-deploy', async () => {
    const bucket = await freshBucket('lean-loads');
    const root = site(bucket);
    const s3 = s3Backend();
    const env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };

    const first = upload(root, env);
    // The bucket ACL goes the lean way too; s3rver implements no PutBucketAcl (a warning, as through the SDK).
    if (s3.name === 'rgw') expect(ownStderr(first.run.stderr)).toBe('');
    else expect(ownStderr(first.run.stderr)).toMatch(/^warning: putBucketAcl .*NotImplemented \(HTTP 501\)/);
    expect(first.run.status).toBe(0);
    expect(first.report.uploaded).toHaveLength(30);
    // The lists are real: they hold the CLI and the chunk of the bundle that deploys (lean path included).
    expect(first.loaded).toContain(path.join(dist, 'cli/main.js'));
    expect(first.loaded.filter((f) => /[\\/]cli[\\/]bundle-upload-\w+\.js$/.test(f))).toHaveLength(1);
    expect(first.loaded.filter((f) => SDK.test(f))).toEqual([]);
    await expectBucketMatches({ bucket, expected: expectedKeys(path.join(root, 'static'), 'static') });

    const again = upload(root, env);
    expect(again.run.status).toBe(0);
    expect(again.report.uploaded).toEqual([]);
    expect(again.report.skipped).toHaveLength(30);
    expect(again.loaded.filter((f) => SDK.test(f))).toEqual([]);
  }, 120_000);

  it('goes through the SDK, and loads it, when only its credential chain knows the credentials', async () => {
    const bucket = await freshBucket('sdk-loads');
    const root = site(bucket);
    const s3 = s3Backend();
    const credentials = path.join(root, 'credentials');
    writeFileSync(
      credentials,
      `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`,
    );
    const config = path.join(root, 'aws-config');
    writeFileSync(config, '');
    const viaSdk = upload(root, { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config });
    expect(viaSdk.run.status).toBe(0);
    expect(viaSdk.report.uploaded).toHaveLength(30);
    expect(viaSdk.loaded.some((f) => f.includes('/node_modules/@aws-sdk/client-s3/'))).toBe(true);
    await expectBucketMatches({ bucket, expected: expectedKeys(path.join(root, 'static'), 'static') });
  }, 120_000);
});
