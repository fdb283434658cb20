// The packed tarball installed as a host app pinned to nunjucks 3.2.3 installs it: one copy of nunjucks
// (a peer), stack traces under --enable-source-maps that name files the package ships, `require()` from
// CommonJS, an install that --engine-strict accepts on this Node, a CLI run whose stderr is free of
// the AWS SDK's NodeVersionSupportWarning (while other warnings still show), and a CloudFront distribution
// set without its optional client installed: refused before anything is uploaded.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filesBelow,
  INSTALL_TIMEOUT,
  installProject,
  type PackedWork,
  packTarball,
  repo,
} from '../helpers/consumer.js';
import { freshBucket, testClient } from '../helpers/s3.js';
import { cliEnv, s3Settings } from '../helpers/upload-check.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node <args>` in `cwd`, to its end. */
function node(args: readonly string[], cwd: string, env: Record<string, string> = cliEnv()): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const nodeMajor = Number(process.versions.node.split('.')[0]);

describe('the packed tarball in a host pinned to nunjucks 3.2.3', () => {
  let packed: PackedWork;
  let project: string;
  let installed: string;

  beforeAll(async () => {
    packed = await packTarball('packaging');
    project = await installProject(packed.work, 'host', [packed.tarball, 'nunjucks@3.2.3']);
    installed = path.join(project, 'node_modules', 'nunjucks-s3');
  }, INSTALL_TIMEOUT);

  afterAll(() => packed?.remove());

  it('has one nunjucks, the host’s: nunjucks is a peer dependency', () => {
    const copies = filesBelow(path.join(project, 'node_modules'))
      .filter((f) => f.endsWith(`${path.sep}nunjucks${path.sep}package.json`))
      .map((f) => JSON.parse(readFileSync(f, 'utf8')).version);
    expect(copies).toEqual(['3.2.3']);
    const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(pkg.peerDependencies).toEqual({
      '@aws-sdk/client-cloudfront': expect.any(String),
      nunjucks: '>=3.2.3 <4',
    });
    // CloudFront's client is for CloudFront users only: an optional peer, never installed with the package.
    expect(pkg.peerDependenciesMeta).toEqual({ '@aws-sdk/client-cloudfront': { optional: true } });
    expect(existsSync(path.join(installed, '..', '@aws-sdk', 'client-cloudfront'))).toBe(false);
    expect(pkg.dependencies.nunjucks).toBeUndefined();
  });

  it('ships every source a source map names', () => {
    const maps = filesBelow(path.join(installed, 'dist')).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(20);
    const missing = maps.flatMap((map) =>
      (JSON.parse(readFileSync(map, 'utf8')).sources as string[])
        .map((s) => path.resolve(path.dirname(map), s))
        .filter((s) => !existsSync(s)),
    );
    expect(missing).toEqual([]);
  });

  it('--enable-source-maps: a stack trace names .ts files that exist in the installed package', async () => {
    const script = path.join(project, 'trace.mjs');
    writeFileSync(
      script,
      "import { resolveConfig } from 'nunjucks-s3';\n" +
        "try { resolveConfig({ FLASKS3_GZIP: 'yes' }); } catch (e) { console.log(e.stack); }\n",
    );
    const { code, stdout } = await node(['--enable-source-maps', script], project);
    expect(code).toBe(0);
    expect(stdout).toMatch(/FLASKS3_GZIP/);
    const named = [...stdout.matchAll(/(\/[^\s():]*\/node_modules\/nunjucks-s3\/[^\s():]+):\d+:\d+/g)].map(
      (m) => m[1] as string,
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.every((f) => f.endsWith('.ts'))).toBe(true);
    expect(named.filter((f) => !existsSync(f))).toEqual([]);
  });

  it('require() from CommonJS loads both entry points and renders a url_for, with nothing on stderr', async () => {
    const script = path.join(project, 'render.cjs');
    mkdirSync(path.join(project, 'static', 'css'), { recursive: true });
    writeFileSync(path.join(project, 'static', 'css', 'a.css'), 'a {}\n');
    writeFileSync(
      script,
      [
        "const nunjucks = require('nunjucks');",
        "const { NunjucksS3 } = require('nunjucks-s3');",
        "const eleventy = require('nunjucks-s3/eleventy');",
        'const env = new nunjucks.Environment();',
        "new NunjucksS3({ env, root: __dirname, config: { FLASKS3_BUCKET_NAME: 'assets' } });",
        "console.log(env.renderString(\"{{ url_for('static', filename='css/a.css') }}\", {}));",
        'console.log(typeof eleventy.default);',
      ].join('\n'),
    );
    const ran = await node([script], project);
    expect(ran).toEqual({
      code: 0,
      stdout: 'https://assets.s3.amazonaws.com/static/css/a.css\nfunction\n',
      stderr: '',
    });
  });

  it('require() on a Node that cannot require ES modules fails with an error saying to use import()', async () => {
    const script = path.join(project, 'plain.cjs');
    writeFileSync(script, "require('nunjucks-s3');\n");
    const { code, stderr } = await node(['--no-experimental-require-module', script], project);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/ERR_REQUIRE_ESM/);
    expect(stderr).toMatch(/dynamic import\(\)/);
  });

  it('declares the Node range the README states, and this Node is in it (the install was --engine-strict)', () => {
    const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(pkg.engines).toEqual({ node: '^20.19.0 || >=22.12.0' });
    expect(readFileSync(path.join(repo, 'README.md'), 'utf8')).toContain('`^20.19.0 || >=22.12.0`');
  });

  it('the CLI prints no NodeVersionSupportWarning, and other warnings still', async () => {
    const site = path.join(project, 'site');
    mkdirSync(path.join(site, 'static'), { recursive: true });
    writeFileSync(path.join(site, 'static', 'a.css'), 'a { color: red }\n');
    const bucket = await freshBucket('pkg-cli');
    writeFileSync(
      path.join(site, 'nunjucks-s3.config.json'),
      JSON.stringify({ config: s3Settings(bucket, undefined, { FLASKS3_PUT_BUCKET_ACL: false }) }),
    );
    // Another warning, emitted once the CLI is running: the filter must let it through.
    const other = path.join(project, 'other-warning.mjs');
    writeFileSync(other, "setImmediate(() => process.emitWarning('still shown', 'OtherWarning'));\n");
    const cli = path.join(installed, 'dist', 'cli', 'main.js');

    const quiet = await node([cli, 'upload', '-q'], site);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    const body = await testClient().send(new GetObjectCommand({ Bucket: bucket, Key: 'static/a.css' }));
    expect(await body.Body?.transformToString()).toBe('a { color: red }\n');

    const loud = await node(['--import', other, cli, 'upload'], site);
    expect(loud.code).toBe(0);
    expect(loud.stderr).not.toMatch(/NodeVersionSupportWarning|January 2027/);
    expect(loud.stderr).toMatch(/OtherWarning: still shown/);
  });

  it('a CloudFront distribution without @aws-sdk/client-cloudfront installed: exit 2 naming the setting and the fix, nothing uploaded', async () => {
    // The host installed the tarball alone: the optional peer is not there (the first test checks it).
    const site = path.join(project, 'cdn-site');
    mkdirSync(path.join(site, 'static'), { recursive: true });
    writeFileSync(path.join(site, 'static', 'a.css'), 'a { color: red }\n');
    const bucket = await freshBucket('pkg-cdn');
    const config = s3Settings(bucket, undefined, {
      FLASKS3_PUT_BUCKET_ACL: false,
      FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: 'E2EXAMPLE',
    });
    writeFileSync(path.join(site, 'nunjucks-s3.config.json'), JSON.stringify({ config }));
    const fix = 'npm install @aws-sdk/client-cloudfront';

    const cli = await node([path.join(installed, 'dist', 'cli', 'main.js'), 'upload'], site);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('FLASKS3_CLOUDFRONT_DISTRIBUTION_ID');
    expect(cli.stderr).toContain(fix);
    expect(cli.stdout).toBe('');

    // The library says the same, as a ConfigError a program can branch on.
    const script = path.join(site, 'deploy.mjs');
    writeFileSync(
      script,
      "import { createAll } from 'nunjucks-s3';\n" +
        `createAll({ root: import.meta.dirname, config: ${JSON.stringify(config)} }).then(\n` +
        "  () => console.log('uploaded'),\n" +
        '  (e) => console.log(JSON.stringify({ name: e.name, code: e.code, setting: e.setting, message: e.message })),\n' +
        ');\n',
    );
    const lib = await node([script], site);
    const err = JSON.parse(lib.stdout) as Record<string, string>;
    expect(err).toMatchObject({ name: 'ConfigError', code: 'CONFIG_CDN' });
    expect(err.setting).toContain('FLASKS3_CLOUDFRONT_DISTRIBUTION_ID');
    expect(err.message).toContain(fix);

    // Refused before any request: not a file, not the deploy's own record or lease, in the bucket.
    const listed = await testClient().send(new ListObjectsCommand({ Bucket: bucket }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  it.runIf(nodeMajor < 22)(
    '(this Node does get the warning from the SDK itself, outside the CLI)',
    async () => {
      const script = path.join(project, 'sdk.cjs');
      writeFileSync(
        script,
        "const { S3Client } = require('@aws-sdk/client-s3'); new S3Client({ region: 'us-east-1' });\n",
      );
      const { stderr } = await node([script], project);
      expect(stderr).toMatch(/NodeVersionSupportWarning/);
    },
  );
});
