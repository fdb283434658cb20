// createAll: upload every static asset of the app and its blueprints to the bucket, under the keys
// url_for renders. Order: check the settings and walk the folders (every input error before any
// request) -> read and hash -> GET the upload record (one request; it also tells whether the bucket
// exists) -> create the bucket if missing -> bucket ACL (best effort) -> uploads, concurrent, with
// retries -> write the record. What succeeded is recorded even when something failed or the run was
// aborted; failures are reported together at the end.

import { setMaxListeners } from 'node:events';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import type {
  BucketLocationConstraint,
  CompletedPart,
  CreateMultipartUploadCommandInput,
  PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { type AppLike, objectKey, staticMounts } from '../app.js';
import {
  checkCdnSettings,
  type InvalidationReport,
  invalidateAfterDeploy,
  type OnInvalidate,
} from '../cdn/invalidate.js';
import {
  findSetting,
  type NunjucksS3Config,
  type ResolvedConfig,
  requireBucketName,
  resolveConfig,
  setting,
  settingLabel,
} from '../config.js';
import { factsOfFile, integrityOf } from '../content/fingerprint.js';
import { gzipBuffer, gzipStream } from '../content/gzip.js';
import { createHasher, type Hasher } from '../content/hash.js';
import { checkHeaderSettings, createHeaderResolver, type ObjectSettings } from '../content/headers.js';
import { manifestFile } from '../content/manifest.js';
import { ConfigError, UploadError, type UploadFailure } from '../errors.js';
import { publicReadPolicy } from '../s3/bucket-policy.js';
import {
  clientSecrets,
  createS3Client,
  describeError,
  diagnoseFailure,
  errorCode,
  httpStatus,
  isTransient,
  retryDelay,
  scrubError,
  type WarnLogger,
} from '../s3/client.js';
import { type DirectPut, directPutter, retryAfterMs } from '../s3/direct-put.js';
import { s3Sdk, storageSdk } from '../s3/sdk.js';
import { finishDeploy, recordDeploy } from './after-upload.js';
import { type DiscoverOptions, discoverFiles, type LocalFile } from './discover.js';
import { fingerprintedKeys, withFingerprintedKeys } from './fingerprint-upload.js';
import {
  type CachedHash,
  type FileStamp,
  hashCacheFile,
  loadHashCache,
  sameStamp,
  saveHashCache,
  settled,
  stampOf,
} from './hash-cache.js';
import { planUploads, type UploadReason } from './plan.js';
import { emptyRecord, RecordKeeper, readRecord, recordKey, type UploadRecord } from './record.js';

/** What createAll reports as it goes. */
export type ProgressEvent =
  /** Uploads begin: the files and bytes to upload (after skipping unchanged ones). */
  | { type: 'start'; totalFiles: number; totalBytes: number }
  /** One file is done (`ok`) or failed; `bytes` is its local size. */
  | { type: 'file'; key: string; bytes: number; doneFiles: number; doneBytes: number; ok: boolean }
  | { type: 'end' };

/** One file in the report. */
export interface ReportEntry {
  key: string;
  /** Absolute path of the local file. */
  file: string;
  /** Local size in bytes (before gzip). */
  size: number;
  contentType: string;
  gzip: boolean;
  /** Why it was uploaded or skipped; see {@link UploadReason}. */
  reason: UploadReason;
}

/** What createAll did. */
export interface UploadReport {
  bucket: string;
  prefix: string;
  dryRun: boolean;
  /** Uploaded (in a dry run: what would be uploaded), sorted by key. */
  uploaded: ReportEntry[];
  /** Skipped: unchanged since the recorded upload (onlyModified), sorted by key. */
  skipped: ReportEntry[];
  /** Not uploaded, with the reason. */
  failed: UploadFailure[];
  /**
   * Stale keys deleted by `deleteStale`, sorted; in a dry run, the keys a real run would delete. Empty
   * when deleteStale is off, when maxDeletes refused (see warnings), and when any upload failed.
   */
  deleted: string[];
  /** Everything that was not done as configured, each said once. */
  warnings: string[];
  /** Body bytes sent for the objects uploaded (after gzip). */
  bytesSent: number;
  /** Local bytes minus gzipped bytes, over the gzipped objects uploaded (can be negative for tiny files). */
  bytesSavedByGzip: number;
  durationMs: number;
  /** What the CDN in front was asked to invalidate (src/cdn/); absent when no CDN is configured. */
  invalidation?: InvalidationReport;
}

/** Options of {@link createAll}: any setting (camelCase or FLASKS3_* name) overrides `app.config`. */
export interface CreateAllOptions extends NunjucksS3Config {
  /** Flask-S3's name for accessKeyId. */
  user?: string;
  /** Flask-S3's name for secretAccessKey. */
  password?: string;
  /** Flask-S3's name for region (`'EU'`, `''` and `'DEFAULT'` are understood). */
  location?: string;
  /** An S3 client to use instead of one built from the settings (its own retry settings apply too). */
  client?: S3Client;
  /** Stops new uploads and aborts those in flight; what finished is recorded, then createAll rejects. */
  signal?: AbortSignal;
  /**
   * Plan only: read the record (with deleteStale, also list the static prefixes), change nothing: no
   * upload, no record, no manifest, no deletion. @default false
   */
  dryRun?: boolean;
  onProgress?: (event: ProgressEvent) => void;
  /** Where warnings (and a few info lines) go. @default console.warn for warnings */
  logger?: { warn(message: string): void; info?(message: string): void };
  /** Called after a successful deploy with the URLs it overwrote, for a CDN not built in (src/cdn/). */
  onInvalidate?: OnInvalidate;
}

/** Files smaller than this are read into memory once (hash, gzip, send); larger ones are streamed. */
const BUFFER_LIMIT = 2 * 1024 * 1024;
/** Bytes of small files kept in memory between hashing and uploading (beyond it they are read again). */
const KEEP_BUDGET = 64 * 1024 * 1024;
/** Part size of multipart uploads (S3 allows 10,000 parts: larger files get larger parts). */
const PART_SIZE = 8 * 1024 * 1024;

/** Errors after which no other request can succeed: stop instead of failing every file slowly. */
const FATAL = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'NoSuchBucket',
  'AllAccessDisabled',
  'AccountProblem',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'InvalidBucketName',
  'CredentialsProviderError',
]);

/** Options that are not settings. */
const OPTION_NAMES = new Set([
  'user',
  'password',
  'location',
  'client',
  'signal',
  'dryRun',
  'onProgress',
  'logger',
  'onInvalidate',
]);

/** The hash of an item not read yet: the plan uploads it anyway, and it is hashed as it is sent. */
const UNHASHED = '';

interface Item {
  file: LocalFile;
  /** xxh64 of the bytes, or {@link UNHASHED}. */
  hash: string;
  size: number;
  /** The file's stat when createAll first looked at it (before reading it), for the hash cache. */
  stamp: FileStamp;
  /** xxh64 of the bytes uploaded from the file (own key only), for the hash cache. */
  sentHash?: string | undefined;
  settings: ObjectSettings;
  signature: string;
  key: string;
  /** The bytes, kept from hashing while the memory budget allows. */
  body?: Buffer | undefined;
  /** sha384 SRI value of the bytes, computed while hashing when fingerprinting (for the manifest). */
  integrity?: string | undefined;
}

interface Sent {
  hash: string;
  size: number;
  bytesSent: number;
}

/** Split createAll's options into settings overrides and the rest; map Flask-S3's argument names. */
function settingsOverrides(options: CreateAllOptions): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (OPTION_NAMES.has(name)) continue;
    if (!findSetting(name)) {
      throw new ConfigError('CONFIG_UNKNOWN', `createAll: unknown option ${JSON.stringify(name)}`, {
        setting: name,
      });
    }
    overrides[name] = value;
  }
  const alias = (
    flaskName: 'user' | 'password' | 'location',
    camel: 'accessKeyId' | 'secretAccessKey' | 'region',
  ) => {
    const v = options[flaskName];
    if (v === undefined) return;
    const spec = setting(camel);
    const other = overrides[camel] ?? overrides[spec.flask];
    if (other !== undefined && other !== v) {
      throw new ConfigError(
        'CONFIG_CONFLICT',
        `createAll: ${flaskName} and ${settingLabel(spec)} are both given, with different values`,
        {
          setting: settingLabel(spec),
        },
      );
    }
    overrides[camel] = v;
  };
  alias('user', 'accessKeyId');
  alias('password', 'secretAccessKey');
  alias('location', 'region');
  return overrides;
}

/** Whether an error may be a refusal of the ACL we sent (not of the object itself). */
function isAclRefusal(err: unknown): boolean {
  const code = errorCode(err);
  return (
    code === 'AccessControlListNotSupported' ||
    code === 'NotImplemented' ||
    httpStatus(err) === 501 ||
    code === 'AccessDenied' ||
    ((code === 'InvalidRequest' || code === 'InvalidArgument') && /acl/i.test(String((err as Error).message)))
  );
}

/** Refusals that are about the ACL for sure (an AccessDenied is only when a retry without ACL works). */
function isDefiniteAclRefusal(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'AccessControlListNotSupported' || code === 'NotImplemented' || httpStatus(err) === 501;
}

/** Run `fn` over `items` with at most `limit` at once; stops taking new ones when `stop()` says so. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  stop = () => false,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A pass-through that hashes what flows through it; `onDone` gets the hash and size at the end. With
 * `expected` (a byte count), a shorter stream fails instead: the file shrank while it was being sent.
 */
function hashingStream(
  hasher: Hasher,
  onDone: (hash: string, size: number) => void,
  expected?: { length: number; file: string },
): Transform {
  const state = hasher.createState();
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      state.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (expected && size !== expected.length) {
        done(new Error(`${expected.file} changed while it was being uploaded (it is shorter)`));
        return;
      }
      onDone(state.digest(), size);
      done();
    },
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  return reason instanceof Error ? reason : Object.assign(new Error('aborted'), { name: 'AbortError' });
}

/**
 * Upload every static asset of `app` to its bucket, under the keys url_for renders. Resolves to a
 * report; rejects with a ConfigError on bad input (before any request; or after the first one, when it
 * shows the credentials, region or endpoint are wrong: nothing is uploaded), and with an UploadError
 * (`failures`, `report`) when any file failed or the run was aborted, after uploading and recording
 * everything it could.
 */
export async function createAll(app: AppLike, options: CreateAllOptions = {}): Promise<UploadReport> {
  const t0 = performance.now();
  const logger: WarnLogger & { info?(message: string): void } = options.logger ?? {
    warn: (m) => console.warn(m),
  };
  const dryRun = options.dryRun ?? false;
  // Requests listen on their own signal, relayed from the caller's: the SDK adds an abort listener per
  // request in flight, which on the caller's signal tripped Node's "possible EventTarget memory leak"
  // warning from 11 concurrent requests (every CLI run printed it).
  const signal = options.signal ? AbortSignal.any([options.signal]) : undefined;
  if (signal) setMaxListeners(0, signal);

  // 1. Settings and files: every input error now, before any request.
  const config = resolveConfig(app.config ?? {}, settingsOverrides(options));
  const bucket = requireBucketName(config, 'to upload');
  if (!options.client && (config.accessKeyId === undefined) !== (config.secretAccessKey === undefined)) {
    const missing = setting(config.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey');
    throw new ConfigError(
      'CONFIG_CREDENTIALS',
      `${settingLabel(missing)} is missing: give both the access key id and the secret, or neither`,
      {
        setting: settingLabel(missing),
      },
    );
  }
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    logger.warn(message);
  };
  for (const w of checkHeaderSettings(config)) warn(w);
  const mounts = staticMounts(app);
  const discoverOptions: DiscoverOptions = {
    prefix: config.prefix,
    includeHidden: config.includeHidden,
    filepathFilterRegex: config.filepathFilterRegex,
  };
  const discovery = await discoverFiles(mounts, discoverOptions);
  for (const w of discovery.warnings) warn(w);
  const rKey = recordKey(config.prefix);
  const clash = discovery.files.find((f) => f.key === rKey);
  if (clash) {
    throw new ConfigError('FILE_NAME', `${clash.file} would overwrite the upload record ${rKey}; rename it`, {
      setting: 'app.staticFolder',
    });
  }

  const resolveHeaders = createHeaderResolver(config);
  const hasher = await createHasher();
  // Every file is opened now (an unreadable one is an input error), but read only when its hash is
  // needed: for fingerprinted names (now), or to compare with a record entry of the same size (after
  // the record is read). Everything else is hashed as it is sent: a first deploy reads each file once.
  const cacheFile = config.hashCache
    ? hashCacheFile(
        app.root ?? process.cwd(),
        mounts.map((m) => m.folder),
        (s) => hasher.hashBytes(Buffer.from(s, 'utf8')),
      )
    : undefined;
  const cache = cacheFile !== undefined ? loadHashCache(cacheFile) : undefined;
  const seenAt = Date.now();
  const ownItems = statFiles(discovery.files, resolveHeaders, cache);
  const withIntegrity = config.fingerprint !== false;
  if (withIntegrity) await hashItems(ownItems, hasher, cache, signal, true);
  // With fingerprint 'filename', each file also goes up under its fingerprinted key (fingerprint-upload.ts).
  const items = withIntegrity ? withFingerprintedKeys(ownItems, config.prefix, config.fingerprint) : ownItems;
  if (signal?.aborted) throw abortedBeforeStart(bucket, config.prefix, dryRun, warnings, t0, signal);

  // 2. The network.
  const client = options.client ?? createS3Client(config, logger);
  const secrets = [config.accessKeyId, config.secretAccessKey, config.sessionToken].filter(
    (s): s is string => !!s,
  );
  const report = emptyReport(bucket, config.prefix, dryRun, warnings);
  const keyPrefixes = mounts.map((m) => objectKey(config.prefix, m, ''));
  const finishInput = () => ({
    client,
    config,
    manifestFile: manifestFile(app.root, config.manifestPath),
    folderKeys: keyPrefixes,
    items,
    dryRun,
    report,
    warn,
    secrets,
    signal,
  });
  checkCdnSettings(config, options.onInvalidate !== undefined); // the CDN in front (src/cdn/): before any request
  const invalidateCdn = () =>
    invalidateAfterDeploy({
      config,
      bucket,
      uploaded: report.uploaded,
      fingerprinted: fingerprintedKeys(items),
      dryRun,
      onInvalidate: options.onInvalidate,
      warn,
      info: logger.info?.bind(logger),
    });
  let keeper: RecordKeeper | undefined;
  try {
    let record: UploadRecord | undefined;
    let bucketExists = true;
    // Credentials from the SDK's chain or an injected client are secrets too (a server may echo them).
    for (const s of await clientSecrets(client)) if (!secrets.includes(s)) secrets.push(s);
    try {
      const read = await readRecord(client, bucket, config.prefix, signal);
      if (read.status === 'found') record = read.record;
      else if (read.status === 'no-bucket') bucketExists = false;
      else if (read.status === 'unusable') {
        warn(
          `the upload record s3://${bucket}/${rKey} could not be used (${read.problem}); every file is uploaded and the record rewritten`,
        );
        bucketExists = await headBucket(client, bucket, signal);
      }
    } catch (err) {
      throw preflightFailure(
        err,
        'could not read the upload record from',
        items,
        report,
        secrets,
        t0,
        signal,
        config,
      );
    }

    if (config.onlyModified && record) {
      const objects = record.objects;
      const toCompare = items.filter(
        (i) => i.hash === UNHASHED && Object.hasOwn(objects, i.key) && objects[i.key]!.size === i.size,
      );
      await hashItems(toCompare, hasher, cache, signal, false);
      if (signal?.aborted) throw abortedBeforeStart(bucket, config.prefix, dryRun, warnings, t0, signal);
    }
    const plan = planUploads(items, record, config.onlyModified);
    for (const p of plan.skip) p.item.body = undefined;
    report.skipped = plan.skip.map((p) => entry(p.item, p.reason));
    if (!bucketExists && dryRun) warn(`bucket ${bucket} does not exist; a real run creates it`);

    if (dryRun) {
      report.uploaded = plan.upload.map((p) => entry(p.item, p.reason));
      if (bucketExists) await finishDeploy({ ...finishInput(), previousDeploys: record?.deploys ?? [] });
      report.invalidation = await invalidateCdn(); // the CDN in front: the paths a real run would invalidate
      return finish(report, t0);
    }

    if (!bucketExists) {
      try {
        await createBucket(client, bucket, signal);
        logger.info?.(`created bucket ${bucket}`);
      } catch (err) {
        throw preflightFailure(
          err,
          'could not create the bucket',
          items,
          report,
          secrets,
          t0,
          signal,
          config,
        );
      }
    }

    // Like the original, the bucket ACL is set on every run that uploads something (so an unchanged
    // re-deploy stays one GET); refused, it is a warning with the bucket policy to use instead.
    const aclWarnings = { policyShown: false, objectAclOff: false };
    if (config.putBucketAcl && plan.upload.length > 0) {
      try {
        await client.send(new (s3Sdk().PutBucketAclCommand)({ Bucket: bucket, ACL: 'public-read' }), {
          abortSignal: signal,
        });
      } catch (err) {
        if (signal?.aborted)
          throw preflightFailure(err, 'aborted', items, report, secrets, t0, signal, config);
        aclWarnings.policyShown = true;
        // A bucket with ACLs disabled (every new AWS bucket) refuses object ACLs too, except
        // bucket-owner-full-control: say both at once, and send no object ACL to be refused.
        const noAcls =
          errorCode(err) === 'AccessControlListNotSupported' &&
          config.objectAcl !== undefined &&
          config.objectAcl !== 'bucket-owner-full-control';
        if (noAcls) {
          aclWarnings.objectAclOff = true;
          warn(
            `${settingLabel(setting('putBucketAcl'))} and ${settingLabel(setting('objectAcl'))}: the bucket does not ` +
              `allow ACLs (${describeError(err, secrets)}): neither the bucket ACL public-read nor the object ACL ` +
              `${config.objectAcl} was set, and objects are uploaded without an ACL. To make the static files public, ` +
              `attach this bucket policy (on AWS, also allow public policies in the bucket's Block Public Access ` +
              `settings), or set putBucketAcl to false and objectAcl to 'none' to silence this warning:\n` +
              publicReadPolicy(bucket, keyPrefixes),
          );
        } else {
          warn(
            `${settingLabel(setting('putBucketAcl'))}: the bucket ACL public-read was not set: ${describeError(err, secrets)}. ` +
              `Uploads go on. To make the static files public, attach this bucket policy instead (on AWS, also allow ` +
              `public policies in the bucket's Block Public Access settings), or set putBucketAcl to false to ` +
              `silence this warning:\n${publicReadPolicy(bucket, keyPrefixes)}`,
          );
        }
      }
    }

    // 3. Uploads.
    const recordKeeper = new RecordKeeper(client, record ?? emptyRecord(bucket, config.prefix));
    keeper = recordKeeper;
    recordKeeper.start();
    const todo = plan.upload.slice().sort((a, b) => b.item.size - a.item.size); // largest first: no long tail
    let totalBytes = 0;
    for (const p of todo) totalBytes += p.item.size;
    const progress = (event: ProgressEvent) => {
      try {
        options.onProgress?.(event);
      } catch {
        // A broken progress display must not break the upload.
      }
    };
    progress({ type: 'start', totalFiles: todo.length, totalBytes });

    let aclOn = config.objectAcl !== undefined && !aclWarnings.objectAclOff;
    const refuseAcl = (err: unknown) => {
      if (!aclOn) return;
      aclOn = false;
      const what = `${settingLabel(setting('objectAcl'))}: the object ACL ${config.objectAcl} was not set: the server refused it (${describeError(err, secrets)}). Objects are uploaded without an ACL.`;
      if (config.objectAcl !== 'public-read') {
        warn(`${what} Objects are private unless a bucket policy says otherwise.`);
      } else if (aclWarnings.policyShown) {
        warn(`${what} To make them public, attach the bucket policy printed above.`);
      } else {
        warn(
          `${what} To make them public, attach this bucket policy (on AWS, also allow public policies in the ` +
            `bucket's Block Public Access settings), or set objectAcl to 'none' to silence this warning:\n` +
            publicReadPolicy(bucket, keyPrefixes),
        );
      }
    };

    const directPut = directPutter(client, config, bucket, options.client !== undefined);
    const ctx: SendContext = { client, bucket, hasher, config, signal, directPut };
    let doneFiles = 0;
    let doneBytes = 0;
    let stopReason: string | undefined;
    let transientStreak = 0;
    const attempted = new Set<string>();

    await pool(
      todo,
      config.concurrency,
      async ({ item, reason }) => {
        attempted.add(item.key);
        recordKeeper.forget(item.key);
        let ok = false;
        try {
          const acl = aclOn ? config.objectAcl : undefined;
          let sent: Sent;
          try {
            sent = await sendObject(ctx, item, acl);
          } catch (err) {
            if (!acl || signal?.aborted || !isAclRefusal(err)) throw err;
            if (isDefiniteAclRefusal(err)) refuseAcl(err);
            sent = await sendObject(ctx, item, undefined);
            refuseAcl(err); // AccessDenied with the ACL, fine without it: the ACL was the problem
          }
          // With fingerprinting the key and the manifest were named by the hash taken before sending:
          // bytes that differ were written meanwhile. Fail the file (the next run uploads it) rather
          // than publish one hash's name with another's bytes. (Without, the record simply gets the
          // hash of what was sent.)
          if (namedByHash(config, item) && sent.hash !== item.hash) throw changedError(item);
          if (item.key === item.file.key) item.sentHash = sent.hash;
          recordKeeper.set(
            item.key,
            { hash: sent.hash, settings: item.signature, size: sent.size },
            item.settings.canonical,
          );
          report.uploaded.push(entry(item, reason));
          report.bytesSent += sent.bytesSent;
          if (item.settings.gzip) report.bytesSavedByGzip += sent.size - sent.bytesSent;
          transientStreak = 0;
          ok = true;
        } catch (err) {
          scrubError(err, secrets);
          const aborted = signal?.aborted === true;
          report.failed.push({
            key: item.key,
            file: item.file.file,
            message: aborted ? 'aborted' : describeError(err, secrets),
            cause: err,
          });
          const code = errorCode(err);
          if (!aborted && code !== undefined && FATAL.has(code)) stopReason ??= describeError(err, secrets);
          if (!aborted && isTransient(err) && ++transientStreak >= Math.max(config.concurrency, 4)) {
            stopReason ??= `${transientStreak} files in a row failed after ${config.maxAttempts} attempts each (last: ${describeError(err, secrets)})`;
          }
        } finally {
          item.body = undefined;
          doneFiles++;
          doneBytes += item.size;
          progress({ type: 'file', key: item.key, bytes: item.size, doneFiles, doneBytes, ok });
        }
      },
      () => signal?.aborted === true || stopReason !== undefined,
    );

    if (stopReason !== undefined && !signal?.aborted) {
      for (const p of todo) {
        if (attempted.has(p.item.key)) continue;
        report.failed.push({
          key: p.item.key,
          file: p.item.file.file,
          message: `not attempted: stopped after ${stopReason}`,
        });
      }
    }

    // 4. The record: always written (merged) when anything changed, even after failures or an abort.
    const deployed = report.failed.length === 0 && !signal?.aborted;
    const previousDeploys = deployed ? recordDeploy(recordKeeper, items, config) : [];
    try {
      await recordKeeper.finish();
    } catch (err) {
      scrubError(err, secrets);
      report.failed.push({
        key: rKey,
        message:
          `could not write the upload record: ${describeError(err, secrets)}. The files reported as uploaded are ` +
          `in the bucket; run again to record them (until then onlyModified may upload some of them again)`,
        cause: err,
      });
    }
    // 5. Only after a complete upload: the fingerprint manifest and stale cleanup (after-upload.ts).
    if (deployed && report.failed.length === 0) {
      const finishError = await finishDeploy({ ...finishInput(), previousDeploys, keeper: recordKeeper });
      if (finishError) {
        progress({ type: 'end' });
        finish(report, t0);
        throw finishError;
      }
    }
    progress({ type: 'end' });
    finish(report, t0);

    if (signal?.aborted) {
      throw new UploadError(
        'UPLOAD_ABORTED',
        `upload to s3://${bucket}/${config.prefix} aborted: ${report.uploaded.length} of ${todo.length} files uploaded and recorded`,
        { cause: signal.reason, failures: report.failed, report },
      );
    }
    if (report.failed.length > 0) throw failedError(report);

    // 6. The CDN in front (src/cdn/): only after a complete deploy; a failure there is a warning.
    report.invalidation = await invalidateCdn();
    return report;
  } finally {
    keeper?.stop();
    if (!options.client) client.destroy();
    if (cacheFile !== undefined && !dryRun) {
      const entries = cacheEntries(ownItems, cache, seenAt, config.filepathFilterRegex !== undefined);
      if (!sameEntries(entries, cache)) saveHashCache(cacheFile, entries);
    }
  }
}

/**
 * The hash cache to save: every file hashed by this run (read, sent, or found in the cache) whose
 * timestamps had settled when it was first seen (hash-cache.ts says why). A filtered run keeps the
 * entries of the files it did not look at.
 */
function cacheEntries(
  items: readonly Item[],
  previous: ReadonlyMap<string, CachedHash> | undefined,
  seenAt: number,
  filtered: boolean,
): Map<string, CachedHash> {
  const out = new Map<string, CachedHash>(filtered && previous ? previous : []);
  for (const item of items) {
    // What was sent is what was read last: it wins over a hash from before (or from the cache).
    const hash = item.sentHash ?? item.hash;
    if (hash === UNHASHED || !settled(item.stamp, seenAt)) {
      out.delete(item.file.file);
      continue;
    }
    out.set(item.file.file, {
      stamp: item.stamp,
      hash,
      integrity: hash === item.hash ? item.integrity : undefined,
    });
  }
  return out;
}

/** Whether the cache to save says what the loaded one says (an unchanged re-deploy writes nothing). */
function sameEntries(
  a: ReadonlyMap<string, CachedHash>,
  b: ReadonlyMap<string, CachedHash> | undefined,
): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const [file, x] of a) {
    const y = b.get(file);
    if (!y || y.hash !== x.hash || y.integrity !== x.integrity || !sameStamp(x.stamp, y.stamp)) return false;
  }
  return true;
}

function entry(item: Item, reason: UploadReason): ReportEntry {
  return {
    key: item.key,
    file: item.file.file,
    size: item.size,
    contentType: item.settings.fields.ContentType,
    gzip: item.settings.gzip,
    reason,
  };
}

function byKey<T extends { key: string }>(a: T, b: T): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function finish(report: UploadReport, t0: number): UploadReport {
  report.uploaded.sort(byKey);
  report.skipped.sort(byKey);
  report.failed.sort(byKey);
  report.durationMs = Math.round(performance.now() - t0);
  return report;
}

function failedError(report: UploadReport): UploadError {
  const shown = report.failed.slice(0, 20).map((f) => `  ${f.key}: ${f.message}`);
  const more =
    report.failed.length > 20 ? [`  ... and ${report.failed.length - 20} more (see .failures)`] : [];
  return new UploadError(
    'UPLOAD_FAILED',
    `${report.failed.length} of ${report.failed.length + report.uploaded.length} uploads to s3://${report.bucket}/${report.prefix} failed ` +
      `(everything else was uploaded and recorded; run again to retry):\n${[...shown, ...more].join('\n')}`,
    { failures: report.failed, report },
  );
}

/** A report of nothing done yet: what createAll fills in, or returns when it stops before starting. */
function emptyReport(bucket: string, prefix: string, dryRun: boolean, warnings: string[]): UploadReport {
  return {
    bucket,
    prefix,
    dryRun,
    uploaded: [],
    skipped: [],
    failed: [],
    deleted: [],
    warnings,
    bytesSent: 0,
    bytesSavedByGzip: 0,
    durationMs: 0,
  };
}

function abortedBeforeStart(
  bucket: string,
  prefix: string,
  dryRun: boolean,
  warnings: string[],
  t0: number,
  signal: AbortSignal,
) {
  const report = emptyReport(bucket, prefix, dryRun, warnings);
  finish(report, t0);
  return new UploadError('UPLOAD_ABORTED', 'upload aborted before it started: nothing was uploaded', {
    cause: signal.reason,
    report,
  });
}

/** ConfigError codes of first-request failures whose cause is in the settings. */
const DIAGNOSIS_CODES = {
  credentials: 'CONFIG_CREDENTIALS',
  region: 'CONFIG_REGION',
  endpoint: 'CONFIG_ENDPOINT',
} as const;

/**
 * A failure before any upload (record, bucket). When the settings are the cause (credentials, region,
 * an endpoint nothing answers at), one ConfigError naming the setting to check: the same error would
 * follow for every file. Otherwise an UploadError reporting every file as not uploaded, with the reason.
 */
function preflightFailure(
  err: unknown,
  what: string,
  items: readonly Item[],
  report: UploadReport,
  secrets: readonly string[],
  t0: number,
  signal: AbortSignal | undefined,
  config: ResolvedConfig,
): UploadError | ConfigError {
  scrubError(err, secrets);
  if (signal?.aborted) {
    finish(report, t0);
    return new UploadError('UPLOAD_ABORTED', 'upload aborted before it started: nothing was uploaded', {
      cause: signal.reason,
      report,
    });
  }
  const reason = describeError(err, secrets).replace(/\.$/, '');
  const diagnosis = diagnoseFailure(err, config);
  const hint = diagnosis ? `. ${diagnosis.hint[0]!.toUpperCase()}${diagnosis.hint.slice(1)}` : '';
  const message = `${what} s3://${report.bucket}: ${reason}${hint}. Nothing was uploaded`;
  if (diagnosis && diagnosis.kind !== 'timeout') {
    return new ConfigError(DIAGNOSIS_CODES[diagnosis.kind], message, {
      cause: err,
      setting: diagnosis.setting,
    });
  }
  report.failed = items.map((i) => ({ key: i.key, file: i.file.file, message: `not uploaded: ${message}` }));
  finish(report, t0);
  return new UploadError('UPLOAD_FAILED', message, { cause: err, failures: report.failed, report });
}

/** HeadBucket: false when the bucket does not exist; true when it does or we cannot tell (403). */
async function headBucket(client: S3Client, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await client.send(new (s3Sdk().HeadBucketCommand)({ Bucket: bucket }), { abortSignal: signal });
    return true;
  } catch (err) {
    if (httpStatus(err) === 404 || errorCode(err) === 'NotFound' || errorCode(err) === 'NoSuchBucket')
      return false;
    if (httpStatus(err) === 403) return true;
    throw err;
  }
}

/** CreateBucket, with the client's region as LocationConstraint outside us-east-1 (the original never sent one). */
async function createBucket(client: S3Client, bucket: string, signal?: AbortSignal): Promise<void> {
  const region = await client.config.region();
  const constraint =
    region && region !== 'us-east-1' ? { LocationConstraint: region as BucketLocationConstraint } : undefined;
  try {
    await client.send(
      new (s3Sdk().CreateBucketCommand)({ Bucket: bucket, CreateBucketConfiguration: constraint }),
      {
        abortSignal: signal,
      },
    );
  } catch (err) {
    // Created meanwhile by us (a retry after a lost response, or a concurrent deploy): fine.
    if (errorCode(err) === 'BucketAlreadyOwnedByYou') return;
    throw err;
  }
}

/** All unreadable files at once, as one ConfigError (nothing was uploaded). */
function unreadableFiles(problems: string[], causes: unknown[]): ConfigError {
  problems.sort();
  return new ConfigError(
    'FILE_UNREADABLE',
    `cannot read ${problems.length === 1 ? 'a file' : `${problems.length} files`} to upload (nothing was uploaded):\n  ${problems.join('\n  ')}`,
    { cause: causes[0] },
  );
}

function problemOf(file: LocalFile, err: unknown): string {
  return `${file.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
}

/**
 * Take every file's stat (the size decides how it is sent; the stat is checked against the hash cache)
 * and open it, so an unreadable one is an input error before any request. A file whose stat is the one
 * cached is not opened: it has not changed (not even its permissions, which set ctime) since a deploy
 * read it. Nothing is read yet.
 */
function statFiles(
  files: readonly LocalFile[],
  resolveHeaders: ReturnType<typeof createHeaderResolver>,
  cache: ReadonlyMap<string, CachedHash> | undefined,
): Item[] {
  const items: Item[] = [];
  const problems: string[] = [];
  const causes: unknown[] = [];
  for (const file of files) {
    try {
      const stamp = stampOf(statSync(file.file));
      const cached = cache?.get(file.file);
      // A file the cache vouches for is not opened, but must still be readable by whoever runs this
      // deploy (the cache may have been written by another user): access() is one syscall, no open.
      if (!cached || !sameStamp(cached.stamp, stamp)) closeSync(openSync(file.file, 'r'));
      else accessSync(file.file, fsConstants.R_OK);
      const settings = resolveHeaders(file.relPath);
      items.push({
        file,
        hash: UNHASHED,
        size: stamp.size,
        stamp,
        settings,
        signature: settings.signature,
        key: file.key,
      });
    } catch (err) {
      problems.push(problemOf(file, err));
      causes.push(err);
    }
  }
  if (problems.length > 0) throw unreadableFiles(problems, causes);
  return items;
}

/**
 * Hash the items (in place): from the hash cache when the file's stat is the one cached, else by
 * reading the file. Small files are read synchronously: nothing else runs yet, and from the page cache
 * that is 3-4 times faster than fs.promises (measured on 2,000 files); the loop yields every 50 ms so
 * an abort still gets through. Their bytes are kept for the upload while the memory budget allows.
 * Large files are hashed in chunks. All unreadable files are reported at once, as one ConfigError.
 */
async function hashItems(
  items: readonly Item[],
  hasher: Hasher,
  cache: ReadonlyMap<string, CachedHash> | undefined,
  signal: AbortSignal | undefined,
  withIntegrity: boolean,
): Promise<void> {
  const problems: string[] = [];
  const causes: unknown[] = [];
  const large: Item[] = [];
  const fail = (item: Item, err: unknown) => {
    problems.push(problemOf(item.file, err));
    causes.push(err);
  };
  let kept = 0;
  let scratch: Buffer | undefined;
  let lastYield = performance.now();
  for (let i = 0; i < items.length; i++) {
    if ((i & 31) === 0 && performance.now() - lastYield > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
      if (signal?.aborted) return;
    }
    const item = items[i]!;
    const cached = cache?.get(item.file.file);
    if (cached && sameStamp(cached.stamp, item.stamp) && (!withIntegrity || cached.integrity)) {
      item.hash = cached.hash;
      item.integrity = cached.integrity; // kept in the cache for the next fingerprinting run
      continue;
    }
    if (item.size >= BUFFER_LIMIT) {
      large.push(item);
      continue;
    }
    let fd: number | undefined;
    try {
      fd = openSync(item.file.file, 'r');
      // Bytes kept for the upload get their own buffer; past the budget, one scratch buffer is reused
      // (a fresh buffer per file would leave hundreds of MB of garbage on a big site).
      const keep = kept + item.size <= KEEP_BUDGET;
      if (!keep) scratch ??= Buffer.allocUnsafeSlow(BUFFER_LIMIT);
      const bytes = readWhole(fd, item.size, keep ? undefined : scratch);
      if (keep) {
        item.body = bytes;
        kept += bytes.length;
      }
      item.hash = hasher.hashBytes(bytes);
      item.integrity = withIntegrity ? integrityOf(bytes) : undefined;
      item.size = bytes.length;
    } catch (err) {
      fail(item, err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  await pool(
    large,
    4,
    async (item) => {
      try {
        const { hash, size, integrity } = withIntegrity
          ? await factsOfFile(item.file.file)
          : { ...(await hasher.hashFile(item.file.file)), integrity: undefined };
        item.hash = hash;
        item.size = size;
        item.integrity = integrity;
      } catch (err) {
        fail(item, err);
      }
    },
    () => signal?.aborted === true,
  );
  if (problems.length > 0) throw unreadableFiles(problems, causes);
}

/**
 * The file's bytes, read from an open descriptor whose size is known (it may shrink meanwhile), into
 * `into` (a scratch buffer of at least `size` bytes) or a new buffer.
 */
function readWhole(fd: number, size: number, into?: Buffer): Buffer {
  const buf = into ?? Buffer.allocUnsafeSlow(size);
  let offset = 0;
  while (offset < size) {
    const n = readSync(fd, buf, offset, size - offset, offset);
    if (n === 0) break;
    offset += n;
  }
  return offset < buf.length ? buf.subarray(0, offset) : buf;
}

interface SendContext {
  client: S3Client;
  bucket: string;
  hasher: Hasher;
  config: ResolvedConfig;
  signal: AbortSignal | undefined;
  /** PUTs of bodies in memory without the SDK's middleware, where that is safe (src/direct-put.ts). */
  directPut: DirectPut | undefined;
}

/**
 * Upload one object. Small files go as one Buffer (through directPut where it applies, retried here;
 * else the SDK, which retries them); mid-size files as a file stream (re-opened for each attempt,
 * retried here); files at or above multipartThreshold that need more than one part as a multipart
 * upload of parts streamed from the file (sendParts); large gzipped files (length unknown in advance)
 * through lib-storage's Upload (parts retried by the SDK).
 */
async function sendObject(ctx: SendContext, item: Item, acl: string | undefined): Promise<Sent> {
  const { client, bucket, config, signal, hasher } = ctx;
  const s = item.settings;
  const params: PutObjectCommandInput = {
    Bucket: bucket,
    Key: item.key,
    ...s.fields,
    ...(Object.keys(s.metadata).length ? { Metadata: { ...s.metadata } } : {}),
    ...(acl ? { ACL: acl as PutObjectCommandInput['ACL'] } : {}),
  };

  if (item.size < BUFFER_LIMIT) {
    let bytes = item.body;
    let hash = item.hash;
    if (!bytes) {
      // Synchronous: a small file from the page cache is read faster than fs.promises can schedule it.
      bytes = readFileSync(item.file.file);
      hash = hasher.hashBytes(bytes);
      if (namedByHash(config, item) && hash !== item.hash) throw changedError(item);
    }
    const body = s.gzip ? await gzipBuffer(bytes) : bytes;
    if (ctx.directPut) {
      // Retried here, as the SDK would: same policy, Retry-After honoured.
      const input = { key: item.key, body, fields: s.fields, metadata: s.metadata, acl };
      const put = ctx.directPut;
      await withRetries(config.maxAttempts, signal, () => put(input, signal));
    } else {
      await client.send(
        new (s3Sdk().PutObjectCommand)({ ...params, Body: body, ContentLength: body.length }),
        {
          abortSignal: signal,
        },
      );
    }
    return { hash, size: bytes.length, bytesSent: body.length };
  }

  const partSize = Math.max(PART_SIZE, Math.ceil(item.size / 9_000));
  if (!s.gzip && item.size >= config.multipartThreshold && item.size > partSize) {
    return await sendParts(ctx, item, params, partSize);
  }

  if (s.gzip) {
    const source = await hashedFileStream(item.file.file, hasher, 1024 * 1024);
    let sentBytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        sentBytes += chunk.length;
        done(null, chunk);
      },
    });
    const body = pipeline(gzipStream(source.stream), counter, () => {});
    await guardedSend(body, signal, (controller) =>
      new (storageSdk().Upload)({
        client,
        params: { ...params, Body: body },
        partSize,
        queueSize: 4,
        abortController: controller,
      }).done(),
    );
    return { ...(await source.result()), bytesSent: sentBytes };
  }

  // Mid-size: a stream per attempt, so a retry sends the file from its start.
  return await withRetries(config.maxAttempts, signal, async () => {
    // Bounded to the size announced: a file grown meanwhile sends (and records) what fits, a shrunk one fails.
    const source = await hashedFileStream(item.file.file, hasher, 256 * 1024, {
      start: 0,
      length: item.size,
    });
    await guardedSend(source.stream, signal, (controller) =>
      client.send(
        new (s3Sdk().PutObjectCommand)({ ...params, Body: source.stream, ContentLength: item.size }),
        {
          abortSignal: controller.signal,
        },
      ),
    );
    return { ...(await source.result()), bytesSent: item.size };
  });
}

/**
 * Whether the item's key and manifest entry were made from the hash taken before sending (fingerprinting
 * on): its bytes must then have that hash, or the name would publish other bytes.
 */
function namedByHash(config: ResolvedConfig, item: Item): boolean {
  return config.fingerprint !== false && item.hash !== UNHASHED;
}

function changedError(item: Item): Error {
  return new Error(`${item.file.file} changed while it was being uploaded; run the deploy again`);
}

/**
 * `attempt()` until it succeeds, up to `maxAttempts` times while it fails with a transient error
 * ({@link isTransient}), waiting {@link retryDelay} (or a server's Retry-After, when longer) between
 * attempts; an abort of `signal` ends the waiting. For requests the SDK does not retry itself (streamed
 * bodies, parts, direct PUTs): the same policy as the SDK's retry strategy of our clients.
 */
async function withRetries<T>(
  maxAttempts: number,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= maxAttempts || signal?.aborted || !isTransient(err)) throw err;
      await sleep(Math.max(retryAfterMs(err), retryDelay(n, err)), signal);
      if (signal?.aborted) throw abortError(signal);
    }
  }
}

/**
 * A large file as a multipart upload, each part streamed from its own range of the file (`queueSize`
 * at a time), so memory stays flat: lib-storage's Upload copies a stream into part buffers (about 90 MB
 * for 4 parts of 8 MiB, measured). Each part is retried here like a mid-size file (the SDK does not
 * retry streamed bodies); on any failure or an abort the multipart upload is aborted, so no object is
 * committed. Parts are read out of order, so the file's hash comes from one sequential read (alongside
 * the parts), and each part's bytes, hashed as they were sent, must equal that read's: the record then
 * holds the hash of what was sent, and a file changed meanwhile fails instead of being recorded wrong.
 */
async function sendParts(
  ctx: SendContext,
  item: Item,
  params: PutObjectCommandInput,
  partSize: number,
  queueSize = 4,
): Promise<Sent> {
  const { client, bucket, config, signal, hasher } = ctx;
  const file = item.file.file;
  const size = item.size;
  const count = Math.ceil(size / partSize);
  if (signal?.aborted) throw abortError(signal);
  // As lib-storage does: when the client adds checksums (AWS defaults), the upload declares CRC32 and
  // Complete lists each part's checksum.
  const checksums = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
  const { UploadId } = await client.send(
    new (s3Sdk().CreateMultipartUploadCommand)({
      ...(params as CreateMultipartUploadCommandInput),
      ...(checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
    }),
    { abortSignal: signal },
  );
  if (!UploadId) throw new Error(`CreateMultipartUpload for ${item.key} returned no UploadId`);
  const target = { Bucket: bucket, Key: item.key, UploadId };

  // Stops the other parts (and the sequential read) when one part fails or the caller aborts.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const parts: CompletedPart[] = new Array(count);
  const sentHashes: string[] = new Array(count);
  let failure: unknown;
  let completed = false;

  const sendPart = async (n: number) => {
    const start = n * partSize;
    const length = Math.min(partSize, size - start);
    await withRetries(config.maxAttempts, stop.signal, async () => {
      const source = await hashedFileStream(file, hasher, 256 * 1024, { start, length });
      const result = await guardedSend(source.stream, stop.signal, (controller) =>
        client.send(
          new (s3Sdk().UploadPartCommand)({
            ...target,
            PartNumber: n + 1,
            Body: source.stream,
            ContentLength: length,
            ...(checksums ? { ChecksumAlgorithm: 'CRC32' } : {}),
          }),
          { abortSignal: controller.signal },
        ),
      );
      if (!result.ETag) throw new Error(`UploadPart ${n + 1} of ${item.key} returned no ETag`);
      sentHashes[n] = (await source.result()).hash;
      parts[n] = {
        PartNumber: n + 1,
        ETag: result.ETag,
        ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}),
        ...(result.ChecksumCRC32C ? { ChecksumCRC32C: result.ChecksumCRC32C } : {}),
        ...(result.ChecksumCRC64NVME ? { ChecksumCRC64NVME: result.ChecksumCRC64NVME } : {}),
        ...(result.ChecksumSHA1 ? { ChecksumSHA1: result.ChecksumSHA1 } : {}),
        ...(result.ChecksumSHA256 ? { ChecksumSHA256: result.ChecksumSHA256 } : {}),
      };
    });
  };

  try {
    const read = hashParts(file, hasher, partSize, stop.signal);
    read.catch(() => {}); // awaited below; a failed part may stop it first
    const numbers = Array.from({ length: count }, (_, n) => n);
    await pool(
      numbers,
      queueSize,
      async (n) => {
        try {
          await sendPart(n);
        } catch (err) {
          failure ??= err;
          stop.abort(err);
        }
      },
      () => stop.signal.aborted,
    );
    if (signal?.aborted) throw abortError(signal);
    if (failure !== undefined) throw failure;
    const whole = await read;
    const changed =
      whole.size !== size ||
      whole.parts.some((h, i) => h !== sentHashes[i]) ||
      (namedByHash(config, item) && whole.hash !== item.hash);
    if (changed) throw changedError(item);
    // Not under the caller's signal: an abort while Complete is in flight could commit the object on the
    // server yet report it aborted. Every part is sent; finishing is the short, consistent way out.
    await client.send(
      new (s3Sdk().CompleteMultipartUploadCommand)({ ...target, MultipartUpload: { Parts: parts } }),
    );
    completed = true;
    return { hash: whole.hash, size: whole.size, bytesSent: size };
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onAbort);
    // Not under the caller's signal: an abort must still reach the server. Best effort (the SDK retries
    // it): a bucket lifecycle rule can clean up what a lost abort leaves.
    if (!completed) await client.send(new (s3Sdk().AbortMultipartUploadCommand)(target)).catch(() => {});
  }
}

/**
 * The file read once in order: its xxh64 and size (what the record holds) and the xxh64 of each
 * `partSize` range, to compare with the parts sent. One reused buffer: no garbage, whatever the size.
 */
async function hashParts(
  file: string,
  hasher: Hasher,
  partSize: number,
  signal: AbortSignal,
): Promise<{ hash: string; size: number; parts: string[] }> {
  const whole = hasher.createState();
  const parts: string[] = [];
  let part = hasher.createState();
  let inPart = 0;
  let total = 0;
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafeSlow(1024 * 1024);
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const bytes = buf.subarray(0, bytesRead);
      whole.update(bytes);
      total += bytesRead;
      for (let at = 0; at < bytesRead; ) {
        const take = Math.min(bytesRead - at, partSize - inPart);
        part.update(bytes.subarray(at, at + take));
        at += take;
        inPart += take;
        if (inPart === partSize) {
          parts.push(part.digest());
          part = hasher.createState();
          inPart = 0;
        }
      }
    }
  } finally {
    await fh.close();
  }
  if (inPart > 0) parts.push(part.digest());
  return { hash: whole.digest(), size: total, parts };
}

/**
 * A file (or `range` of it: one part) as a stream that hashes the bytes it reads, so the record holds
 * what was sent; a range that the file no longer fills fails the stream (the file shrank meanwhile). The
 * file is opened first: a missing file is a plain error here, not an error event in mid-request.
 */
async function hashedFileStream(
  file: string,
  hasher: Hasher,
  highWaterMark: number,
  range?: { start: number; length: number },
): Promise<{ stream: Readable; result(): Promise<{ hash: string; size: number }> }> {
  const fh = await open(file, 'r');
  let settle: { resolve(r: { hash: string; size: number }): void; reject(e: unknown): void } | undefined;
  const done = new Promise<{ hash: string; size: number }>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {}); // awaited by result() after a successful request; a failed one never asks
  const hashed = hashingStream(
    hasher,
    (hash, size) => settle!.resolve({ hash, size }),
    range ? { length: range.length, file } : undefined,
  );
  const source = fh.createReadStream({
    highWaterMark,
    ...(range ? { start: range.start, end: range.start + range.length - 1 } : {}),
  });
  // pipeline passes a read error on to `hashed` (destroying it), where guardedSend sees it.
  const stream = pipeline(source, hashed, (err) => {
    if (err) settle!.reject(err);
  });
  return {
    stream,
    // The server may answer as soon as it has every byte, before the stream has seen the file's end
    // (and run the hash's flush): wait for it. guardedSend drains the stream after a success.
    result: () => done,
  };
}

/**
 * Send a request whose body is a stream: an error of the stream (a file that cannot be read) aborts
 * the request and is what the caller sees; the caller's signal aborts it too. Without this, a stream
 * error is an uncaught exception and the request waits for a body that never ends.
 */
async function guardedSend<T>(
  body: Readable,
  signal: AbortSignal | undefined,
  run: (controller: AbortController) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let bodyError: unknown;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  body.on('error', (err) => {
    bodyError ??= err;
    controller.abort(err);
  });
  let sent = false;
  try {
    const result = await run(controller);
    sent = true;
    return result;
  } catch (err) {
    throw bodyError ?? err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // After a success the body runs to its end (its hash is taken there); after a failure it goes.
    if (sent) body.resume();
    else body.destroy();
  }
}
