// The Eleventy site and the Fastify app of examples/ in a real Chromium, as browser.test.ts checks the
// Express demo: each uploads the demo's assets to an embedded S3 server (s3rver, its own, with the CORS
// rule the demo uses), and every asset of every page must come from the bucket with status 200, the CSS
// must apply, the script run, the images decode, and each SRI hash (computed here from the local file)
// be the one the browser accepted. The Eleventy site is built and deployed by `eleventy` itself
// (`upload: true`, `uploadPages`), through the fault proxy, whose log proves that no page was sent
// before every asset it links to was stored. A screenshot of its home page goes to the test's temp folder.
// Needs `npm run build` first (the examples import the package by name).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Response } from 'playwright-core';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepFoldersOfDeletedObjects } from '../examples/tools/s3rver-folders.mjs';
import type { AppLike } from '../src/index.js';
import { launchChromium } from './helpers/chromium.js';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.js';

// Browser globals used inside page.evaluate() (the project compiles without lib.dom).
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  images: Iterable<{ currentSrc: string; complete: boolean; naturalWidth: number }>;
  querySelector(selector: string): unknown;
  querySelectorAll(selector: string): Iterable<{ integrity: string; href?: string; src?: string }>;
};
declare function getComputedStyle(element: unknown): Record<string, string>;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const staticDir = path.join(repo, 'examples', 'site', 'static');
const BUCKET = 'examples-browser';
const CORS_XML = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>
<AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule></CORSConfiguration>`;
// The examples are plain .mjs without declarations: imported by path, typed here by what the test uses.
const SETTINGS_MODULE = path.join(repo, 'examples', 'site', 'settings.mjs');
const FASTIFY_MODULE = path.join(repo, 'examples', 'fastify-app', 'app.mjs');
const FINGERPRINT = /\.[0-9a-f]{12}(?=\.[^./]+$)/;

/** The local file an asset URL names: its key below the bucket, without the fingerprint. */
function localFile(url: string, bucketBase: string): string {
  const key = url.slice(bucketBase.length).split('?')[0] as string;
  return path.join(staticDir, key.replace(/^static\//, '').replace(FINGERPRINT, ''));
}

function sri(file: string): string {
  return `sha384-${createHash('sha384').update(readFileSync(file)).digest('base64')}`;
}

/** Loads a page in a fresh context and checks what browser.test.ts checks of the demo. */
async function checkPage(browser: Browser, url: string, bucketBase: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const responses: Response[] = [];
  const problems: string[] = [];
  page.on('response', (r) => responses.push(r));
  page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  expect((await page.goto(url, { waitUntil: 'networkidle' }))?.status()).toBe(200);
  expect(problems, 'no failed request, CORS, SRI or script error').toEqual([]);

  const assets = responses.filter((r) => r.request().resourceType() !== 'document');
  expect(assets.length).toBeGreaterThan(3);
  for (const r of assets) {
    expect(r.url().startsWith(bucketBase), `${r.url()} is in the bucket`).toBe(true);
    expect(r.status(), r.url()).toBe(200);
  }
  const types = new Set(assets.map((r) => r.request().resourceType()));
  for (const type of ['stylesheet', 'script', 'font', 'image']) expect(types, type).toContain(type);

  // SRI: the value in the page is the hash of the local file, and the browser loaded it (no error above).
  const checked = [
    ...(await page.evaluate(() =>
      [...document.querySelectorAll('link[integrity], script[integrity]')].map((t) => ({
        url: t.href ?? t.src ?? '',
        integrity: t.integrity,
      })),
    )),
  ];
  expect(checked.length).toBeGreaterThanOrEqual(2);
  for (const t of checked) expect(t.integrity, t.url).toBe(sri(localFile(t.url, bucketBase)));

  const style = await page.evaluate(() => ({
    masthead: getComputedStyle(document.querySelector('.masthead')).backgroundColor,
    font: getComputedStyle(document.querySelector('body')).fontFamily,
  }));
  expect(style.masthead, 'site.css applied').not.toBe('rgba(0, 0, 0, 0)');
  expect(style.font).toMatch(/Inter/);
  expect(await page.evaluate(() => document.body.dataset.js), 'site.js ran').toBe('ran');
  const images = await page.evaluate(() =>
    [...document.images].map((i) => ({ src: i.currentSrc, ok: i.complete && i.naturalWidth > 0 })),
  );
  expect(images.length).toBeGreaterThan(0);
  for (const img of images) expect(img.ok, `${img.src} decoded`).toBe(true);
  return page;
}

describe('the examples in Chromium', () => {
  let browser: Browser;
  let s3: S3rver;
  let endpoint: string;
  let work: string;

  beforeAll(async () => {
    if (!existsSync(path.join(repo, 'dist', 'eleventy', 'index.js'))) {
      throw new Error('dist/ is missing: the examples import the built package. Run `npm run build` first.');
    }
    browser = await launchChromium();
    work = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-examples-'));
    s3 = keepFoldersOfDeletedObjects(
      new S3rver({
        address: '127.0.0.1',
        port: 0,
        silent: true,
        directory: path.join(work, 's3'),
        configureBuckets: [{ name: BUCKET, configs: [CORS_XML] }],
      }),
    );
    const { port } = (await s3.run()) as { port: number };
    endpoint = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await browser?.close();
    await s3?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('the Eleventy site, deployed by one `eleventy` run', () => {
    let proxy: FaultProxy;
    /** For each page PUT: the asset keys already stored (PUT answered 200) when it arrived. */
    const storedBeforePage = new Map<string, Set<string>>();
    const out = () => path.join(work, '_site');

    beforeAll(async () => {
      proxy = await startFaultProxy({
        target: endpoint,
        decide: (req) => {
          if (req.method === 'PUT' && req.key?.endsWith('.html')) {
            const stored = proxy.log.filter((e) => e.method === 'PUT' && e.status === 200 && e.key);
            storedBeforePage.set(req.key, new Set(stored.map((e) => e.key as string)));
          }
          return undefined;
        },
      });
      const cli = path.join(repo, 'node_modules', '@11ty', 'eleventy', 'cmd.cjs');
      const child = spawn(process.execPath, [cli, `--output=${out()}`], {
        cwd: path.join(repo, 'examples', 'eleventy-site'),
        env: {
          ...process.env,
          DEMO_S3_ENDPOINT: proxy.url,
          DEMO_S3_BUCKET: BUCKET,
          DEMO_MANIFEST: path.join(work, 'manifest.json'),
          FLASKS3_BUCKET_NAME: '',
        },
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => {
        output += c;
      });
      child.stderr.on('data', (c: Buffer) => {
        output += c;
      });
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code, output).toBe(0);
      expect(output).toMatch(/\[nunjucks-s3\] \d+ assets uploaded, 0 unchanged; 4 pages uploaded/);
    }, 120_000);

    afterAll(async () => {
      await proxy?.close();
    });

    it('sent no page before every asset it links to was stored', () => {
      const pages = ['index.html', 'notes/index.html', 'tides/index.html', 'watch/index.html'];
      expect([...storedBeforePage.keys()].sort()).toEqual(pages);
      const bucketBase = `${proxy.url}/${BUCKET}/`;
      for (const key of pages) {
        const html = readFileSync(path.join(out(), key), 'utf8');
        const linked = [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
          .map((m) => m[1] as string)
          .filter((u) => u.startsWith(bucketBase))
          .map((u) => u.slice(bucketBase.length));
        expect(linked.length, key).toBeGreaterThan(3);
        for (const asset of linked)
          expect(storedBeforePage.get(key), `${asset} before ${key}`).toContain(asset);
      }
      const puts = proxy.log.filter((e) => e.method === 'PUT' && e.key);
      const firstPage = puts.findIndex((e) => e.key?.endsWith('.html'));
      expect(firstPage).toBeGreaterThan(0);
      expect(
        puts.slice(firstPage).every((e) => e.key?.endsWith('.html') || e.key?.startsWith('.nunjucks-s3/')),
      ).toBe(true);
    });

    it.each(['index.html', 'notes/index.html', 'tides/index.html', 'watch/index.html'])(
      '%s, served from the bucket: every asset from the bucket, styled, SRI accepted',
      async (key) => {
        const bucketBase = `${proxy.url}/${BUCKET}/`;
        const page = await checkPage(browser, `${bucketBase}${key}`, bucketBase);
        if (key === 'index.html') {
          // Kept after the run (the rest of the work folder is removed), for a look by eye.
          const shot = path.join(mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-eleventy-shot-')), 'home.png');
          await page.screenshot({ path: shot, fullPage: true });
          expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
        }
        await page.context().close();
      },
    );
  });

  describe('the Fastify app', () => {
    it('serves a page whose every asset comes from the bucket, styled, SRI accepted', async () => {
      const { createAll } = await import('../src/index.js');
      const { embeddedSettings } = (await import(SETTINGS_MODULE)) as {
        embeddedSettings(
          endpoint: string,
          o: { bucket: string; manifestPath: string },
        ): Record<string, unknown>;
      };
      const { createFastifyApp, fastifyDescription } = (await import(FASTIFY_MODULE)) as {
        fastifyDescription(config: Record<string, unknown>): AppLike;
        createFastifyApp(config: Record<string, unknown>): Promise<{
          listen(o: { host: string; port: number }): Promise<string>;
          close(): Promise<void>;
        }>;
      };
      const config = embeddedSettings(endpoint, {
        bucket: BUCKET,
        manifestPath: path.join(work, 'fastify-manifest.json'),
      });
      const report = await createAll(fastifyDescription(config));
      expect(report.failed).toEqual([]);
      const server = await createFastifyApp(config);
      const address = await server.listen({ host: '127.0.0.1', port: 0 });
      try {
        const page = await checkPage(browser, `${address}/`, `${endpoint}/${BUCKET}/`);
        await page.context().close();
      } finally {
        await server.close();
      }
    });
  });
});
