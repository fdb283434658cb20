// The report createAll resolves to, and the errors that carry it: built empty at the start, filled in
// by the stages, put in key order at the end. Failures before any upload (reading the record, creating
// the bucket) become one ConfigError when the settings are the cause (diagnosis.ts), else an
// UploadError listing every file as not uploaded.

import { ConfigError, UploadError } from '../errors.js';
import { diagnoseFailure } from '../s3/diagnosis.js';
import { describeError } from '../s3/errors.js';
import { redact, scrubError } from '../s3/redact.js';
import type { ProgressEvent, ReportEntry, UploadReport } from './api-types.js';
import type { UploadReason } from './plan.js';
import type { DeployContext, DeployItem, DeployRun } from './types.js';

/** The report's line for an item. */
export function reportEntry(item: DeployItem, reason: UploadReason): ReportEntry {
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

/** The report in its final order (by key), with its duration since `t0`. */
export function finishReport(report: UploadReport, t0: number): UploadReport {
  report.uploaded.sort(byKey);
  report.skipped.sort(byKey);
  report.failed.sort(byKey);
  report.durationMs = Math.round(performance.now() - t0);
  return report;
}

/** The error of a run where some files failed: the first 20, and the report. */
export function failedError(report: UploadReport): UploadError {
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
export function emptyReport(
  bucket: string,
  prefix: string,
  dryRun: boolean,
  warnings: string[],
): UploadReport {
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

/** The error of a run aborted before any upload: an empty report. */
export function abortedBeforeStart(run: DeployRun): UploadError {
  const report = emptyReport(run.bucket, run.config.prefix, run.dryRun, run.warnings);
  return abortedBeforeUpload(report, run);
}

/** An UPLOAD_ABORTED error for a run that uploaded nothing, carrying `report`. */
function abortedBeforeUpload(
  report: UploadReport,
  run: Pick<DeployRun, 'signal' | 'startedAt'>,
): UploadError {
  finishReport(report, run.startedAt);
  return new UploadError('UPLOAD_ABORTED', 'upload aborted before it started: nothing was uploaded', {
    cause: run.signal?.reason,
    report,
  });
}

/** The error of a run aborted during its uploads: what was uploaded is recorded. */
export function abortedDuringUpload(run: DeployContext, planned: number): UploadError {
  const { report } = run;
  return new UploadError(
    'UPLOAD_ABORTED',
    `upload to s3://${run.bucket}/${run.config.prefix} aborted: ${report.uploaded.length} of ${planned} files uploaded and recorded`,
    { cause: run.signal?.reason, failures: report.failed, report },
  );
}

/** ConfigError codes of first-request failures whose cause is in the settings. */
const DIAGNOSIS_CODES = {
  credentials: 'CONFIG_CREDENTIALS',
  region: 'CONFIG_REGION',
  endpoint: 'CONFIG_ENDPOINT',
  timeout: 'CONFIG_ENDPOINT',
  'not-s3': 'CONFIG_ENDPOINT',
  bucket: 'CONFIG_BUCKET',
} as const;

/**
 * A failure before any upload (record, bucket). When the settings are the cause (credentials, region,
 * an endpoint nothing answers at or that never answers, a server that is not S3, a bucket refused to us),
 * one ConfigError naming the setting to check: the same error would follow for every file. Otherwise (a
 * server error that outlived the retries) an UploadError reporting every file as not uploaded.
 */
export function preflightFailure(
  run: DeployContext,
  err: unknown,
  what: string,
  items: readonly DeployItem[],
): UploadError | ConfigError {
  const { report, secrets } = run;
  scrubError(err, secrets);
  if (run.signal?.aborted) return abortedBeforeUpload(report, run);
  const reason = describeError(err, secrets).replace(/\.$/, '');
  const diagnosis = diagnoseFailure(err, run.config);
  const hint = diagnosis ? `. ${diagnosis.hint[0]!.toUpperCase()}${diagnosis.hint.slice(1)}` : '';
  const message = redact(`${what} s3://${report.bucket}: ${reason}${hint}. Nothing was uploaded`, secrets);
  if (diagnosis) {
    return new ConfigError(DIAGNOSIS_CODES[diagnosis.kind], message, {
      cause: err,
      setting: diagnosis.setting,
    });
  }
  report.failed = items.map((i) => ({ key: i.key, file: i.file.file, message: `not uploaded: ${message}` }));
  finishReport(report, run.startedAt);
  return new UploadError('UPLOAD_FAILED', message, { cause: err, failures: report.failed, report });
}

/** The caller's onProgress, made safe: a broken progress display must not break the upload. */
export function progressEmitter(onProgress: ((event: ProgressEvent) => void) | undefined) {
  return (event: ProgressEvent): void => {
    try {
      onProgress?.(event);
    } catch {
      // A broken progress display must not break the upload.
    }
  };
}
