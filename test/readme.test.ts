// The README's configuration table is documentation users rely on: it must list every setting the code
// accepts, under both spellings, and nothing the code does not accept.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/config.js';
import { s3Backend } from './helpers/s3.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(repo, 'README.md'), 'utf8');
const CSS = 'body { color: rgb(1, 2, 3); }\n';

/** What points a README program at the suite's S3 server instead of AWS. */
function localStoreSettings(): Record<string, unknown> {
  const backend = s3Backend();
  return {
    endpointUrl: backend.endpoint,
    bucketDomain: new URL(backend.endpoint).host,
    urlStyle: 'path',
    useHttps: false,
    region: backend.region,
    accessKeyId: backend.accessKeyId,
    secretAccessKey: backend.secretAccessKey,
    putBucketAcl: false,
    objectAcl: backend.name === 'rgw' ? 'public-read' : 'none',
  };
}

/** The program as `app.mjs` (or the Eleventy config), the README's template, a stylesheet. */
function writeProject(project: string, code: string, template: string): void {
  const marker = 'config: {';
  expect(code.split(marker), 'one settings object to point at the local S3 server').toHaveLength(2);
  const pointed = code.replace(marker, `${marker} ...JSON.parse(process.env.README_S3_SETTINGS),`);
  const eleventy = /eleventyConfig/.test(code);
  writeFileSync(path.join(project, eleventy ? 'eleventy.config.mjs' : 'app.mjs'), pointed);
  mkdirSync(path.join(project, 'templates'));
  writeFileSync(path.join(project, eleventy ? 'index.njk' : 'templates/index.njk'), template);
  mkdirSync(path.join(project, 'static', 'css'), { recursive: true });
  writeFileSync(path.join(project, 'static', 'css', 'site.css'), CSS);
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, README_S3_SETTINGS: JSON.stringify(localStoreSettings()), ...extra };
}

/** The stylesheet and script URLs of a page. */
function assetUrls(html: string, base: string): string[] {
  return [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map(
    (m) => new URL(m[1] as string, base).href,
  );
}

/** Each asset loads with the right type; from the S3 server, gzipped, when the program uploaded. */
async function checkAssets(urls: string[], uploaded: boolean): Promise<void> {
  const s3Origin = new URL(s3Backend().endpoint).origin;
  for (const url of urls) {
    if (uploaded) expect(new URL(url).origin, url).toBe(s3Origin);
    const res = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
    expect(res.status, url).toBe(200);
    expect(res.headers.get('content-type'), url).toMatch(/^text\/css/);
    if (uploaded) expect(res.headers.get('content-encoding'), url).toBe('gzip');
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Runs app.mjs, waits for its page, checks the page's assets; the server is stopped either way. */
async function runServer(project: string, uploads: boolean): Promise<string[]> {
  const port = await freePort();
  const child = spawn(process.execPath, ['app.mjs'], { cwd: project, env: childEnv({ PORT: String(port) }) });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c;
  });
  const exit = exited(child);
  try {
    const page = `http://127.0.0.1:${port}/`;
    for (let waited = 0; ; waited += 100) {
      const res = await fetch(page).catch(() => undefined);
      if (res?.status === 200) {
        const urls = assetUrls(await res.text(), page);
        await checkAssets(urls, uploads);
        return urls;
      }
      const code = await Promise.race([exit, new Promise((r) => setTimeout(r, 100, 'running'))]);
      if (code !== 'running' || waited > 60_000) throw new Error(`app.mjs did not serve ${page}: ${stderr}`);
    }
  } finally {
    child.kill();
    await exit;
  }
}

/** Runs `npx @11ty/eleventy` in the project; checks the built page's assets. */
async function runEleventy(project: string): Promise<string[]> {
  const cli = path.join(repo, 'node_modules', '@11ty', 'eleventy', 'cmd.cjs');
  const child = spawn(process.execPath, [cli], { cwd: project, env: childEnv({}) });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c;
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c;
  });
  expect(await exited(child), output).toBe(0);
  const html = readFileSync(path.join(project, '_site', 'index.html'), 'utf8');
  const urls = assetUrls(html, 'http://localhost/');
  await checkAssets(urls, true);
  return urls;
}
const rows = readme.split('\n').filter((l) => /^\| `(FLASKS3|AWS)_[A-Z0-9_]+` \|/.test(l));

describe('README configuration table', () => {
  it.each(SETTINGS.map((s) => [s.flask, s.camel]))('documents %s as %s', (flask, camel) => {
    const row = rows.find((r) => r.startsWith(`| \`${flask}\` |`));
    expect(row, `no README row for ${flask}`).toBeDefined();
    expect(row).toContain(`| \`${camel}\` |`);
  });

  it('lists no setting the code does not accept', () => {
    const documented = rows.map((r) => /^\| `([A-Z0-9_]+)`/.exec(r)?.[1]);
    expect(documented.filter((n) => !SETTINGS.some((s) => s.flask === n))).toEqual([]);
  });
});

// Every README code block that is a program (a ```js block with an import) is run as a user would run it,
// in a fresh folder inside the repository (so `nunjucks-s3` resolves to this package, built in dist/),
// against the suite's S3 server; the page it serves or builds must link assets that load. The only
// change to the program: the settings that point it at the local S3 server are spread into its
// `config: {` object (a test may reach 127.0.0.1 only), before its own settings.
describe('README programs', () => {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const programs = blocks.filter((code) => /^import /m.test(code));
  const template = /```jinja\n(\{# templates\/index\.njk #\}\n[\s\S]*?)```/.exec(readme)?.[1];

  it('has programs and the template they render', () => {
    expect(programs.length).toBeGreaterThanOrEqual(4);
    expect(template).toContain("url_for('static', filename='css/site.css')");
  });

  it.each(programs.map((code) => [code.split('\n')[0] as string, code]))(
    '%s runs and links assets that load',
    async (_first, code) => {
      mkdirSync(path.join(repo, 'test-results'), { recursive: true });
      const project = mkdtempSync(path.join(repo, 'test-results', 'readme-'));
      try {
        writeProject(project, code, template as string);
        const urls = /eleventyConfig/.test(code)
          ? await runEleventy(project)
          : await runServer(project, /createAll\(/.test(code));
        expect(urls.length).toBeGreaterThan(0);
      } finally {
        rmSync(project, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
