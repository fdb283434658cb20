// The demo in a real browser: starts examples/demo.mjs (embedded s3rver, createAll, Express site) on
// random ports, loads each page in Chromium, and proves what a user would check by eye: every asset came
// from the S3 origin with status 200 and a correct Content-Type, the CSS applied, the web font loaded,
// the scripts ran, gzip was decoded, images decoded. Saves screenshots to test-results/.
// Needs `npm run build` first (the demo imports the package by name, as a user would: dist/).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDemo } from '../examples/demo.mjs';
import { launchChromium } from './helpers/chromium.js';
import { freshBucket, s3Backend } from './helpers/s3.js';

// The page.evaluate() callbacks below run in Chromium, not Node. The project compiles without lib.dom
// (adding it would change global types for every file), so the few browser globals they use are declared
// here, for this file only.
type HTMLLinkElement = { href: string };
type HTMLScriptElement = { src: string };
type HTMLImageElement = {
  currentSrc: string;
  src: string;
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
};
type BrowserElement = { dataset: Record<string, string | undefined>; textContent: string | null };
type FontFace = { family: string; weight: string; status: string };
declare const document: {
  body: BrowserElement;
  images: Iterable<HTMLImageElement>;
  fonts: Iterable<FontFace> & { ready: Promise<unknown>; check(font: string): boolean };
  querySelector(selector: string): unknown;
  querySelectorAll<T = BrowserElement>(selector: string): Iterable<T> & { length: number };
  getElementById(id: string): BrowserElement | null;
};
declare function getComputedStyle(element: unknown): Record<string, string>;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const siteDir = path.join(repo, 'examples', 'site');
const resultsDir = path.join(repo, 'test-results');

async function loadDemo(): Promise<typeof import('../examples/demo.mjs')> {
  if (!existsSync(path.join(repo, 'dist', 'index.js'))) {
    throw new Error(
      'dist/ is missing: the demo imports the built package. Run `npm run build` first (or `npm run test:browser`).',
    );
  }
  return import('../examples/demo.mjs');
}

/** The raw bytes an HTTP GET returns, without the transparent decompression fetch() would apply. */
function rawGet(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

interface Loaded {
  page: Page;
  responses: Response[];
  failed: string[];
  errors: string[];
}

const ASSET_TYPES = new Set(['stylesheet', 'script', 'font', 'image']);

describe('the demo in Chromium', () => {
  let demo: RunningDemo;
  let browser: Browser;
  let dataDir: string;
  let s3Origin: string;
  let siteOrigin: string;
  let bucketBase: string;

  beforeAll(async () => {
    const { startDemo } = await loadDemo();
    dataDir = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-demo-'));
    // env: {} so a FLASKS3_BUCKET_NAME in the developer's shell cannot send this test to a real bucket.
    demo = await startDemo({ port: 0, s3Port: 0, dataDir, quiet: true, env: {} });
    s3Origin = new URL(demo.s3Endpoint).origin;
    siteOrigin = new URL(demo.siteUrl).origin;
    bucketBase = `${s3Origin}/${demo.bucket}/`;
    browser = await launchChromium();
    mkdirSync(resultsDir, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens a page in a fresh context (empty cache: every asset is really fetched) and records its traffic. */
  async function open(pathname: string): Promise<Loaded> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const responses: Response[] = [];
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('response', (r) => responses.push(r));
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('pageerror', (e) => errors.push(e.message));
    const url = new URL(pathname, demo.siteUrl).href;
    const expectedStatus = pathname === '/missing-page' ? 404 : 200;
    page.on('console', (m) => {
      // A 404 page logs its own status as an error; that one is expected, nothing else is.
      if (m.type() === 'error' && !(expectedStatus === 404 && m.location().url === url))
        errors.push(m.text());
    });
    const doc = await page.goto(url, { waitUntil: 'networkidle' });
    expect(doc?.status()).toBe(expectedStatus);
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    return { page, responses, failed, errors };
  }

  /** The checks every page must pass; returns its asset responses by type. */
  async function checkOrigins(loaded: Loaded): Promise<Map<string, Response[]>> {
    const { page, responses, failed, errors } = loaded;
    expect(failed, 'no request failed').toEqual([]);
    expect(errors, 'no script or console errors (CORS, SRI and decoding errors land here)').toEqual([]);

    const byType = new Map<string, Response[]>();
    for (const r of responses) {
      // Chromium fetches the <link rel="icon"> as type "other"; it is an image like the rest.
      const type = r.url().endsWith('/favicon.png') ? 'image' : r.request().resourceType();
      const origin = new URL(r.url()).origin;
      if (origin === siteOrigin) {
        expect(type, `only HTML comes from the site: ${r.url()}`).toBe('document');
        continue;
      }
      expect(origin, `${type} ${r.url()} comes from the S3 server`).toBe(s3Origin);
      expect(r.url().startsWith(bucketBase), `${r.url()} is in the bucket`).toBe(true);
      expect(r.status(), `${r.url()} status`).toBe(200);
      expect(ASSET_TYPES.has(type), `${r.url()} is an asset (${type})`).toBe(true);
      byType.set(type, [...(byType.get(type) ?? []), r]);
    }

    // Every asset tag in the DOM points into the bucket (nothing slipped through as a local URL).
    const urls = await page.evaluate(() =>
      [
        ...[
          ...document.querySelectorAll<HTMLLinkElement>(
            'link[rel="stylesheet"], link[rel="preload"], link[rel="icon"]',
          ),
        ].map((l) => l.href),
        ...[...document.querySelectorAll<HTMLScriptElement>('script[src]')].map((s) => s.src),
        ...[...document.querySelectorAll<HTMLImageElement>('img')].map((i) => i.currentSrc || i.src),
      ].filter(Boolean),
    );
    expect(urls.length).toBeGreaterThan(0);
    for (const u of urls) expect(u.startsWith(bucketBase), `${u} points into the bucket`).toBe(true);

    // Every image in the document decoded.
    const images = await page.evaluate(() =>
      [...document.images]
        .filter((i) => i.src !== '') // the gallery's empty lightbox <img> until a photo is clicked
        .map((i) => ({ src: i.currentSrc, complete: i.complete, width: i.naturalWidth })),
    );
    expect(images.length).toBeGreaterThan(0);
    for (const img of images)
      expect(img.complete && img.width > 0, `${img.src} decoded (naturalWidth > 0)`).toBe(true);

    // The layout's script ran, and from the bucket: it writes its own origin into the footer.
    expect(await page.evaluate(() => document.body.dataset.js)).toBe('ran');
    expect(await page.textContent('#js-status')).toContain(s3Origin);
    return byType;
  }

  it('uploaded the site into the embedded S3 server, gzipping css, js and svg', () => {
    const keys = demo.report.uploaded.map((e) => e.key).sort();
    expect(keys).toContain('static/css/site.css');
    expect(keys).toContain('static/fonts/inter-latin-400-normal.woff2');
    expect(keys).toContain('admin/static/js/admin.js');
    expect(demo.report.failed).toEqual([]);
    const gz = Object.fromEntries(demo.report.uploaded.map((e) => [e.key, e.gzip]));
    expect(gz).toMatchObject({
      'static/css/site.css': true,
      'static/js/site.js': true,
      'static/img/logo.svg': true,
      'static/img/hero.png': false,
      'static/fonts/inter-latin-400-normal.woff2': false,
    });
  });

  it('home: assets from S3, CSS applied, font loaded, script ran, gzip decoded, screenshot', async () => {
    const loaded = await open('/');
    const { page } = loaded;
    const byType = await checkOrigins(loaded);
    for (const type of ASSET_TYPES)
      expect(byType.get(type)?.length ?? 0, `${type} responses`).toBeGreaterThan(0);

    // Correct Content-Types from the bucket (the original served CSS as binary/octet-stream).
    const contentType = (r: Response) => r.headers()['content-type'] ?? '';
    for (const r of byType.get('stylesheet') ?? []) expect(contentType(r)).toMatch(/^text\/css/);
    for (const r of byType.get('script') ?? [])
      expect(contentType(r)).toMatch(/^(text|application)\/javascript/);
    for (const r of byType.get('font') ?? []) expect(contentType(r)).toBe('font/woff2');

    // The CSS applied: colours, layout and the background image only site.css sets.
    const style = await page.evaluate(() => {
      const css = (sel: string) => getComputedStyle(document.querySelector(sel)!);
      return {
        mastheadBg: css('.masthead').backgroundColor,
        display: css('.masthead').display,
        bodyFont: css('body').fontFamily,
        heroBg: css('.hero').backgroundImage,
        htmlBg: css('html').backgroundImage,
      };
    });
    expect(style.mastheadBg).toBe('rgb(11, 37, 69)');
    expect(style.display).toBe('flex');
    expect(style.bodyFont).toMatch(/^"?Inter"?,/);
    expect(style.heroBg).toBe(`url("${bucketBase}static/img/hero.png")`);
    expect(style.htmlBg).toBe(`url("${bucketBase}static/img/paper.png")`);
    const imageUrls = (byType.get('image') ?? []).map((r) => r.url());
    expect(imageUrls).toContain(`${bucketBase}static/img/hero.png`);
    expect(imageUrls).toContain(`${bucketBase}static/img/paper.png`);

    // The web font: fetched from the bucket (CORS), parsed, and in use.
    const fontUrls = (byType.get('font') ?? []).map((r) => r.url());
    expect(fontUrls).toContain(`${bucketBase}static/fonts/inter-latin-400-normal.woff2`);
    expect(fontUrls).toContain(`${bucketBase}static/fonts/inter-latin-700-normal.woff2`);
    const fonts = await page.evaluate(() => ({
      faces: [...document.fonts].map((f) => ({
        family: f.family.replace(/"/g, ''),
        weight: f.weight,
        status: f.status,
      })),
      check: document.fonts.check('16px Inter') && document.fonts.check('bold 16px Inter'),
    }));
    expect(fonts.faces).toEqual(
      expect.arrayContaining([
        { family: 'Inter', weight: '400', status: 'loaded' },
        { family: 'Inter', weight: '700', status: 'loaded' },
      ]),
    );
    expect(fonts.check).toBe(true);

    // gzip: the browser received compressed CSS and JS (Content-Encoding: gzip, and the bytes on the wire
    // are gzip), decoded them to the exact files, and they took effect (the styles above, the script below).
    const sources: Record<string, string> = {
      [`${bucketBase}static/css/site.css`]: 'static/css/site.css',
      [`${bucketBase}static/js/site.js`]: 'static/js/site.js',
      [`${bucketBase}static/img/logo.svg`]: 'static/img/logo.svg',
    };
    for (const [url, rel] of Object.entries(sources)) {
      const r = loaded.responses.find((x) => x.url() === url);
      expect(r, `${url} was loaded`).toBeDefined();
      expect((await r!.allHeaders())['content-encoding'], `${url} content-encoding`).toBe('gzip');
      expect(
        (await r!.body()).equals(readFileSync(path.join(siteDir, rel))),
        `${url} decoded to the file`,
      ).toBe(true);
      const wire = await rawGet(url);
      expect(wire.body.subarray(0, 2).toString('hex'), `${url} is gzip on the wire`).toBe('1f8b');
    }

    // The script ran: it listed every loaded asset, none of them from the site.
    const listed = await page.evaluate(() => ({
      count: Number(document.getElementById('asset-list')?.dataset.count),
      local: document.querySelectorAll('#asset-list .origin-tag--local').length,
    }));
    expect(listed.count).toBeGreaterThan(4);
    expect(listed.local).toBe(0);

    await page.screenshot({ path: path.join(resultsDir, 'demo-home.png'), fullPage: true });
    await page.context().close();
  });

  it.each(['/about', '/how-it-works', '/missing-page'])(
    '%s: every asset from S3, styled, script ran',
    async (pathname) => {
      const loaded = await open(pathname);
      const byType = await checkOrigins(loaded);
      expect(byType.get('stylesheet')?.length).toBeGreaterThan(0);
      expect(await loaded.page.evaluate(() => getComputedStyle(document.querySelector('h1')!).color)).toBe(
        'rgb(11, 37, 69)',
      );
      await loaded.page.context().close();
    },
  );

  it('gallery: the PNGs decode at full size and the lightbox script works', async () => {
    const loaded = await open('/gallery');
    const { page } = loaded;
    await checkOrigins(loaded);
    const photos = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLImageElement>('.photo img')].map((i) => [
        i.naturalWidth,
        i.naturalHeight,
      ]),
    );
    expect(photos).toEqual([
      [480, 320],
      [480, 320],
      [480, 320],
      [480, 320],
    ]);
    await page.click('.photo a');
    expect(await page.isVisible('#lightbox')).toBe(true);
    expect(await page.getAttribute('#lightbox img', 'src')).toBe(
      `${bucketBase}static/img/gallery/harbour-dawn.png`,
    );
    await page.context().close();
  });

  it("admin blueprint: its own static folder's CSS, JS and SVG come from admin/static in the bucket", async () => {
    const loaded = await open('/admin/');
    const { page } = loaded;
    const byType = await checkOrigins(loaded);
    const urls = [...byType.values()].flat().map((r) => r.url());
    expect(urls).toContain(`${bucketBase}admin/static/css/admin.css`);
    expect(urls).toContain(`${bucketBase}admin/static/js/admin.js`);
    expect(urls).toContain(`${bucketBase}admin/static/img/gauge.svg`);
    // admin.css applied (a colour only it sets), admin.js ran (it drew one bar per folder).
    expect(
      await page.evaluate(() => getComputedStyle(document.querySelector('.stat')!).borderLeftColor),
    ).toBe('rgb(46, 134, 171)');
    expect(await page.getAttribute('#admin-chart', 'data-drawn')).toBe('yes');
    expect(await page.locator('#admin-chart .chart__row').count()).toBeGreaterThan(3);
    await page.screenshot({ path: path.join(resultsDir, 'demo-admin.png'), fullPage: true });
    await page.context().close();
  });
});

describe('the demo with a bucket of your own', () => {
  it('uploads to and links to the bucket named by FLASKS3_* variables instead of starting s3rver', async () => {
    const { startDemo } = await loadDemo();
    const s3 = s3Backend();
    const bucket = await freshBucket('demo');
    const { host } = new URL(s3.endpoint);
    const demo = await startDemo({
      port: 0,
      quiet: true,
      env: {
        FLASKS3_BUCKET_NAME: bucket,
        FLASKS3_ENDPOINT_URL: s3.endpoint,
        FLASKS3_BUCKET_DOMAIN: host,
        FLASKS3_URL_STYLE: 'path',
        FLASKS3_USE_HTTPS: 'false',
        FLASKS3_REGION: s3.region,
        FLASKS3_PUT_BUCKET_ACL: 'false',
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      },
    });
    try {
      expect(demo.bucket).toBe(bucket);
      expect(demo.report.failed).toEqual([]);
      const html = await (await fetch(demo.siteUrl)).text();
      const cssUrl = `${new URL(s3.endpoint).origin}/${bucket}/static/css/site.css`;
      expect(html).toContain(`href="${cssUrl}"`);
      const css = await rawGet(cssUrl);
      expect(css.status).toBe(200);
      expect(css.headers['content-type']).toMatch(/^text\/css/);
    } finally {
      await demo.close();
    }
  });
});
