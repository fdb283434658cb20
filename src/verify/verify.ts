// verify: what a visitor gets. For every static file, fetch the URL url_for renders (through the CDN
// domain when one is set, else the bucket) and compare status, headers, decoded bytes and SRI value with
// the local file and the settings. Only the host the settings name is ever fetched from.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type AppLike, staticMounts } from '../app.js';
import { requireBucketName, resolveConfig } from '../config.js';
import { createHeaderResolver, type ObjectSettings } from '../content/headers.js';
import { discoverFiles, type LocalFile } from '../deploy/discover.js';
import { immutableSettings } from '../deploy/fingerprint-upload.js';
import { storesGzipped } from '../deploy/send-object.js';
import { ConfigError } from '../errors.js';
import { NunjucksS3 } from '../template/plugin.js';
import { assetOrigin, encodeUrlPath } from '../template/url.js';

/** What is compared; `fetch` is a request that got no answer (timeout, refused connection). */
export type VerifyCheck =
  | 'status'
  | 'content-type'
  | 'content-encoding'
  | 'cache-control'
  | 'bytes'
  | 'integrity'
  | 'fetch';

/** One mismatch: at `url` (the object `key`), `check` was `actual` where `expected` was due. */
export interface VerifyMismatch {
  key: string;
  url: string;
  check: VerifyCheck;
  expected: string;
  actual: string;
}

/** One file: its URL and what did not match (empty: all did). */
export interface VerifiedFile {
  key: string;
  url: string;
  status: number | undefined;
  mismatches: VerifyMismatch[];
}

export interface VerifyReport {
  /** The one host fetched from (the CDN domain's, else the bucket's). */
  host: string;
  files: VerifiedFile[];
  /** Every mismatch, by key. */
  mismatches: VerifyMismatch[];
  ok: boolean;
}

export interface VerifyOptions {
  /** Requests in flight at once. @default 8 */
  concurrency?: number;
  /** Milliseconds one request may take. @default the requestTimeout setting */
  timeoutMs?: number;
  /** For tests or a proxy; called only with URLs on the settings' host. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** What one file should look like when served. */
interface Expected {
  file: LocalFile;
  url: string;
  settings: ObjectSettings;
  integrity: string | undefined;
}

/**
 * Fetch every static file of `app` at the URL url_for renders and compare it with the local file and the
 * settings. Resolves to a report (`ok` false on any mismatch); rejects with a ConfigError on settings
 * that name no bucket, or URLs outside the settings' host.
 */
export async function verify(app: AppLike, options: VerifyOptions = {}): Promise<VerifyReport> {
  const config = resolveConfig(app.config ?? {});
  const bucket = requireBucketName(config, 'to verify');
  const origin = assetOrigin(config, bucket);
  const host = origin.authority.slice(2).replace(/\/.*$/, '');
  const discovery = await discoverFiles(staticMounts(app), {
    prefix: config.prefix,
    includeHidden: config.includeHidden,
    filepathFilterRegex: config.filepathFilterRegex,
  });
  // The URLs templates get in production: active, whatever the app's debug flag says locally.
  const s3 = new NunjucksS3({
    ...app,
    debug: false,
    config: { ...app.config, FLASKS3_ACTIVE: undefined, active: true },
  });
  const settingsOf = createHeaderResolver(config);
  const expected = discovery.files.map((file): Expected => {
    const url = s3.urlFor(file.mount.endpoint, { filename: file.relPath });
    const parsed = new URL(url);
    if (parsed.host !== host) {
      throw new ConfigError('VERIFY_HOST', `verify fetches only from ${host}; url_for rendered ${url}`, {
        setting: 'cdnDomain / FLASKS3_CDN_DOMAIN',
      });
    }
    const own = settingsOf(file.relPath);
    // A fingerprinted name (fingerprint 'filename') is served with the immutable settings of its copy.
    const plainPath = new URL(`${origin.scheme}:${origin.authority}/${encodeUrlPath(file.key)}`).pathname;
    const fingerprintedName = parsed.pathname !== plainPath;
    const settings = config.fingerprint === 'filename' && fingerprintedName ? immutableSettings(own) : own;
    const integrity =
      config.fingerprint !== false
        ? s3.staticIntegrity(file.mount.endpoint, { filename: file.relPath })
        : undefined;
    return { file, url, settings, integrity };
  });

  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? config.requestTimeout;
  const files: VerifiedFile[] = new Array(expected.length);
  let next = 0;
  const worker = async () => {
    while (next < expected.length) {
      const i = next++;
      files[i] = await verifyOne(expected[i]!, send, timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, expected.length) }, worker));
  const mismatches = files.flatMap((f) => f.mismatches);
  return { host, files, mismatches, ok: mismatches.length === 0 };
}

async function verifyOne(e: Expected, send: typeof fetch, timeoutMs: number): Promise<VerifiedFile> {
  const { key } = e.file;
  const mismatches: VerifyMismatch[] = [];
  const mismatch = (check: VerifyCheck, expected: string, actual: string | null) => {
    if (actual !== expected)
      mismatches.push({ key, url: e.url, check, expected, actual: actual ?? '(none)' });
  };
  let response: Response;
  try {
    // No redirects: a 3xx is a mismatch, and it would lead to a host the settings do not name.
    response = await send(e.url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    mismatch('fetch', 'a response', (err as Error).message);
    return { key, url: e.url, status: undefined, mismatches };
  }
  mismatch('status', '200', String(response.status));
  if (response.status !== 200) {
    await response.body?.cancel();
    return { key, url: e.url, status: response.status, mismatches };
  }
  const fields = e.settings.fields;
  const headers = response.headers;
  const local = await readFile(e.file.file);
  mismatch('content-type', fields.ContentType, headers.get('content-type'));
  // With gzip on, a file is stored gzipped only when that makes it smaller (src/deploy/send-object.ts).
  const gzipped = e.settings.gzip && (await storesGzipped(local));
  const encoding = e.settings.gzip ? (gzipped ? 'gzip' : undefined) : fields.ContentEncoding;
  mismatch('content-encoding', encoding ?? '(none)', headers.get('content-encoding') ?? '(none)');
  if (fields.CacheControl !== undefined)
    mismatch('cache-control', fields.CacheControl, headers.get('cache-control'));
  // fetch decodes a gzip Content-Encoding: these are the bytes a browser hands to the page.
  let served: Buffer;
  try {
    served = Buffer.from(await response.arrayBuffer());
  } catch (err) {
    mismatch('bytes', 'a readable body', (err as Error).message);
    return { key, url: e.url, status: response.status, mismatches };
  }
  if (!served.equals(local)) {
    mismatch(
      'bytes',
      `${local.length} bytes, sha256 ${sha256(local)}`,
      `${served.length} bytes, sha256 ${sha256(served)}`,
    );
  }
  if (e.integrity !== undefined) {
    mismatch('integrity', e.integrity, `sha384-${createHash('sha384').update(served).digest('base64')}`);
  }
  return { key, url: e.url, status: response.status, mismatches };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
