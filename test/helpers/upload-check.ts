// What a user would check after a deploy, as one helper for the fault, interruption and odd-input tests:
// the keys in the bucket against the local files (found here by a plain recursive readdir, independent of
// discover.ts), each object's bytes (gunzipped when stored with Content-Encoding gzip) against its file,
// and the upload record: every key it lists must be in the bucket with the bytes, size and hash of the
// local file. The record may hold fewer keys than the bucket (a failed or interrupted run), never a claim
// that is false; s3rver keeps a body cut mid-upload as a whole object, so "exists" never means "uploaded".
// Also the small things those tests share: a temp site, the CLI run as a process, settings for the server.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { contentHash } from '../../src/content/hash.js';
import { recordKey } from '../../src/deploy/record.js';
import { readRecord } from '../../src/deploy/record-store.js';
import { UploadError } from '../../src/errors.js';
import { sdkStore } from '../../src/s3/sdk-store.js';
import { s3Backend, testClient } from './s3.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'src/cli/main.ts');
const TSX = path.join(REPO, 'node_modules/tsx/dist/loader.mjs');

/** The UploadError a promise rejects with (the test fails when it resolves, or rejects with another error). */
export async function rejection(promise: Promise<unknown>): Promise<UploadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UploadError);
  return err as UploadError;
}

/** A temp folder, removed by {@link removeTemps} (call it in afterAll). */
const temps: string[] = [];
export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `nunjucks-s3-${label}-`));
  temps.push(dir);
  return dir;
}
export function removeTemps(): void {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
}

/** Write `files` (path relative to `root` -> content) under `root`, creating folders. */
export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

/** Settings that point createAll at the test server (or at `endpoint`, e.g. a fault proxy in front of it). */
export function s3Settings(
  bucket: string,
  endpoint = s3Backend().endpoint,
  more: Record<string, unknown> = {},
): Record<string, unknown> {
  const s3 = s3Backend();
  return {
    FLASKS3_BUCKET_NAME: bucket,
    FLASKS3_ENDPOINT_URL: endpoint,
    FLASKS3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ...more,
  };
}

/** The environment of a CLI run: the test runner's, without any FLASKS3_*, AWS_* or DEBUG, plus `env`. */
export function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('FLASKS3_') && !k.startsWith('AWS_') && k !== 'DEBUG') out[k] = v;
  }
  return { ...out, NO_COLOR: '1', ...env };
}

/** The test server's credentials as the CLI reads them. */
export function s3Env(): Record<string, string> {
  const s3 = s3Backend();
  return {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Run as this user (and group) id; needs root. Root reads any file, so unreadable-file tests use nobody. */
  uid?: number;
  /** More arguments for node, before the CLI's (e.g. another --import). */
  nodeArgs?: readonly string[];
}

/** Start `nunjucks-s3 <args>` (src/cli.ts through tsx) in `cwd`; `done` settles when it exits. */
export function startCli(
  args: readonly string[],
  options: CliOptions,
): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', TSX, CLI, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/**
 * stderr without Node's process warnings (the AWS SDK warns about Node 20 support on every start): what
 * nunjucks-s3 itself printed.
 */
export function ownStderr(stderr: string): string {
  return stderr.replace(/^\(node:\d+\) [\s\S]*?\(Use `node --trace-warnings \.\.\.` [^\n]*\n/gm, '');
}

/** Run the CLI to its end. */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliRun> {
  return startCli(args, options).done;
}

/** What the record says about a key (the fields this check relies on). */
export interface RecordEntryJson {
  hash: string;
  settings: string;
  size: number;
}

/** The stored record, as JSON. */
export interface RecordJson {
  format: string;
  bucket: string;
  prefix: string;
  settings: Record<string, unknown>;
  objects: Record<string, RecordEntryJson>;
  [extra: string]: unknown;
}

/**
 * The files under `folder` by the key each should have: `keyPrefix/relative/path`. Hidden files and
 * folders (a name starting with '.') are left out unless `includeHidden`; only regular files count.
 */
export function expectedKeys(
  folder: string,
  keyPrefix: string,
  options: { includeHidden?: boolean } = {},
): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (!options.includeHidden && d.name.startsWith('.')) continue;
      const abs = path.join(dir, d.name);
      const relPath = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(abs, relPath);
      else if (d.isFile()) out.set(keyPrefix ? `${keyPrefix}/${relPath}` : relPath, abs);
    }
  };
  walk(folder, '');
  return out;
}

/**
 * The upload record of `prefix` as the next run reads it (the snapshot with the deltas of unfinished runs
 * applied), or undefined when there is none (any other error is thrown).
 */
export async function readRecordJson(
  bucket: string,
  prefix = '',
  client: S3Client = testClient(),
): Promise<RecordJson | undefined> {
  const read = await readRecord(
    sdkStore(() => client),
    bucket,
    prefix,
  );
  if (read.status === 'unusable') throw new Error(`unusable record: ${read.problem}`);
  return read.status === 'found' ? (JSON.parse(JSON.stringify(read.record)) as RecordJson) : undefined;
}

/** An object's bytes as a browser gets them: gunzipped when stored with Content-Encoding gzip. */
export async function objectBytes(
  bucket: string,
  key: string,
  client: S3Client = testClient(),
): Promise<Buffer | undefined> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const raw = Buffer.from(await out.Body!.transformToByteArray());
    return out.ContentEncoding === 'gzip' ? gunzipSync(raw) : raw;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** What {@link inspectBucket} found. Every list is sorted. */
export interface BucketState {
  /** Keys under the checked prefixes, the record folder left out. */
  keys: string[];
  record: RecordJson | undefined;
  /** Keys the record lists. */
  recorded: string[];
  /** Expected keys that are not in the bucket. */
  missing: string[];
  /** Keys in the bucket that no local file has. */
  extra: string[];
  /** Expected keys in the bucket whose bytes differ from the local file. */
  wrongBytes: string[];
  /** Claims of the record that are false: `key: why`. */
  falseClaims: string[];
}

/** Every key under `prefix` with its ETag: ListObjects (v1) with Marker, which s3rver pages correctly. */
async function listObjects(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  let marker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: prefix || undefined, Marker: marker }),
    );
    for (const o of page.Contents ?? []) if (o.Key !== undefined) out.set(o.Key, o.ETag);
    const last = page.NextMarker ?? page.Contents?.at(-1)?.Key;
    if (!page.IsTruncated || last === undefined || last === marker) return out;
    marker = last;
  }
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Compare the keys under `listPrefixes` (default: the record's prefix, i.e. the whole bucket without one)
 * with `expected` (key -> local file), and check every claim of the record of `prefix`.
 */
export async function inspectBucket(options: {
  bucket: string;
  expected: ReadonlyMap<string, string>;
  /** The record's prefix (FLASKS3_PREFIX). @default '' */
  prefix?: string;
  /** Key prefixes to list. @default [prefix] */
  listPrefixes?: readonly string[];
  client?: S3Client;
}): Promise<BucketState> {
  const client = options.client ?? testClient();
  const prefix = options.prefix ?? '';
  const recordFolder = path.posix.dirname(recordKey(prefix));
  const listed = new Map<string, string | undefined>(); // key -> ETag
  for (const p of options.listPrefixes ?? [prefix ? `${prefix}/` : '']) {
    for (const [k, etag] of await listObjects(client, options.bucket, p)) {
      if (!k.startsWith(`${recordFolder}/`)) listed.set(k, etag);
    }
  }
  const record = await readRecordJson(options.bucket, prefix, client);
  const keys = [...listed.keys()].sort();
  const missing = [...options.expected.keys()].filter((k) => !listed.has(k)).sort();
  const extra = keys.filter((k) => !options.expected.has(k));

  // Bytes of every expected object present (the record's claims are checked against these). An ETag
  // equal to the MD5 of the local file proves the bytes equal without a GET (single-part, not gzipped);
  // any other ETag (gzip, multipart) means: GET and compare.
  const present = keys.filter((k) => options.expected.has(k));
  const wrongBytes: string[] = [];
  const localHash = new Map<string, { hash: string; size: number; equal: boolean }>();
  await pool(present, 16, async (key) => {
    const local = readFileSync(options.expected.get(key)!);
    const md5 = `"${createHash('md5').update(local).digest('hex')}"`;
    const equal =
      listed.get(key) === md5 || (await objectBytes(options.bucket, key, client))?.equals(local) === true;
    if (!equal) wrongBytes.push(key);
    localHash.set(key, { hash: await contentHash(local), size: local.length, equal });
  });

  const falseClaims: string[] = [];
  const recorded = Object.keys(record?.objects ?? {}).sort();
  for (const key of recorded) {
    const claim = record!.objects[key]!;
    const local = localHash.get(key);
    if (!options.expected.has(key)) falseClaims.push(`${key}: recorded, but no local file has this key`);
    else if (!listed.has(key)) falseClaims.push(`${key}: recorded, but not in the bucket`);
    else if (!local?.equal) falseClaims.push(`${key}: recorded, but its bytes in the bucket differ`);
    else if (claim.hash !== local.hash)
      falseClaims.push(`${key}: recorded hash ${claim.hash}, local file ${local.hash}`);
    else if (claim.size !== local.size)
      falseClaims.push(`${key}: recorded size ${claim.size}, local file ${local.size}`);
    else if (!record!.settings || !(claim.settings in record!.settings))
      falseClaims.push(`${key}: settings signature ${claim.settings} not in the record's settings`);
  }
  return { keys, record, recorded, missing, extra, wrongBytes: wrongBytes.sort(), falseClaims };
}

function list(label: string, items: readonly string[]): string {
  const shown = items.slice(0, 10).join(', ');
  return items.length ? `${label} (${items.length}): ${shown}${items.length > 10 ? ', ...' : ''}` : '';
}

/**
 * Throw unless the bucket holds exactly the local files, byte for byte, except `failed` (keys allowed to
 * be missing or wrong: they failed), and the record lists every other key truthfully and none of
 * `failed`. Returns the state for further assertions.
 */
export async function expectBucketMatches(options: {
  bucket: string;
  expected: ReadonlyMap<string, string>;
  prefix?: string;
  listPrefixes?: readonly string[];
  client?: S3Client;
  /** Keys that failed: may be missing or wrong in the bucket, must not be recorded. @default [] */
  failed?: readonly string[];
  /** The record must list every expected key that did not fail. @default true */
  recordComplete?: boolean;
}): Promise<BucketState> {
  const state = await inspectBucket(options);
  const failed = new Set(options.failed ?? []);
  const recorded = new Set(state.recorded);
  const problems = [
    list(
      'missing',
      state.missing.filter((k) => !failed.has(k)),
    ),
    list('not expected', state.extra),
    list(
      'bytes differ',
      state.wrongBytes.filter((k) => !failed.has(k)),
    ),
    list('false record claims', state.falseClaims),
    list(
      'failed but recorded',
      [...failed].filter((k) => recorded.has(k)),
    ),
    options.recordComplete === false
      ? ''
      : list(
          'uploaded but not recorded',
          [...options.expected.keys()].filter((k) => !failed.has(k) && !recorded.has(k)).sort(),
        ),
    state.record === undefined && options.recordComplete !== false ? 'no upload record' : '',
  ].filter(Boolean);
  if (problems.length) {
    throw new Error(`bucket ${options.bucket} does not match the local files:\n  ${problems.join('\n  ')}`);
  }
  return state;
}
