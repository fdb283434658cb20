// What createAll does once every upload of a deploy succeeded (and only then): add the deploy to the
// record's history, write the fingerprint manifest, clean stale objects (deleteStale). In a dry run,
// only the cleanup is planned: report.deleted lists what a real run would delete. Kept out of upload.ts
// so the uploader calls it in two places and knows nothing else of issue 5.

import type { S3Client } from '@aws-sdk/client-s3';
import { type ResolvedConfig, setting, settingLabel } from '../config.js';
import { UploadError, type UploadFailure } from '../errors.js';
import { describeError, scrubError } from '../s3/client.js';
import {
  deployEntry,
  fingerprintedKeys,
  type ManifestItem,
  writeDeployManifest,
} from './fingerprint-upload.js';
import type { RecordedDeploy, RecordKeeper } from './record.js';
import { cleanStale } from './stale.js';

/** The part of createAll's report these steps fill in. */
interface ReportPart {
  bucket: string;
  prefix: string;
  deleted: string[];
  failed: UploadFailure[];
  warnings: string[];
}

/**
 * Add this deploy to the record's history (before the record's final write). Returns the deploys
 * before it, which stale cleanup keeps. A filtered run saw only some files: its entry also keeps the
 * previous deploy's keys, which are still live for the files it did not look at. A deploy whose
 * fingerprinted keys are those of the last one is the same generation and is not added: rerunning an
 * unchanged deploy keeps the history (and stays one GET, no record write).
 */
export function recordDeploy(
  keeper: RecordKeeper,
  items: readonly (ManifestItem & { file: { key: string } })[],
  config: ResolvedConfig,
): RecordedDeploy[] {
  const previous = [...keeper.record.deploys];
  const last = previous.at(-1)?.keys ?? [];
  const set = new Set(fingerprintedKeys(items));
  if (config.filepathFilterRegex !== undefined) for (const k of last) set.add(k);
  const keys = [...set].sort();
  if (!sameKeys(keys, last)) keeper.addDeploy(deployEntry(keys), config.keepDeploys + 1);
  return previous;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/**
 * The generations before this deploy: the recorded deploys, less the last one when it is this deploy's
 * generation (an unchanged rerun is not added to the history, and a dry run adds nothing), so rerunning
 * a deploy keeps as many older generations as the first run did.
 */
function previousGenerations(
  deploys: readonly RecordedDeploy[],
  items: readonly (ManifestItem & { file: { key: string } })[],
): readonly RecordedDeploy[] {
  const last = deploys.at(-1);
  return last !== undefined && sameKeys(last.keys, fingerprintedKeys(items)) ? deploys.slice(0, -1) : deploys;
}

/** What {@link finishDeploy} needs. */
export interface FinishDeployInput {
  client: S3Client;
  config: ResolvedConfig;
  /** The manifest file (manifestPath resolved against app.root). */
  manifestFile: string;
  /** Each static folder's key prefix: `objectKey(prefix, mount, '')`. */
  folderKeys: readonly string[];
  /** Every item of the deploy (fingerprinted copies included), uploaded or unchanged. */
  items: readonly ManifestItem[];
  /**
   * The record's deploys before this run (from {@link recordDeploy}; the record's as read in a dry run).
   * A last entry that is this deploy's own generation is not counted as a previous one.
   */
  previousDeploys: readonly RecordedDeploy[];
  /** The record, to drop deleted keys from (absent in a dry run). */
  keeper?: RecordKeeper | undefined;
  dryRun: boolean;
  report: ReportPart;
  warn: (message: string) => void;
  secrets: readonly string[];
  signal?: AbortSignal | undefined;
}

/**
 * Write the manifest (fingerprinting on, not a dry run) and clean stale objects (deleteStale). Returns
 * an UploadError to reject with when either failed (the failures are in report.failed), else undefined.
 * A refused cleanup (maxDeletes) is a warning, not a failure: nothing was deleted, and the site is whole.
 */
export async function finishDeploy(input: FinishDeployInput): Promise<UploadError | undefined> {
  const { config, report, warn } = input;
  const failedBefore = report.failed.length;
  const filtered = config.filepathFilterRegex !== undefined;
  const where = `s3://${report.bucket}/${report.prefix}`;

  if (config.fingerprint !== false && !input.dryRun) {
    try {
      await writeDeployManifest(input.manifestFile, input.items, config.fingerprint, report, filtered);
    } catch (err) {
      report.failed.push({
        key: input.manifestFile,
        file: input.manifestFile,
        message:
          `could not write the fingerprint manifest (${settingLabel(setting('manifestPath'))}): ` +
          `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; everything was uploaded, but the app ` +
          'hashes its files itself until the manifest is written (run again)',
        cause: err,
      });
    }
  }

  if (config.deleteStale) {
    if (filtered) {
      warn(
        `${settingLabel(setting('deleteStale'))}: skipped, because ${settingLabel(setting('filepathFilterRegex'))} ` +
          'limits this run to some files and every other file would look stale; run without the filter to clean up',
      );
    } else {
      await cleanup(input, where);
    }
  }

  const failures = report.failed.slice(failedBefore);
  if (failures.length === 0) return undefined;
  const lines = failures.slice(0, 20).map((f) => `  ${f.key}: ${f.message}`);
  if (failures.length > 20) lines.push(`  ... and ${failures.length - 20} more (see .failures)`);
  return new UploadError(
    'UPLOAD_FINISH_FAILED',
    `every file was uploaded to ${where}, but ${failures.length === 1 ? 'a step' : 'steps'} after the upload failed:\n${lines.join('\n')}`,
    { failures: report.failed, report },
  );
}

async function cleanup(input: FinishDeployInput, where: string): Promise<void> {
  const { config, report, warn, secrets } = input;
  let result: Awaited<ReturnType<typeof cleanStale>>;
  try {
    result = await cleanStale({
      client: input.client,
      bucket: report.bucket,
      prefix: config.prefix,
      folderKeys: input.folderKeys,
      current: new Set(input.items.map((i) => i.key)),
      previousDeploys: previousGenerations(input.previousDeploys, input.items),
      keepDeploys: config.keepDeploys,
      maxDeletes: config.maxDeletes,
      includeHidden: config.includeHidden,
      dryRun: input.dryRun,
      secrets,
      signal: input.signal,
    });
  } catch (err) {
    scrubError(err, secrets);
    const message = `could not list ${where} to find stale objects: ${describeError(err, secrets)}; nothing was deleted`;
    if (input.dryRun) warn(`${settingLabel(setting('deleteStale'))}: ${message}`);
    else report.failed.push({ key: where, message, cause: err });
    return;
  }
  for (const w of result.warnings) warn(w);
  report.deleted.push(...result.deleted);
  report.failed.push(...result.failed);
  if (input.dryRun || input.keeper === undefined || result.deleted.length === 0) return;
  // Deleted objects leave the record, or an onlyModified run would skip a file that comes back unchanged.
  for (const key of result.deleted) input.keeper.forget(key);
  try {
    await input.keeper.finish();
  } catch (err) {
    scrubError(err, secrets);
    report.failed.push({
      key: where,
      message:
        `deleted ${result.deleted.length} stale objects but could not update the upload record: ` +
        `${describeError(err, secrets)}; run again without onlyModified to be sure every file is in the bucket`,
      cause: err,
    });
  }
}
