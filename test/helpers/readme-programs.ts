// README programs, run as a user would run them: the README's ```js blocks that are programs (they
// import something), the template they render, and a runner for each kind (a server answering on PORT,
// an Eleventy config built by Eleventy's CLI) that checks the assets of the page against the suite's S3
// server. The only change to a program: the settings that point it at that server (a test may reach
// 127.0.0.1 only) are spread into its `config: {` object, before its own settings.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';
import { s3Backend } from './s3.js';

/** The README's programs and the `templates/index.njk` they render. */
export function readmePrograms(readme: string): { programs: string[]; template: string | undefined } {
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return {
    programs: blocks.filter((code) => /^import /m.test(code)),
    template: /```jinja\n(\{# templates\/index\.njk #\}\n[\s\S]*?)```/.exec(readme)?.[1],
  };
}

// Long enough for gzip to make it smaller: gzip is kept only then (src/deploy/send-object.ts).
const CSS = `body { color: rgb(1, 2, 3); }\n${'p { margin: 0; }\n'.repeat(8)}`;

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
export function writeProject(project: string, code: string, template: string): void {
  const marker = 'config: {';
  expect(code.split(marker), 'one settings object to point at the local S3 server').toHaveLength(2);
  const pointed = code.replace(marker, `${marker} ...JSON.parse(process.env.README_S3_SETTINGS),`);
  const eleventy = /eleventyConfig/.test(code);
  writeFileSync(path.join(project, eleventy ? 'eleventy.config.mjs' : 'app.mjs'), pointed);
  mkdirSync(path.join(project, 'templates'), { recursive: true });
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
export async function runServer(project: string, uploads: boolean): Promise<string[]> {
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

/** Runs Eleventy's CLI (`node <cmd.cjs>`) in the project; checks the built page's assets. */
export async function runEleventy(project: string, command: readonly string[]): Promise<string[]> {
  const child = spawn(process.execPath, command, { cwd: project, env: childEnv({}) });
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
