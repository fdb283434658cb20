// The sixth stage of createAll: the uploads. Largest files first (no long tail), `concurrency` at a
// time (the one pool, src/util/pool.ts); fingerprinted copies last, made from their own keys by
// server-side copies where the server allows (fingerprint-copy.ts). Each file is forgotten by the record
// before it is sent and recorded again only once it is in the bucket; its outcome goes into the report, the
// progress events and the stop rules (stop-rules.ts), a refused ACL turns ACLs off (acl-fallback.ts), and a
// bucket that wants checksums gets them from then on (object-lock.ts). Files never
// started because a stop rule fired are reported as not attempted.

import type { Hasher } from '../content/hash.js';
import { describeError } from '../s3/errors.js';
import { scrubError } from '../s3/redact.js';
import { runPool } from '../util/pool.js';
import type { ObjectAclPolicy } from './acl-fallback.js';
import type { ProgressEvent } from './api-types.js';
import { FingerprintCopies } from './fingerprint-copy.js';
import { isFingerprintedCopy } from './fingerprint-upload.js';
import { type ChecksumPolicy, sendWithChecksumFallback } from './object-lock.js';
import type { Planned } from './plan.js';
import type { RecordKeeper } from './record-keeper.js';
import { reportEntry } from './report.js';
import { StopRules } from './stop-rules.js';
import {
  changedWhileUploading,
  type DeployContext,
  type DeployItem,
  isNamedByHash,
  type SendContext,
  type SentObject,
} from './types.js';

/** What the transfer needs besides the deploy. */
export interface TransferInput {
  /** The plan's uploads. */
  uploads: readonly Planned<DeployItem>[];
  acl: ObjectAclPolicy;
  checksums: ChecksumPolicy;
  keeper: RecordKeeper;
  /** A listing confirmed the record's claims in this run: a skipped own key may be copied from. */
  claimsConfirmed: boolean;
  hasher: Hasher;
  progress: (event: ProgressEvent) => void;
}

/** Counts for the progress events. */
interface Done {
  files: number;
  bytes: number;
}

/**
 * The order of the uploads: largest first; fingerprinted copies after every own key, so that each copy
 * starts after the upload of its own key did (the pool starts items in order): it is copied from it.
 */
function uploadOrder(uploads: readonly Planned<DeployItem>[]): Planned<DeployItem>[] {
  const bySize = uploads.slice().sort((a, b) => b.item.size - a.item.size);
  return [
    ...bySize.filter((p) => !isFingerprintedCopy(p.item)),
    ...bySize.filter((p) => isFingerprintedCopy(p.item)),
  ];
}

/** Upload the planned files (see the top of this file). Resolves to how many were planned. */
export async function transferFiles(run: DeployContext, input: TransferInput): Promise<number> {
  const { config, signal } = run;
  const todo = uploadOrder(input.uploads);
  let totalBytes = 0;
  for (const p of todo) totalBytes += p.item.size;
  input.progress({ type: 'start', totalFiles: todo.length, totalBytes });
  const ctx: SendContext = {
    // The SDK client only when a file needs it (multipart, a stream): small files go the direct way.
    get client() {
      return run.s3.client();
    },
    bucket: run.bucket,
    hasher: input.hasher,
    config,
    signal,
    directPut: run.s3.directPut,
  };
  const stop = new StopRules({
    concurrency: config.concurrency,
    maxAttempts: config.maxAttempts,
    secrets: run.secrets,
  });
  const copies = new FingerprintCopies({
    objects: input.keeper.record.objects,
    confirmed: input.claimsConfirmed,
    info: (message) => run.logger.info?.(message),
    secrets: run.secrets,
  });
  if (config.fingerprint === 'filename') {
    for (const p of todo) if (!isFingerprintedCopy(p.item)) copies.expect(p.item);
  }
  const done: Done = { files: 0, bytes: 0 };
  const started = await runPool(
    todo,
    config.concurrency,
    (planned) => transferOne(run, { ctx, input, stop, done, copies }, planned),
    () => signal?.aborted === true || stop.stopped,
  );
  if (stop.reason !== undefined && !signal?.aborted) {
    for (const p of todo.slice(started)) {
      run.report.failed.push({
        key: p.item.key,
        file: p.item.file.file,
        message: `not attempted: stopped after ${stop.reason}`,
      });
    }
  }
  return todo.length;
}

/** What every upload of a transfer shares. */
interface Transfer {
  ctx: SendContext;
  input: TransferInput;
  stop: StopRules;
  done: Done;
  copies: FingerprintCopies;
}

/** Upload one file and account for it: record, report, stop rules, progress. Never throws. */
async function transferOne(
  run: DeployContext,
  { ctx, input, stop, done, copies }: Transfer,
  { item, reason }: Planned<DeployItem>,
): Promise<void> {
  const { report, secrets, signal } = run;
  input.keeper.forget(item.key);
  let ok = false;
  let sent: SentObject | undefined;
  try {
    sent = await sendWithChecksumFallback(ctx, input.checksums, (c) => copies.send(c, item, input.acl));
    // With fingerprinting the key and the manifest were named by the hash taken before sending: bytes
    // that differ were written meanwhile. Fail the file (the next run uploads it) rather than publish one
    // hash's name with another's bytes. (Without, the record simply gets the hash of what was sent.)
    if (isNamedByHash(run.config, item) && sent.hash !== item.hash) throw changedWhileUploading(item);
    if (item.key === item.file.key) item.sentHash = sent.hash;
    input.keeper.set(
      item.key,
      { hash: sent.hash, settings: item.signature, size: sent.size, etag: sent.etag, stored: sent.stored },
      item.settings.canonical,
    );
    report.uploaded.push({ ...reportEntry(item, reason), gzip: sent.gzipped });
    report.bytesSent += sent.bytesSent;
    // A server-side copy sent no bytes, so it saved none either.
    if (sent.gzipped && sent.bytesSent > 0) report.bytesSavedByGzip += sent.size - sent.stored;
    stop.succeeded();
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
    stop.failed(err, aborted);
  } finally {
    if (!isFingerprintedCopy(item)) copies.settle(item, ok ? sent : undefined);
    item.body = undefined;
    done.files++;
    done.bytes += item.size;
    input.progress({
      type: 'file',
      key: item.key,
      bytes: item.size,
      doneFiles: done.files,
      doneBytes: done.bytes,
      ok,
    });
  }
}
