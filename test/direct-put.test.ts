// src/s3/direct-put.ts: small objects PUT on the lean path (src/s3/lean/), without the SDK. What
// must hold: an object uploaded that way is the same object, with the same headers and metadata, as one
// uploaded through client.send (an injected client, which always takes the SDK path), for every header
// setting and for keys that need encoding; and an injected client's own middleware sees every PUT.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AppLike } from '../src/app.js';
import { createAll } from '../src/deploy/upload.js';
import { type FaultProxy, faults, startFaultProxy } from './helpers/fault-proxy.js';
import { freshBucket, s3Backend, testClient } from './helpers/s3.js';
import {
  expectBucketMatches,
  expectedKeys,
  removeTemps,
  runCli,
  s3Env,
  s3Settings,
  tempDir,
  writeFiles,
} from './helpers/upload-check.js';

const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(removeTemps);

const FILES: Record<string, string | Buffer> = {
  'static/css/site.css': 'body { color: #123 }\n',
  'static/js/app.js': 'console.log("app");\n'.repeat(10), // gzip pays (it is kept only then)
  "static/odd/c++ (1) !'*~.css": '.odd {}\n',
  'static/odd/ünï cødé/100% sure #1?.txt': 'percent, hash, question mark\n',
  'static/img/dot.png': Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
  'static/data/empty.json': '',
};

const HEADER_SETTINGS = {
  FLASKS3_HEADERS: {
    'Content-Disposition': 'inline',
    'Content-Language': 'en-GB',
    Expires: 'Wed, 21 Oct 2026 07:28:00 GMT',
    'X-Built-By': 'nunjucks-s3 tests',
  },
  FLASKS3_FILEPATH_HEADERS: { '\\.css$': { 'Cache-Control': 'public, max-age=600', 'X-Kind': 'style' } },
  FLASKS3_GZIP: true,
  FLASKS3_GZIP_ONLY_EXTS: ['js'],
  FLASKS3_PUT_BUCKET_ACL: false,
};

/** What a user would compare of an object: its bytes and the headers S3 gives back. */
async function objectState(client: S3Client, bucket: string, key: string) {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const get = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await get.Body!.transformToByteArray());
  return {
    bytes: bytes.toString('base64'),
    contentType: head.ContentType,
    contentLength: head.ContentLength,
    cacheControl: head.CacheControl,
    contentDisposition: head.ContentDisposition,
    contentEncoding: head.ContentEncoding,
    contentLanguage: head.ContentLanguage,
    expires: head.ExpiresString ?? head.Expires?.toUTCString(),
    metadata: head.Metadata,
  };
}

describe('direct PUTs store what client.send stores', () => {
  it('same bytes, headers and metadata for every file, with odd keys; an injected client sees every PUT', async () => {
    const root = tempDir('direct-put');
    writeFiles(root, FILES);
    const client = testClient();
    const bucket = await freshBucket('direct', client);
    // Through a proxy that notes who sent each object PUT, and answers the first one 503 SlowDown.
    const agents = new Map<string, string>();
    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      decide: (req) => {
        if (req.method === 'PUT' && req.key && !req.key.includes('.nunjucks-s3/'))
          agents.set(req.key, String(req.headers['user-agent']));
        return undefined;
      },
      rules: [{ method: 'PUT', key: /site\.css$/, fault: faults.slowDown(), times: 1 }],
    });
    proxies.push(proxy);
    const app = (prefix: string, endpoint?: string): AppLike => ({
      root,
      config: { ...s3Settings(bucket, endpoint), ...HEADER_SETTINGS, FLASKS3_PREFIX: prefix },
    });
    const quiet = { warn: () => {} };

    const direct = await createAll(app('direct', proxy.url), { logger: quiet });
    // Every small object went the direct way (its user agent), one after a retried 503.
    expect([...agents.keys()].sort()).toEqual(
      Object.keys(FILES)
        .map((f) => `direct/${f}`)
        .sort(),
    );
    expect(new Set(agents.values())).toEqual(new Set(['nunjucks-s3']));
    expect(proxy.faulted().map((e) => [e.key, e.status])).toEqual([['direct/static/css/site.css', 503]]);

    // The SDK path: an injected client, which createAll never bypasses; its middleware counts PUTs.
    const injected = testClient();
    const puts: string[] = [];
    injected.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutObjectCommand') puts.push((args.input as { Key: string }).Key);
        return next(args);
      },
      { step: 'initialize', name: 'countPuts' },
    );
    const viaSdk = await createAll(app('sdk'), { logger: quiet, client: injected });

    const keys = (report: typeof direct, prefix: string) =>
      report.uploaded.map((e) => e.key.slice(prefix.length + 1)).sort();
    expect(keys(direct, 'direct')).toEqual(Object.keys(FILES).sort());
    expect(keys(viaSdk, 'sdk')).toEqual(Object.keys(FILES).sort());
    expect(puts.filter((k) => !k.includes('.nunjucks-s3/')).sort()).toEqual(
      Object.keys(FILES)
        .map((f) => `sdk/${f}`)
        .sort(),
    );

    for (const file of Object.keys(FILES)) {
      const a = await objectState(client, bucket, `direct/${file}`);
      const b = await objectState(client, bucket, `sdk/${file}`);
      expect(a, file).toEqual(b);
      // And against the local file, not only against each other.
      if (!file.endsWith('.js'))
        expect(Buffer.from(a.bytes, 'base64').equals(readFileSync(path.join(root, file))), file).toBe(true);
      expect(a.metadata, file).toMatchObject({ 'x-built-by': 'nunjucks-s3 tests' });
    }
    const css = await objectState(client, bucket, 'direct/static/css/site.css');
    expect(css.cacheControl).toBe('public, max-age=600');
    expect(css.contentType).toBe('text/css; charset=utf-8');
    expect(css.contentLanguage).toBe('en-GB');
    expect(css.contentDisposition).toBe('inline');
    expect(css.expires).toBe('Wed, 21 Oct 2026 07:28:00 GMT');
    expect((await objectState(client, bucket, 'direct/static/js/app.js')).contentEncoding).toBe('gzip');
  });
});

describe('direct PUTs and a wrong local clock', () => {
  it('a clock an hour fast: the first answer corrects the offset, every object is uploaded', async () => {
    const root = tempDir('direct-skew');
    const bucket = await freshBucket('skew');
    // Through a proxy that notes each object PUT's user agent and status: the direct path must have run.
    const puts: string[] = [];
    const proxy = await startFaultProxy({
      target: s3Backend().endpoint,
      decide: (req) => {
        if (req.method === 'PUT' && req.key?.startsWith('static/'))
          puts.push(String(req.headers['user-agent']));
        return undefined;
      },
    });
    proxies.push(proxy);
    writeFiles(root, {
      'static/css/a.css': 'a {}\n',
      'static/js/b.js': 'b();\n',
      'static/img/c.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
      'nunjucks-s3.config.json': JSON.stringify({
        config: s3Settings(bucket, proxy.url, { putBucketAcl: false }),
      }),
    });
    // Loaded before the CLI: Date.now() and new Date() run an hour ahead of the servers' clocks.
    const skew = path.join(root, 'skew.mjs');
    writeFileSync(
      skew,
      [
        'const Real = Date;',
        'const ahead = 3600 * 1000;',
        'globalThis.Date = class extends Real {',
        '  constructor(...a) { if (a.length === 0) super(Real.now() + ahead); else super(...a); }',
        '  static now() { return Real.now() + ahead; }',
        '};',
      ].join('\n'),
    );
    const run = await runCli(['upload'], { cwd: root, env: s3Env(), nodeArgs: ['--import', skew] });
    expect(run.stderr).not.toMatch(/RequestTimeTooSkewed|failed/);
    expect(run.code).toBe(0);
    expect(puts.length).toBeGreaterThanOrEqual(3);
    expect(new Set(puts)).toEqual(new Set(['nunjucks-s3']));
    await expectBucketMatches({ bucket, expected: expectedKeys(path.join(root, 'static'), 'static') });
  });
});
