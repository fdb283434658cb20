// The promise of the whole package, end to end: createAll uploads the site, a real Nunjucks Environment
// renders a page with url_for, and every URL in that page fetches, from the S3 server, exactly the bytes
// on disk with the right Content-Type and Content-Encoding.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll } from '../src/deploy/upload.js';
import { NunjucksS3 } from '../src/template/plugin.js';
import { freshBucket, s3Backend } from './helpers/s3.js';

const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/site');

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

describe('golden: createAll, then render, then fetch what the page links to', () => {
  it.each([
    ['plain', false],
    ['gzip', true],
  ])('%s', async (_name, gzip) => {
    const backend = s3Backend();
    const bucket = await freshBucket('golden');
    const app: AppLike = {
      root: FIXTURE,
      env: new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(FIXTURE, 'templates')), {
        autoescape: true,
      }),
      blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
      config: {
        FLASKS3_BUCKET_NAME: bucket,
        FLASKS3_BUCKET_DOMAIN: new URL(backend.endpoint).host,
        FLASKS3_URL_STYLE: 'path',
        FLASKS3_USE_HTTPS: false,
        FLASKS3_GZIP: gzip,
        FLASKS3_ENDPOINT_URL: backend.endpoint,
        FLASKS3_REGION: backend.region,
        AWS_ACCESS_KEY_ID: backend.accessKeyId,
        AWS_SECRET_ACCESS_KEY: backend.secretAccessKey,
      },
    };
    const report = await createAll(app, { logger: { warn() {} } });
    expect(report.failed).toEqual([]);

    new NunjucksS3(app);
    const html = (app.env as nunjucks.Environment).render('page.html');
    const urls = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
    expect(urls).toHaveLength(9);

    // [path in the folder, Content-Type, gzip makes it smaller (gzip is kept only then)]
    const expected: Record<string, [string, string, boolean]> = {
      'static/css/app.css': ['css/app.css', 'text/css; charset=utf-8', true],
      'admin/static/css/admin.css': ['../admin/static/css/admin.css', 'text/css; charset=utf-8', true],
      'static/fonts/inter-latin-400-normal.woff2': [
        'fonts/inter-latin-400-normal.woff2',
        'font/woff2',
        false,
      ],
      'static/img/favicon.png': ['img/favicon.png', 'image/png', false],
      'admin/static/js/admin.js': ['../admin/static/js/admin.js', 'text/javascript; charset=utf-8', false],
      'static/img/logo.svg': ['img/logo.svg', 'image/svg+xml; charset=utf-8', true],
      'static/data/read me ü.txt': ['data/read me ü.txt', 'text/plain; charset=utf-8', false],
      'static/data/site.json': ['data/site.json', 'application/json; charset=utf-8', false],
      'static/js/app.js': ['js/app.js', 'text/javascript; charset=utf-8', true],
    };
    const base = `${backend.endpoint}/${bucket}/`;
    for (const url of urls) {
      expect(url.startsWith(base), url).toBe(true);
      const key = decodeURIComponent(url.slice(base.length));
      const [rel, type, compressible] = expected[key] ?? ['', '', false];
      expect(rel, `unexpected URL ${url}`).not.toBe('');
      const res = await get(url);
      expect(res.status, url).toBe(200);
      expect(res.headers['content-type'], url).toBe(type);
      const gzipped = gzip && compressible;
      expect(res.headers['content-encoding'], url).toBe(gzipped ? 'gzip' : undefined);
      const body = gzipped ? gunzipSync(res.raw) : res.raw;
      expect(body.equals(readFileSync(path.join(FIXTURE, 'static', rel))), url).toBe(true);
    }
  });
});
