// The last stage of createAll: the record, then (only after a complete upload) the deploy history, the
// fingerprint manifest and stale cleanup, then the report or the error that carries it. The record is
// always written (merged) when anything changed, even after failures or an abort: what succeeded is
// never uploaded twice for lack of a record.

import { describeError } from '../s3/errors.js';
import { scrubError } from '../s3/redact.js';
import { finishDeploy } from './after-upload.js';
import type { ProgressEvent, UploadReport } from './api-types.js';
import type { HeldLease } from './deploy-lease.js';
import { recordDeploy } from './history.js';
import { recordKey } from './record.js';
import type { RecordKeeper } from './record-keeper.js';
import { abortedDuringUpload, failedError, finishReport } from './report.js';
import type { DeployContext, DeployItem } from './types.js';

/** What the finish stage needs besides the deploy. */
export interface FinishInput {
  keeper: RecordKeeper;
  /** Every item of the deploy (fingerprinted copies included). */
  items: readonly DeployItem[];
  manifestFile: string;
  /** How many files the transfer planned to upload (for the abort message). */
  planned: number;
  progress: (event: ProgressEvent) => void;
  /** The lease this run holds: cleanup checks it is still held. */
  lease: HeldLease | undefined;
}

/** The record's final write; a failure is reported (the files are in the bucket), not thrown. */
async function writeTheRecord(run: DeployContext, keeper: RecordKeeper): Promise<void> {
  try {
    await keeper.finish();
  } catch (err) {
    scrubError(err, run.secrets);
    run.report.failed.push({
      key: recordKey(run.config.prefix),
      message:
        `could not write the upload record: ${describeError(err, run.secrets)}. The files reported as uploaded are ` +
        `in the bucket; run again to record them (until then onlyModified may upload some of them again)`,
      cause: err,
    });
  }
}

/** Finish the deploy (see the top of this file): resolves to the report, or throws the error carrying it. */
export async function finishTheDeploy(run: DeployContext, input: FinishInput): Promise<UploadReport> {
  const { report, signal, config } = run;
  const deployed = report.failed.length === 0 && !signal?.aborted;
  const previousDeploys = deployed ? recordDeploy(input.keeper, input.items, config) : [];
  await writeTheRecord(run, input.keeper);
  if (deployed && report.failed.length === 0) {
    const finishError = await finishDeploy(run, {
      manifestFile: input.manifestFile,
      items: input.items,
      previousDeploys,
      keeper: input.keeper,
      lease: input.lease,
    });
    if (finishError) {
      await input.keeper.close();
      input.progress({ type: 'end' });
      finishReport(report, run.startedAt);
      throw finishError;
    }
  }
  await input.keeper.close();
  input.progress({ type: 'end' });
  finishReport(report, run.startedAt);
  if (signal?.aborted) throw abortedDuringUpload(run, input.planned);
  if (report.failed.length > 0) throw failedError(report);
  return report;
}
