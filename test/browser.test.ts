// The demo in a real browser: starts examples/demo.mjs (embedded s3rver, createAll, Express site) on
// random ports, loads each page in Chromium, and proves what a user would check by eye: every asset came
// from the S3 origin with status 200 and a correct Content-Type, the CSS applied, the web font loaded,
// the scripts ran, gzip was decoded, images decoded, and the browser checked (and would refuse) each
// subresource-integrity hash. Saves screenshots to test-results/.
// Needs `npm run build` first (the demo imports the package by name, as a user would: dist/).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningDemo } from '../examples/demo.mjs';
import { launchChromium } from './helpers/chromium.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';

// The page.evaluate() callbacks below run in Chromium, not Node. The project compiles without lib.dom
// (adding it would change global types for every file), so the few browser globals they use are declared
// here, for this file only.
type HTMLImageElement = {
  currentSrc: string;
  src: string;
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
};
type AssetTag = {
  href?: string;
  src?: string;
  integrity?: string;
  crossOrigin?: string | null;
  tagName: string;
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

/** The demo's static folders: url_for endpoint -> folder. */
const FOLDERS = {
  static: path.join(siteDir, 'static'),
  'admin.static': path.join(siteDir, 'admin', 'static'),
};

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

/** Every file under a folder, relative and `/`-separated. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true })
    .map((name) => String(name).split(path.sep).join('/'))
    .filter((rel) => statSync(path.join(folder, rel)).isFile());
}

/** SRI value computed here, independently of the library: sha384 of the file's bytes. */
function sri(file: string): string {
  return 'sha384-' + createHash('sha384').update(readFileSync(file)).digest('base64');
}

interface Loaded {
  page: Page;
  url: string;
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
  /** Asset URL (as the pages link it, fingerprinted or not) -> local file. */
  const localFile = new Map<string, string>();
  /** The URL the demo's pages use for a file: whatever url_for renders (fingerprinted or not). */
  const asset = (filename: string, endpoint = 'static') => demo.urlFor(endpoint, { filename });

  beforeAll(async () => {
    // The browser first: without it the test fails at once, with the install command.
    browser = await launchChromium();
    const { startDemo } = await loadDemo();
    dataDir = mkdtempSync(path.join(tmpdir(), 'nunjucks-s3-demo-'));
    // env: {} so a FLASKS3_BUCKET_NAME in the developer's shell cannot send this test to a real bucket.
    demo = await startDemo({ port: 0, s3Port: 0, dataDir, quiet: true, env: {} });
    s3Origin = new URL(demo.s3Endpoint).origin;
    siteOrigin = new URL(demo.siteUrl).origin;
    bucketBase = `${s3Origin}/${demo.bucket}/`;
    for (const [endpoint, folder] of Object.entries(FOLDERS)) {
      for (const rel of filesUnder(folder)) localFile.set(asset(rel, endpoint), path.join(folder, rel));
    }
    mkdirSync(resultsDir, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens a page in a fresh context (empty cache: every asset is really fetched) and records its traffic. */
  async function open(pathname: string, { expectedStatus = 200 } = {}): Promise<Loaded> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const url = new URL(pathname, demo.siteUrl).href;
    const responses: Response[] = [];
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('response', (r) => responses.push(r));
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // A 404 page logs its own status as an error; that one is expected, nothing else is.
      if (m.type() === 'error' && !(expectedStatus === 404 && m.location().url === url))
        errors.push(m.text());
    });
    const doc = await page.goto(url, { waitUntil: 'networkidle' });
    expect(doc?.status()).toBe(expectedStatus);
    await page.evaluate(() => document.fonts.ready.then(() => undefined));
    return { page, url, responses, failed, errors };
  }

  /** The checks every page must pass; returns its asset responses by type. */
  async function checkPage(loaded: Loaded): Promise<Map<string, Response[]>> {
    const { page, responses, failed, errors } = loaded;
    expect(failed, 'no request failed').toEqual([]);
    expect(errors, 'no script or console errors (CORS, SRI and decoding errors land here)').toEqual([]);

    const byType = new Map<string, Response[]>();
    for (const r of responses) {
      // Chromium fetches the <link rel="icon"> as type "other"; it is an image like the rest.
      const type = r.url() === asset('favicon.png') ? 'image' : r.request().resourceType();
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

    // Every asset tag points into the bucket; stylesheets and scripts carry the SRI hash of the file's
    // bytes (computed here, not by the library) with crossorigin="anonymous". They loaded and applied
    // (checked by each test), so the browser verified the hash and accepted it.
    const tags = await page.evaluate(() =>
      [
        ...document.querySelectorAll<AssetTag>(
          'link[rel="stylesheet"], link[rel="preload"], link[rel="icon"], script[src], img',
        ),
      ]
        .filter((t) => (t.href ?? t.src) !== '')
        .map((t) => ({
          tag: t.tagName.toLowerCase(),
          url: t.href ?? t.src ?? '',
          integrity: t.integrity ?? '',
          crossOrigin: t.crossOrigin ?? null,
        })),
    );
    expect(tags.length).toBeGreaterThan(0);
    for (const t of tags) {
      expect(t.url.startsWith(bucketBase), `${t.url} points into the bucket`).toBe(true);
      expect(localFile.has(t.url), `${t.url} is the URL url_for gives one of the site's files`).toBe(true);
    }
    const checked = tags.filter((t) => t.tag === 'script' || (t.tag === 'link' && t.url.endsWith('.css')));
    expect(checked.length).toBeGreaterThan(0);
    for (const t of checked) {
      expect(t, `${t.url} has its SRI hash`).toMatchObject({
        integrity: sri(localFile.get(t.url)!),
        crossOrigin: 'anonymous',
      });
    }

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

  it('uploaded the site into the embedded S3 server, gzipping css, js and svg only', () => {
    expect(demo.report.failed).toEqual([]);
    const gzipByFile = new Map(demo.report.uploaded.map((e) => [e.file, e.gzip]));
    const all = [...localFile.values()];
    expect([...gzipByFile.keys()].sort()).toEqual(expect.arrayContaining(all));
    for (const file of all) expect(gzipByFile.get(file), file).toBe(/\.(css|js|svg)$/.test(file));
  });

  it('home: assets from S3, CSS applied, font loaded, script ran, gzip decoded, screenshot', async () => {
    const loaded = await open('/');
    const { page } = loaded;
    const byType = await checkPage(loaded);
    for (const type of ASSET_TYPES)
      expect(byType.get(type)?.length ?? 0, `${type} responses`).toBeGreaterThan(0);

    // Correct Content-Types from the bucket (the original served CSS as binary/octet-stream).
    const contentType = (r: Response) => r.headers()['content-type'] ?? '';
    for (const r of byType.get('stylesheet') ?? []) expect(contentType(r)).toMatch(/^text\/css/);
    for (const r of byType.get('script') ?? [])
      expect(contentType(r)).toMatch(/^(text|application)\/javascript/);
    for (const r of byType.get('font') ?? []) expect(contentType(r)).toBe('font/woff2');

    // The CSS applied: colours, layout and the background images only site.css sets. The images are
    // relative URLs in site.css, so the browser resolved them against the stylesheet's bucket URL.
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
    const cssBase = new URL('.', asset('css/site.css')).href;
    const hero = new URL('../img/hero.png', cssBase).href;
    const paper = new URL('../img/paper.png', cssBase).href;
    expect(style.heroBg).toBe(`url("${hero}")`);
    expect(style.htmlBg).toBe(`url("${paper}")`);
    const imageUrls = (byType.get('image') ?? []).map((r) => r.url());
    expect(imageUrls).toEqual(expect.arrayContaining([hero, paper]));

    // The web font: fetched from the bucket (CORS), parsed, and in use.
    const fontUrls = (byType.get('font') ?? []).map((r) => r.url());
    expect(fontUrls).toEqual(
      expect.arrayContaining([
        new URL('../fonts/inter-latin-400-normal.woff2', cssBase).href,
        new URL('../fonts/inter-latin-700-normal.woff2', cssBase).href,
      ]),
    );
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

    // gzip: the browser received compressed CSS, JS and SVG (Content-Encoding: gzip, and the bytes on the
    // wire are gzip), decoded them to the exact files, and they took effect (the styles above, the script
    // below, the logo decoded in checkPage).
    for (const rel of ['css/site.css', 'js/site.js', 'img/logo.svg']) {
      const url = asset(rel);
      const r = loaded.responses.find((x) => x.url() === url);
      expect(r, `${url} was loaded`).toBeDefined();
      expect((await r!.allHeaders())['content-encoding'], `${url} content-encoding`).toBe('gzip');
      expect(
        (await r!.body()).equals(readFileSync(path.join(siteDir, 'static', rel))),
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

  it.each([
    ['/about', 200],
    ['/how-it-works', 200],
    ['/missing-page', 404],
  ])('%s: every asset from S3, styled, script ran', async (pathname, expectedStatus) => {
    const loaded = await open(pathname, { expectedStatus });
    const byType = await checkPage(loaded);
    expect(byType.get('stylesheet')?.length).toBeGreaterThan(0);
    const h1 = await loaded.page.evaluate(() => getComputedStyle(document.querySelector('h1')!).color);
    expect(h1).toBe('rgb(11, 37, 69)');
    await loaded.page.context().close();
  });

  it('gallery: the PNGs decode at full size and the lightbox script works', async () => {
    const loaded = await open('/gallery');
    const { page } = loaded;
    await checkPage(loaded);
    const photos = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLImageElement>('.photo img')].map((i) => [
        i.naturalWidth,
        i.naturalHeight,
      ]),
    );
    expect(photos).toEqual(Array(4).fill([480, 320]));
    await page.click('.photo a');
    expect(await page.isVisible('#lightbox')).toBe(true);
    expect(await page.getAttribute('#lightbox img', 'src')).toBe(asset('img/gallery/harbour-dawn.png'));
    await page.context().close();
  });

  it("admin blueprint: its own static folder's CSS, JS and SVG come from admin/static in the bucket", async () => {
    const loaded = await open('/admin/');
    const { page } = loaded;
    const byType = await checkPage(loaded);
    const urls = [...byType.values()].flat().map((r) => r.url());
    for (const rel of ['css/admin.css', 'js/admin.js', 'img/gauge.svg']) {
      const url = asset(rel, 'admin.static');
      expect(url.startsWith(`${bucketBase}admin/static/`), url).toBe(true);
      expect(urls).toContain(url);
    }
    // admin.css applied (a colour only it sets), admin.js ran (it drew one bar per folder).
    const border = await page.evaluate(
      () => getComputedStyle(document.querySelector('.stat')!).borderLeftColor,
    );
    expect(border).toBe('rgb(46, 134, 171)');
    expect(await page.getAttribute('#admin-chart', 'data-drawn')).toBe('yes');
    expect(await page.locator('#admin-chart .chart__row').count()).toBeGreaterThan(3);
    await page.screenshot({ path: path.join(resultsDir, 'demo-admin.png'), fullPage: true });
    await page.context().close();
  });

  // Last in this block: it changes an object in the bucket (and puts it back).
  it('SRI: the browser refuses a script whose bytes in the bucket were changed', async () => {
    const url = asset('js/site.js');
    const key = url.slice(bucketBase.length).split('?')[0]!;
    const client = testClient({
      name: 's3rver',
      endpoint: demo.s3Endpoint,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      region: 'us-east-1',
    });
    const put = (body: string | Buffer, gzip: boolean) =>
      client.send(
        new PutObjectCommand({
          Bucket: demo.bucket,
          Key: key,
          Body: body,
          ContentType: 'text/javascript; charset=utf-8',
          ContentEncoding: gzip ? 'gzip' : undefined,
        }),
      );
    const original = await rawGet(url);
    try {
      await put("document.body.dataset.js = 'tampered';", false);
      const loaded = await open('/');
      const r = loaded.responses.find((x) => x.url() === url);
      expect(r?.status(), 'the tampered script was served').toBe(200);
      expect(await loaded.page.evaluate(() => document.body.dataset.js ?? 'not run')).toBe('not run');
      expect(loaded.errors.join('\n')).toMatch(/integrity/i);
      await loaded.page.context().close();
    } finally {
      await put(original.body, original.headers['content-encoding'] === 'gzip');
      client.destroy();
    }
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
      const cssUrl = demo.urlFor('static', { filename: 'css/site.css' });
      expect(cssUrl.startsWith(`${new URL(s3.endpoint).origin}/${bucket}/static/css/site`)).toBe(true);
      const html = await (await fetch(demo.siteUrl)).text();
      expect(html).toContain(`href="${cssUrl}"`);
      const css = await rawGet(cssUrl);
      expect(css.status).toBe(200);
      expect(css.headers['content-type']).toMatch(/^text\/css/);
    } finally {
      await demo.close();
    }
  });
});
