// createAll with a CDN in front, against the real S3 server of the run and local stand-ins of the
// CloudFront and Cloudflare APIs (test/helpers/): exactly the overwritten keys are invalidated, as the
// paths and URLs url_for renders, after a successful deploy only; a failure to invalidate is reported
// and the deploy kept; a caching proxy serves the old bytes until the deploy's invalidation, then the new.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll } from '../src/deploy/upload.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { type CdnProxy, startCdnProxy } from './helpers/cdn-proxy.js';
import { type CloudflareStandIn, startCloudflareStandIn } from './helpers/cloudflare-standin.js';
import { type CloudFrontStandIn, startCloudFrontStandIn } from './helpers/cloudfront-standin.js';
import { faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend } from './helpers/s3.js';
import { rejection, removeTemps, s3Settings, tempDir, writeFiles } from './helpers/upload-check.js';

const backend = s3Backend();
const DIST = 'E2TESTDISTRIBUTION';
let cloudfront: CloudFrontStandIn;
const quiet = { warn: () => {} };

beforeAll(async () => {
  cloudfront = await startCloudFrontStandIn({
    credentials: { accessKeyId: backend.accessKeyId, secretAccessKey: backend.secretAccessKey },
    distributions: [DIST],
  });
});
afterAll(async () => {
  await cloudfront.close();
  removeTemps();
});

/** A site of `n` files under static/ (css/, js/ and img/ folders) and the app that deploys it. */
async function site(n: number, more: Record<string, unknown> = {}) {
  const root = tempDir('cdn');
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`static/${['css', 'js', 'img'][i % 3]}/f${i}.txt`] = `file ${i} v1\n`;
  writeFiles(root, files);
  const bucket = await freshBucket('cdn');
  const app: AppLike = {
    root,
    config: s3Settings(bucket, backend.endpoint, {
      FLASKS3_ONLY_MODIFIED: true,
      FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: DIST,
      FLASKS3_CLOUDFRONT_ENDPOINT_URL: cloudfront.endpoint,
      FLASKS3_PUT_BUCKET_ACL: false,
      ...more,
    }),
  };
  const change = (rel: string, content = `${rel} v2\n`) =>
    writeFileSync(path.join(root, 'static', rel), content);
  return { root, bucket, app, change };
}

const sentSince = (before: number) => cloudfront.invalidations.slice(before);

describe('CloudFront invalidation after createAll', () => {
  it('a deploy that changes 3 of 200 files sends one invalidation naming exactly those 3 paths', async () => {
    const { app, change, root } = await site(200);
    await createAll(app, { logger: quiet });
    change('css/f0.txt');
    change('js/f100.txt');
    change('img/f5.txt');
    writeFiles(root, { 'static/css/brand new.txt': 'new\n' }); // new: no cache holds it
    const before = cloudfront.invalidations.length;
    const report = await createAll(app, { logger: quiet });
    const sent = sentSince(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.paths.sort()).toEqual([
      '/static/css/f0.txt',
      '/static/img/f5.txt',
      '/static/js/f100.txt',
    ]);
    expect(report.invalidation?.cloudfront?.id).toBe(sent[0]!.id);
    expect(report.invalidation?.failed).toBe(false);
  });

  it('encodes paths the way url_for does, under the CDN path and the prefix', async () => {
    const { app, change, root, bucket } = await site(3, {
      FLASKS3_PREFIX: 'v/app',
      FLASKS3_CDN_DOMAIN: 'cdn.example.test/assets',
    });
    writeFiles(root, { 'static/css/a b ü.css': 'x{}' });
    await createAll(app, { logger: quiet });
    change('css/a b ü.css', 'y{}');
    const before = cloudfront.invalidations.length;
    await createAll(app, { logger: quiet });
    const rendered = new NunjucksS3({
      ...app,
      config: { ...app.config, FLASKS3_BUCKET_NAME: bucket },
    }).urlFor('static', { filename: 'css/a b ü.css' });
    expect(sentSince(before).map((i) => i.paths)).toEqual([[new URL(rendered).pathname]]);
    expect(new URL(rendered).pathname).toBe('/assets/v/app/static/css/a%20b%20%C3%BC.css');
  });

  it("with fingerprint 'filename', invalidates only the plain copies of changed files", async () => {
    const { app, change } = await site(6, { FLASKS3_FINGERPRINT: 'filename' });
    await createAll(app, { logger: quiet });
    change('css/f0.txt');
    change('js/f1.txt');
    const before = cloudfront.invalidations.length;
    const report = await createAll(app, { logger: quiet });
    // The deploy did upload fingerprinted copies of both; none of them is invalidated.
    expect(report.uploaded.map((e) => e.key).filter((k) => /\.[0-9a-f]{12}\.txt$/.test(k))).toHaveLength(2);
    expect(sentSince(before).map((i) => i.paths.sort())).toEqual([
      ['/static/css/f0.txt', '/static/js/f1.txt'],
    ]);
  });

  it('sends no request at all when nothing changed', async () => {
    const { app } = await site(10);
    await createAll(app, { logger: quiet });
    const requests = cloudfront.requests.length;
    const report = await createAll(app, { logger: quiet });
    expect(cloudfront.requests.length).toBe(requests);
    expect(report.invalidation).toEqual({ dryRun: false, paths: [], failed: false });
  });

  it('a dry run says the paths and sends nothing', async () => {
    const { app, change } = await site(5);
    await createAll(app, { logger: quiet });
    change('css/f0.txt');
    const requests = cloudfront.requests.length;
    const info: string[] = [];
    const report = await createAll(app, {
      dryRun: true,
      logger: { warn: () => {}, info: (m) => info.push(m) },
    });
    expect(cloudfront.requests.length).toBe(requests);
    expect(report.invalidation?.cloudfront?.paths).toEqual(['/static/css/f0.txt']);
    expect(info.join('\n')).toContain(`CloudFront ${DIST}: would invalidate 1 paths:\n  /static/css/f0.txt`);
  });

  it('folds into wildcards only above the threshold', async () => {
    const { app, root } = await site(240);
    await createAll(app, { logger: quiet });
    for (let i = 0; i < 240; i++)
      writeFileSync(path.join(root, 'static', ['css', 'js', 'img'][i % 3]!, `f${i}.txt`), `v2 ${i}`);
    const before = cloudfront.invalidations.length;
    const report = await createAll(app, { logger: quiet });
    expect(sentSince(before).map((i) => i.paths.sort())).toEqual([
      ['/static/css/*', '/static/img/*', '/static/js/*'],
    ]);
    expect(report.invalidation?.paths).toHaveLength(240);
  });

  it('a failed invalidation is a warning in the report; the deploy stays done', async () => {
    const { app, change, bucket } = await site(4, { FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: 'ENOSUCHDIST' });
    await createAll(app, { logger: quiet });
    change('css/f0.txt', 'the new bytes');
    const report = await createAll(app, { logger: quiet });
    expect(report.failed).toEqual([]);
    expect(report.invalidation?.failed).toBe(true);
    expect(report.invalidation?.cloudfront?.error).toContain('NoSuchDistribution');
    expect(report.warnings.join('\n')).toMatch(
      /CloudFront invalidation of distribution ENOSUCHDIST failed \(the deploy itself succeeded/,
    );
    const served = await fetch(`${backend.endpoint}/${bucket}/static/css/f0.txt`);
    expect(await served.text()).toBe('the new bytes');
  });

  it('an upload that fails sends no invalidation', async () => {
    const { app, change } = await site(3);
    await createAll(app, { logger: quiet });
    change('css/f0.txt');
    change('js/f1.txt');
    const proxy = await startFaultProxy({
      target: backend.endpoint,
      rules: [{ method: 'PUT', key: 'static/js/f1.txt', fault: faults.internalError() }],
    });
    try {
      const before = cloudfront.requests.length;
      const viaProxy = {
        ...app,
        config: { ...app.config, FLASKS3_ENDPOINT_URL: proxy.url, FLASKS3_MAX_ATTEMPTS: 1 },
      };
      const err = await rejection(createAll(viaProxy, { logger: quiet }));
      expect(err.failures.map((f) => f.key)).toEqual(['static/js/f1.txt']);
      expect(cloudfront.requests.length).toBe(before);
      expect((err.report as { invalidation?: unknown }).invalidation).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });
});

describe('Cloudflare purge and onInvalidate', () => {
  let cloudflare: CloudflareStandIn;
  const ZONE = '023e105f4ecef8ad9ca31a8372d0c353';
  const TOKEN = 'cf-token-for-tests-only-1234';
  beforeAll(async () => {
    cloudflare = await startCloudflareStandIn({ zoneId: ZONE, token: TOKEN });
  });
  afterAll(() => cloudflare.close());

  it('purges the URLs url_for renders, 30 to a request, and hands them to onInvalidate', async () => {
    const { app, change, bucket } = await site(40, {
      FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: undefined,
      FLASKS3_CDN_DOMAIN: 'https://cdn.example.test',
      FLASKS3_CLOUDFLARE_ZONE_ID: ZONE,
      FLASKS3_CLOUDFLARE_API_TOKEN: TOKEN,
      FLASKS3_CLOUDFLARE_API_URL: cloudflare.apiUrl,
    });
    await createAll(app, { logger: quiet });
    const changed = Array.from({ length: 31 }, (_, i) => `${['css', 'js', 'img'][i % 3]}/f${i}.txt`);
    for (const rel of changed) change(rel);
    const hooked: string[][] = [];
    const before = cloudflare.purges.length;
    const report = await createAll(app, { logger: quiet, onInvalidate: (urls) => void hooked.push(urls) });
    const s3 = new NunjucksS3({ ...app, config: { ...app.config, FLASKS3_BUCKET_NAME: bucket } });
    const expected = changed.map((filename) => s3.urlFor('static', { filename })).sort();
    const purged = cloudflare.purges.slice(before);
    expect(purged.map((p) => p.length)).toEqual([30, 1]);
    expect(purged.flat().sort()).toEqual(expected);
    expect(hooked.map((u) => u.sort())).toEqual([expected]);
    expect(report.invalidation?.cloudflare?.requests).toBe(2);
    expect(JSON.stringify(report)).not.toContain(TOKEN);
  });

  it.each([
    [{ FLASKS3_CLOUDFLARE_ZONE_ID: ZONE }, 'cloudflareApiToken / FLASKS3_CLOUDFLARE_API_TOKEN is missing'],
    [{ FLASKS3_CLOUDFLARE_API_TOKEN: TOKEN }, 'cloudflareZoneId / FLASKS3_CLOUDFLARE_ZONE_ID is missing'],
    [
      { FLASKS3_CLOUDFLARE_ZONE_ID: ZONE, FLASKS3_CLOUDFLARE_API_TOKEN: TOKEN },
      'cdnDomain / FLASKS3_CDN_DOMAIN is required with cloudflareZoneId / FLASKS3_CLOUDFLARE_ZONE_ID',
    ],
  ])('%j is a ConfigError before any upload', async (more, message) => {
    const { app, bucket } = await site(1, { FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: undefined, ...more });
    await expect(createAll(app, { logger: quiet })).rejects.toThrow(message);
    expect((await fetch(`${backend.endpoint}/${bucket}/static/css/f0.txt`)).status).not.toBe(200);
    expect(
      JSON.stringify(await createAll(app, { logger: quiet }).catch((e: Error) => e.message)),
    ).not.toContain(TOKEN);
  });

  it('a refused token is reported, never printed', async () => {
    const { app, change } = await site(2, {
      FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: undefined,
      FLASKS3_CDN_DOMAIN: 'https://cdn.example.test',
      FLASKS3_CLOUDFLARE_ZONE_ID: ZONE,
      FLASKS3_CLOUDFLARE_API_TOKEN: 'not-the-token-5678',
      FLASKS3_CLOUDFLARE_API_URL: cloudflare.apiUrl,
    });
    await createAll(app, { logger: quiet });
    change('css/f0.txt');
    const warnings: string[] = [];
    const report = await createAll(app, { logger: { warn: (m) => warnings.push(m) } });
    expect(report.invalidation?.cloudflare?.error).toMatch(/HTTP 403: 10000 Authentication error/);
    expect(warnings.join('\n')).toContain('Cloudflare purge of zone');
    expect(JSON.stringify(report) + warnings.join('')).not.toContain('not-the-token-5678');
  });
});

describe('a CDN in front of the bucket', () => {
  let proxy: CdnProxy;
  let standIn: CloudFrontStandIn;
  const servedAtInvalidation: string[] = [];
  let url = '';
  afterAll(async () => {
    await proxy?.close();
    await standIn?.close();
  });

  it('serves the old object until the deploy invalidates it, then the new one', async () => {
    const bucket = await freshBucket('cdnproxy');
    proxy = await startCdnProxy({ bucketUrl: `${backend.endpoint}/${bucket}` });
    url = `${proxy.origin}/static/css/app.css`;
    standIn = await startCloudFrontStandIn({
      credentials: { accessKeyId: backend.accessKeyId, secretAccessKey: backend.secretAccessKey },
      distributions: [DIST],
      // At the moment CloudFront receives the invalidation the bucket has the new bytes; the CDN not yet.
      onInvalidation: async (paths) => {
        servedAtInvalidation.push(await (await fetch(url)).text());
        proxy.purgePaths(paths);
      },
    });
    const root = tempDir('cdnproxy');
    writeFiles(root, { 'static/css/app.css': 'body{color:red}' });
    const app: AppLike = {
      root,
      config: s3Settings(bucket, backend.endpoint, {
        FLASKS3_ONLY_MODIFIED: true,
        FLASKS3_CDN_DOMAIN: proxy.origin,
        FLASKS3_CLOUDFRONT_DISTRIBUTION_ID: DIST,
        FLASKS3_CLOUDFRONT_ENDPOINT_URL: standIn.endpoint,
        FLASKS3_PUT_BUCKET_ACL: false,
      }),
    };
    await createAll(app, { logger: quiet });
    // The first deploy has no record to tell new keys from old ones: it invalidates too (paths.ts).
    servedAtInvalidation.length = 0;
    expect(await (await fetch(url)).text()).toBe('body{color:red}');
    expect((await fetch(url)).headers.get('x-cache')).toBe('HIT');
    writeFiles(root, { 'static/css/app.css': 'body{color:blue}' });
    await createAll(app, { logger: quiet });
    expect(servedAtInvalidation).toEqual(['body{color:red}']);
    const after = await fetch(url);
    expect(await after.text()).toBe('body{color:blue}');
    expect(after.headers.get('x-cache')).toBe('MISS');
  });
});
