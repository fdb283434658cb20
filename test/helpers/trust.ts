// What the trust suite (test/trust/) shares: seeded randomness, site versions (each a folder of its own with
// its own CLI config, so deploys of different versions can run at once), and the check every trust test ends
// with: render, through a real Nunjucks Environment and NunjucksS3, the URL url_for gives for every static
// file of the version that was last deployed successfully, GET it over HTTP from the S3 server, and compare
// the bytes (gunzipped when served gzipped) with that version's local file. Only the public API and the CLI
// process are used, so the suite judges any internal structure of createAll.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import nunjucks from 'nunjucks';
import xxhash from 'xxhash-wasm';
import { NunjucksS3 } from '../../src/index.js';
import { s3Backend, testClient } from './s3.js';
import { expectedKeys, tempDir } from './upload-check.js';

/** The seed of a trust test: TRUST_SEED when set (to replay a failure), else drawn now and printed on failure. */
export function trustSeed(): number {
  const given = process.env.TRUST_SEED;
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed gives the same schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max]. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Seeded bytes: deterministic for the same generator state. */
function seededBytes(random: () => number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE(Math.floor(random() * 2 ** 32), Math.min(i, size - 4));
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One version of a site: a folder with `static/` and the CLI's `nunjucks-s3.config.json`. */
export interface SiteVersion {
  name: string;
  root: string;
  /** The app's static folder, relative to root. */
  staticFolder: string;
  /** The URL path the app serves its folder at ('' = the bucket root). */
  staticUrlPath: string;
  /** Relative path in the static folder -> content. */
  files: Map<string, Buffer>;
}

export interface VersionsOptions {
  seed: number;
  /** Number of versions (v1, v2, ...). */
  count: number;
  /** Small files in the first version; each later one changes, removes and adds some. */
  files: number;
  /** Bytes of one large file present in every version with other bytes each time (0: none). @default 0 */
  largeBytes?: number;
  /** Hidden files (`.well-known/...`) in every version. @default false */
  hidden?: boolean;
  /** @default 'static' */
  staticFolder?: string;
  /** @default '/static' */
  staticUrlPath?: string;
  label?: string;
}

const EXTS = ['css', 'js', 'txt', 'bin', 'json'] as const;

/**
 * `count` versions of one site: v1 has `files` small files (100 B - 3 KB, spread over folders); each next
 * version changes about 15% of the previous one's files, removes about 10% and adds about 10% new ones.
 * File contents never refer to other files, so fingerprinting never rewrites them.
 */
export function makeVersions(options: VersionsOptions): SiteVersion[] {
  const random = seededRandom(options.seed);
  const staticFolder = options.staticFolder ?? 'static';
  const staticUrlPath = options.staticUrlPath ?? '/static';
  const small = () => seededBytes(random, between(random, 100, 3000));
  let nextName = 0;
  const newName = () => {
    const n = nextName++;
    return `d${n % 17}/f${n}.${EXTS[n % EXTS.length]}`;
  };
  let files = new Map<string, Buffer>();
  for (let i = 0; i < options.files; i++) files.set(newName(), small());
  const versions: SiteVersion[] = [];
  for (let v = 1; v <= options.count; v++) {
    if (v > 1) {
      const next = new Map<string, Buffer>();
      for (const [rel, bytes] of files) {
        const roll = random();
        if (roll < 0.1) continue;
        next.set(rel, roll < 0.25 ? small() : bytes);
      }
      for (let i = 0; i < Math.ceil(options.files / 10); i++) next.set(newName(), small());
      files = next;
    }
    const own = new Map(files);
    if (options.largeBytes) own.set('large/video.bin', seededBytes(random, options.largeBytes));
    if (options.hidden) own.set('.well-known/security.txt', Buffer.from(`Contact: v${v}@example.test\n`));
    const root = tempDir(`${options.label ?? 'trust'}-v${v}`);
    for (const [rel, bytes] of own) {
      const abs = path.join(root, staticFolder, rel);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, bytes);
    }
    versions.push({ name: `v${v}`, root, staticFolder, staticUrlPath, files: own });
  }
  return versions;
}

/** Settings every trust deploy shares: the bucket, the server, and URLs that point at the server itself. */
export function serverSettings(bucket: string, endpoint = s3Backend().endpoint): Record<string, unknown> {
  const s3 = s3Backend();
  return {
    FLASKS3_BUCKET_NAME: bucket,
    FLASKS3_ENDPOINT_URL: endpoint,
    FLASKS3_REGION: s3.region,
    FLASKS3_PUT_BUCKET_ACL: false,
    // Rendered URLs point at the test server, path-style, so they can be fetched.
    FLASKS3_BUCKET_DOMAIN: new URL(s3.endpoint).host,
    FLASKS3_URL_STYLE: 'path',
    FLASKS3_USE_HTTPS: false,
  };
}

/** The app description of a version (for createAll and for rendering), with `settings` on top. */
export function versionApp(version: SiteVersion, bucket: string, settings: Record<string, unknown> = {}) {
  const s3 = s3Backend();
  return {
    root: version.root,
    staticFolder: version.staticFolder,
    staticUrlPath: version.staticUrlPath,
    config: {
      ...serverSettings(bucket),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      ...settings,
    },
  };
}

/** Write the version's CLI config (credentials come from the environment, see s3Env), `endpoint` for uploads. */
export function writeCliConfig(
  version: SiteVersion,
  bucket: string,
  settings: Record<string, unknown> = {},
  endpoint = s3Backend().endpoint,
): void {
  const app = {
    staticFolder: version.staticFolder,
    staticUrlPath: version.staticUrlPath,
    config: { ...serverSettings(bucket, endpoint), ...settings },
  };
  writeFileSync(path.join(version.root, 'nunjucks-s3.config.json'), JSON.stringify(app, null, 2));
}

interface Fetched {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** What a browser sees: gunzipped when Content-Encoding is gzip. */
  body: Buffer;
  /** Set when the body is served gzipped but does not gunzip (e.g. cut short). */
  gzipError?: string;
}

/** GET `url` (the test server on 127.0.0.1) as a browser would. */
export function fetchUrl(url: string): Promise<Fetched> {
  if (!/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url)) throw new Error(`refusing to fetch ${url}`);
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const gz = res.headers['content-encoding'] === 'gzip' && res.statusCode === 200;
          try {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: gz ? gunzipSync(raw) : raw });
          } catch (err) {
            // A browser shows nothing for a gzip body cut short: report it as such, not as a test crash.
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw, gzipError: String(err) });
          }
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The URL url_for renders for each static file of `version` (relative path -> URL), in a real Environment. */
export function renderedUrls(
  version: SiteVersion,
  bucket: string,
  settings: Record<string, unknown> = {},
): Map<string, string> {
  const env = new nunjucks.Environment();
  new NunjucksS3({ env, ...versionApp(version, bucket, settings) });
  const out = new Map<string, string>();
  for (const rel of expectedKeys(path.join(version.root, version.staticFolder), '', {
    includeHidden: true,
  }).keys()) {
    out.set(rel, env.renderString("{{ url_for('static', filename=f) }}", { f: rel }));
  }
  return out;
}

/** A URL whose served bytes are not the local file's: `file -> URL: why`. */
export type WrongUrl = string;

/**
 * Every URL url_for renders for `version` (only files matching `include`, e.g. without hidden ones when
 * they are not uploaded) fetched and compared with the local file. Returns what is wrong (empty: all right).
 */
export async function wrongUrls(
  version: SiteVersion,
  bucket: string,
  settings: Record<string, unknown> = {},
  include: (rel: string) => boolean = (rel) => !rel.split('/').some((s) => s.startsWith('.')),
): Promise<WrongUrl[]> {
  const urls = [...renderedUrls(version, bucket, settings)].filter(([rel]) => include(rel));
  const wrong: WrongUrl[] = [];
  await pool(urls, 16, async ([rel, url]) => {
    const local = readFileSync(path.join(version.root, version.staticFolder, rel));
    const got = await fetchUrl(url);
    if (got.status !== 200) wrong.push(`${rel} -> ${url}: HTTP ${got.status}`);
    else if (got.gzipError)
      wrong.push(`${rel} -> ${url}: served gzipped, does not gunzip (${got.gzipError})`);
    else if (!got.body.equals(local))
      wrong.push(`${rel} -> ${url}: other bytes (${got.body.length} B, local ${local.length} B)`);
  });
  return wrong.sort();
}

/** A failure message naming the wrong URLs (the first 15) and how to replay the run. */
export function describeWrong(what: string, wrong: readonly WrongUrl[], seed: number): string {
  const shown = wrong.slice(0, 15).join('\n  ');
  return `${what}: ${wrong.length} URL(s) serve the wrong bytes (replay with TRUST_SEED=${seed}):\n  ${shown}${wrong.length > 15 ? '\n  ...' : ''}`;
}

/** Every key in the bucket under `prefix` (ListObjects v1 with Marker, which both servers page correctly). */
export async function listKeys(
  bucket: string,
  prefix = '',
  client: S3Client = testClient(),
): Promise<Set<string>> {
  const out = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: prefix || undefined, Marker: marker }),
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.add(o.Key);
    const last = page.NextMarker ?? page.Contents?.at(-1)?.Key;
    if (!page.IsTruncated || last === undefined || last === marker) return out;
    marker = last;
  }
}

const xx = await xxhash();

/** The fingerprinted key of a file (name.<first 12 hex of xxh64>.ext), computed here independently of src/. */
export function fingerprintedKey(key: string, bytes: Uint8Array): string {
  const short = xx.h64Raw(bytes).toString(16).padStart(16, '0').slice(0, 12);
  const slash = key.lastIndexOf('/');
  const dot = key.lastIndexOf('.');
  return dot > slash + 1 ? `${key.slice(0, dot)}.${short}${key.slice(dot)}` : `${key}.${short}`;
}

/** The fingerprinted keys a deploy of `version` (at `keyPrefix`, e.g. 'static') puts in the bucket. */
export function fingerprintedKeys(version: SiteVersion, keyPrefix: string): Set<string> {
  const out = new Set<string>();
  for (const [rel, bytes] of version.files) {
    if (rel.split('/').some((s) => s.startsWith('.'))) continue;
    out.add(fingerprintedKey(keyPrefix ? `${keyPrefix}/${rel}` : rel, bytes));
  }
  return out;
}
