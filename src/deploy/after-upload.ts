// What createAll does once every upload of a deploy succeeded (and only then): write the fingerprint
// manifest and clean stale objects (deleteStale). In a dry run, only the cleanup is planned:
// report.deleted lists what a real run would delete. The finish stage (finish.ts) and the dry run
// (upload.ts) both call it.

import { setting, settingLabel } from '../config.js';
import { UploadError } from '../errors.js';
import { describeError } from '../s3/errors.js';
import { scrubError } from '../s3/redact.js';
import type { HeldLease } from './deploy-lease.js';
import { type ManifestItem, writeDeployManifest } from './fingerprint-upload.js';
import { previousGenerations } from './history.js';
import { type AppState, endedInBoth, readAppState, settleGenerations } from './ownership.js';
import type { RecordedDeploy, UploadRecord } from './record.js';
import type { RecordKeeper } from './record-keeper.js';
import { type CleanStaleResult, cleanStale } from './stale.js';
import type { DeployContext } from './types.js';

/** What {@link finishDeploy} needs. */
export interface FinishDeployInput {
  /** The manifest file (manifestPath resolved against app.root). */
  manifestFile: string;
  /** Every item of the deploy (fingerprinted copies included), uploaded or unchanged. */
  items: readonly ManifestItem[];
  /**
   * The record's deploys before this run (from {@link recordDeploy}; the record's as read in a dry run).
   * A last entry that is this deploy's own generation is not counted as a previous one.
   */
  previousDeploys: readonly RecordedDeploy[];
  /** The record, to drop deleted keys from (absent in a dry run). */
  keeper?: RecordKeeper | undefined;
  /** The record as read, in a dry run (a real run's is the keeper's). */
  recordRead?: UploadRecord | undefined;
  /** The lease this run holds (absent in a dry run): checked before anything is deleted. */
  lease?: HeldLease | undefined;
}

/**
 * Write the manifest (fingerprinting on, not a dry run) and clean stale objects (deleteStale). Returns
 * an UploadError to reject with when either failed (the failures are in report.failed), else undefined.
 * A refused cleanup (maxDeletes) is a warning, not a failure: nothing was deleted, and the site is whole.
 */
export async function finishDeploy(
  run: DeployContext,
  input: FinishDeployInput,
): Promise<UploadError | undefined> {
  const { config, report, warn } = run;
  const failedBefore = report.failed.length;
  const filtered = config.filepathFilterRegex !== undefined;
  const where = `s3://${report.bucket}/${report.prefix}`;

  if (config.fingerprint !== false && !run.dryRun) {
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
      await cleanup(run, input, where);
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

async function cleanup(run: DeployContext, input: FinishDeployInput, where: string): Promise<void> {
  const { config, report, warn, secrets } = run;
  let result: CleanStaleResult;
  let state: AppState;
  try {
    await input.lease?.assertHeld();
    const mine = { record: input.keeper?.record ?? input.recordRead, ownGeneration: input.lease?.owner.id };
    state = await readAppState(run, mine);
    let latest = state;
    const stillInFlight = async () => {
      latest = await readAppState(run, mine);
      return latest.inFlight;
    };
    result = await cleanStale({
      store: run.s3.store,
      client: run.s3.client,
      bucket: report.bucket,
      prefix: config.prefix,
      folderKeys: run.folderKeys,
      current: new Set(input.items.map((i) => i.key)),
      owns: state.owns,
      inFlight: state.inFlight,
      stillInFlight,
      previousDeploys: previousGenerations(input.previousDeploys, input.items),
      keepDeploys: config.keepDeploys,
      maxDeletes: config.maxDeletes,
      includeHidden: config.includeHidden,
      dryRun: run.dryRun,
      secrets,
      signal: run.signal,
    });
    // A generation renewed between the two reads is in flight again: only what both reads saw ended is settled.
    state = endedInBoth(state, latest);
  } catch (err) {
    scrubError(err, secrets);
    const message = `could not list ${where} to find stale objects: ${describeError(err, secrets)}; nothing was deleted`;
    if (run.dryRun) warn(`${settingLabel(setting('deleteStale'))}: ${message}`);
    else report.failed.push({ key: where, message, cause: err });
    return;
  }
  for (const w of result.warnings) warn(w);
  if (result.leftAlone.length > 0) run.logger.info?.(leftAloneMessage(result.leftAlone, where));
  report.deleted.push(...result.deleted);
  report.failed.push(...result.failed);
  if (!run.dryRun && result.warnings.length === 0 && result.failed.length === 0)
    await settleGenerations(run, state);
  if (run.dryRun || input.keeper === undefined || result.deleted.length === 0) return;
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

/** "N keys under <where> not put there by this app: left alone", with a few of them. */
function leftAloneMessage(keys: readonly string[], where: string): string {
  const shown = keys.slice(0, 5).join(', ') + (keys.length > 5 ? `, ... (${keys.length - 5} more)` : '');
  return (
    `${settingLabel(setting('deleteStale'))}: ${keys.length} object(s) under ${where} were not put there by ` +
    `this app (no record or deploy of it names them): left alone: ${shown}`
  );
}
