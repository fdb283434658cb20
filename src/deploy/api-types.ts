// The public types of createAll: its options, the progress events it emits, and the report it resolves
// to (and that its errors carry). One module, so every stage fills in the same report.

import type { S3Client } from '@aws-sdk/client-s3';
import type { InvalidationReport, OnInvalidate } from '../cdn/invalidate.js';
import type { FlaskS3Settings, NunjucksS3Config } from '../config.js';
import type { UploadFailure } from '../errors.js';
import type { UploadReason } from './plan.js';

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
  /**
   * Uploaded: the object was stored gzipped. Skipped, or in a dry run: gzip applies to the file (it is then
   * stored gzipped only if that makes it smaller).
   */
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
  /** Body bytes sent for the objects uploaded (after gzip; none for a fingerprinted key made by a server-side copy). */
  bytesSent: number;
  /** Local bytes minus gzipped bytes, over the objects uploaded gzipped (never negative: gzip is kept only when smaller). */
  bytesSavedByGzip: number;
  durationMs: number;
  /** What the CDN in front was asked to invalidate (src/cdn/); absent when no CDN is configured. */
  invalidation?: InvalidationReport;
}

/** Options of {@link createAll}: any setting (camelCase or FLASKS3_* name) overrides `app.config`. */
export interface CreateAllOptions extends NunjucksS3Config, FlaskS3Settings {
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
  /** Called after a successful deploy with the URLs it overwrote, for a CDN not built in (src/cdn/). */
  onInvalidate?: OnInvalidate;
  /** Where warnings (and a few info lines) go. @default console.warn for warnings */
  logger?: { warn(message: string): void; info?(message: string): void };
}
