// What an app that only renders loads: a fresh node process imports the built package, renders a
// template with url_for, and lists every module it loaded (ES modules through a loader hook that logs
// each resolved URL, CommonJS ones from require.cache). None may be the AWS SDK, globby, cli-progress
// or the CLI. The package is built from the current sources into a throwaway folder first.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEPLOY_PACKAGES = /\/node_modules\/(@aws-sdk\/|@smithy\/|globby\/|cli-progress\/)/;

// Logs every URL the ES module loader resolves, to the parent's `resolved` list.
const HOOK = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
globalThis.resolved = [];
port1.on('message', (url) => globalThis.resolved.push(url));
port1.unref();
const hooks = 'let port; export function initialize(data) { port = data.port; }' +
  'export async function resolve(specifier, context, next) {' +
  '  const result = await next(specifier, context); port.postMessage(result.url); return result; }';
register('data:text/javascript,' + encodeURIComponent(hooks), import.meta.url, {
  data: { port: port2 },
  transferList: [port2],
});
`;

// Imports the package, renders, and prints what it rendered and what was loaded.
const RENDER = `
import { createRequire } from 'node:module';
import nunjucks from 'nunjucks';
const { NunjucksS3 } = await import(process.env.PACKAGE_URL);
const env = new nunjucks.Environment();
new NunjucksS3({ env, config: { FLASKS3_BUCKET_NAME: 'assets' } });
const html = env.renderString("<link href=\\"{{ url_for('static', filename='css/a.css', v=2) }}\\">", {});
await new Promise((resolve) => setTimeout(resolve, 50)); // the hook's last messages
const cjs = Object.keys(createRequire(import.meta.url).cache);
process.stdout.write(JSON.stringify({ html, esm: globalThis.resolved, cjs }));
`;

let work: string;
let dist: string;

beforeAll(() => {
  const cache = path.join(REPO, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  // Inside the repository, so that the build resolves nunjucks from node_modules like an installed package.
  work = mkdtempSync(path.join(cache, 'nunjucks-s3-render-loads-'));
  dist = path.join(work, 'dist');
  const tsc = path.join(REPO, 'node_modules/.bin/tsc');
  const build = spawnSync(tsc, ['-p', 'tsconfig.build.json', '--outDir', dist], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  writeFileSync(path.join(work, 'hook.mjs'), HOOK);
  // The app's static folder (the plugin checks that it exists); render.mjs runs with cwd = work.
  mkdirSync(path.join(work, 'static/css'), { recursive: true });
  writeFileSync(path.join(work, 'static/css/a.css'), 'a {}');
  writeFileSync(path.join(work, 'render.mjs'), RENDER);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('an app that only renders', () => {
  it('loads neither the AWS SDK, globby, cli-progress nor the CLI', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', path.join(work, 'hook.mjs'), path.join(work, 'render.mjs')],
      {
        cwd: work,
        encoding: 'utf8',
        env: { ...process.env, PACKAGE_URL: pathToFileURL(path.join(dist, 'index.js')).href },
      },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { html, esm, cjs } = JSON.parse(run.stdout) as { html: string; esm: string[]; cjs: string[] };
    expect(html).toBe('<link href="https://assets.s3.amazonaws.com/static/css/a.css?v=2">');

    const loaded = [...esm.map((u) => (u.startsWith('file:') ? fileURLToPath(u) : u)), ...cjs];
    // The lists are real: they hold the package's own modules and nunjucks (CommonJS).
    expect(loaded).toContain(path.join(dist, 'template/plugin.js'));
    expect(cjs.some((f) => f.includes('/node_modules/nunjucks/'))).toBe(true);

    expect(loaded.filter((f) => DEPLOY_PACKAGES.test(f))).toEqual([]);
    expect(loaded.filter((f) => f.startsWith(path.join(dist, 'cli') + path.sep))).toEqual([]);
    expect(loaded).not.toContain(path.join(dist, 'deploy/upload.js'));
  });
});
