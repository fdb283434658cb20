// createAll: upload every static asset of the app and its blueprints to the bucket, under the keys
// url_for renders, as a pipeline of stages, each in its own module:
//
//   resolve (resolve.ts)          settings and options; every input error before anything is read
//   gather (gather.ts)            walk the static folders, stat every file, hash what must be hashed now
//   read the record               one GET (it also tells whether the bucket exists), then its deltas
//     (record-and-lease.ts)
//   the lease (deploy-lease.ts)   announce this run's generation, take the lease on the prefix (waiting
//                                 while another deploy holds it), while the record is parsed once its GET
//                                 has shown the bucket is there; then, at once, abandoned multipart
//                                 uploads aborted, the record read again (what the previous holder left)
//                                 and, when no file waits to be hashed, the listing the plan confirms with
//   plan (consult-record.ts)      what to upload
//   ensure the bucket             create it if missing, bucket ACL (best effort)
//     (ensure-bucket.ts)
//   transfer (transfer.ts)        the uploads, concurrent, with retries, stop rules and the ACL fallback
//   final verification            list the bucket: every key the deploy relies on holds what it claims
//     (final-verification.ts)
//   finish (finish.ts)            the record, deploy history, manifest, stale cleanup, the report
//   the CDN (src/cdn/)            invalidate the URLs this deploy overwrote, after a complete deploy only
//
// What succeeded is recorded even when something failed or the run was aborted; failures are reported
// together at the end. docs/architecture.md shows the whole flow.

import { type AppLike, objectKey } from '../app.js';
import { checkCdnSettings, type InvalidationReport, invalidateAfterDeploy } from '../cdn/invalidate.js';
import { manifestFile } from '../content/manifest.js';
import { openS3Edge, type S3Edge } from '../s3/edge.js';
import { nextTurn } from '../util/next-turn.js';
import { ObjectAclPolicy } from './acl-fallback.js';
import { finishDeploy } from './after-upload.js';
import type { CreateAllOptions, UploadReport } from './api-types.js';
import { confirmsClaims, keepTheRecord, planTheDeploy, type RecordFound } from './consult-record.js';
import type { HeldLease } from './deploy-lease.js';
import { ensureBucket } from './ensure-bucket.js';
import { confirmTheDeploy } from './final-verification.js';
import { fingerprintedKeys } from './fingerprint-upload.js';
import { finishTheDeploy } from './finish.js';
import { gatherLocalFiles, type LocalFiles, saveLocalHashes } from './gather.js';
import { ChecksumPolicy } from './object-lock.js';
import type { UploadPlan } from './plan.js';
import { readTheRecordAndTakeTheLease } from './record-and-lease.js';
import type { RecordKeeper } from './record-keeper.js';
import { abortedBeforeStart, emptyReport, finishReport, progressEmitter, reportEntry } from './report.js';
import { resolveRun } from './resolve.js';
import { transferFiles } from './transfer.js';
import type { DeployContext, DeployItem, DeployRun } from './types.js';

export type { CreateAllOptions, ProgressEvent, ReportEntry, UploadReport } from './api-types.js';

/**
 * Upload every static asset of `app` to its bucket, under the keys url_for renders. Resolves to a
 * report; rejects with a ConfigError on bad input (before any request; or after the first one, when it
 * shows the credentials, region or endpoint are wrong: nothing is uploaded), and with an UploadError
 * (`failures`, `report`) when any file failed or the run was aborted, after uploading and recording
 * everything it could.
 */
export async function createAll(app: AppLike, options: CreateAllOptions = {}): Promise<UploadReport> {
  const run = resolveRun(app, options);
  checkCdnSettings(run.config, options.onInvalidate !== undefined);
  const local = await gatherLocalFiles(app, run);
  if (run.signal?.aborted) throw abortedBeforeStart(run);
  const s3 = openS3Edge(run.config, { bucket: run.bucket, injected: options.client, logger: run.logger });
  const deploy = connect(run, s3, local);
  let keeper: RecordKeeper | undefined;
  const held: { lease?: HeldLease } = {};
  let completed = false;
  try {
    await addClientSecrets(deploy);
    const { found, listing } = await readTheRecordAndTakeTheLease(deploy, local, held);
    const plan = await planTheDeploy(deploy, local, found, listing);
    if (run.dryRun) return await reportDryRun(deploy, { app, local, plan, found, options });
    const bucketAcl = await ensureBucket(deploy, {
      exists: found.bucketExists,
      uploads: plan.upload.length > 0,
      items: local.items,
    });
    keeper = await keepTheRecord(deploy, found, plan, local.items);
    const progress = progressEmitter(options.onProgress);
    const planned = await transferFiles(deploy, {
      uploads: plan.upload,
      acl: new ObjectAclPolicy(run.config, bucketAcl, deploy),
      checksums: new ChecksumPolicy(deploy),
      keeper,
      // The claims confirmTheRecord (planTheDeploy) checked against a listing before the plan.
      claimsConfirmed: confirmsClaims(deploy, found),
      hasher: local.hasher,
      progress,
    });
    await confirmTheDeploy(deploy, {
      keeper,
      items: local.items,
      confirm: found.confirm,
      sentNothing: plan.upload.length === 0,
    });
    const manifest = manifestFile(app.root, run.config.manifestPath);
    const report = await finishTheDeploy(deploy, {
      keeper,
      items: local.items,
      manifestFile: manifest,
      planned,
      progress,
      lease: held.lease,
    });
    report.invalidation = await invalidateTheCdn(deploy, local.items, options);
    completed = true;
    return report;
  } finally {
    keeper?.stop();
    // The hash cache is saved while the lease's release is on the wire: neither waits for the other.
    const releasing = held.lease?.release(completed);
    try {
      await nextTurn(); // the release's requests go out first
      saveLocalHashes(local, run);
    } finally {
      await releasing;
      s3.destroy();
    }
  }
}

/** The deploy once it has its way to S3: the secrets to keep out of output, an empty report, the folders. */
function connect(run: DeployRun, s3: S3Edge, local: LocalFiles): DeployContext {
  const { config } = run;
  const secrets = [config.accessKeyId, config.secretAccessKey, config.sessionToken].filter(
    (s): s is string => !!s,
  );
  return {
    ...run,
    s3,
    secrets,
    report: emptyReport(run.bucket, config.prefix, run.dryRun, run.warnings),
    folderKeys: local.mounts.map((m) => objectKey(config.prefix, m, '')),
    staticKeys: local.items.map((i) => i.key),
  };
}

/** Credentials from the environment, the SDK's chain or an injected client are secrets too (a server may echo them). */
async function addClientSecrets(deploy: DeployContext): Promise<void> {
  for (const s of await deploy.s3.secrets()) if (!deploy.secrets.includes(s)) deploy.secrets.push(s);
}

/**
 * The CDN in front: after a complete deploy (finishTheDeploy threw otherwise), invalidate the URLs of the
 * keys it overwrote; in a dry run, say which it would. A failure there is a warning: the deploy stands.
 */
function invalidateTheCdn(
  deploy: DeployContext,
  items: readonly DeployItem[],
  options: CreateAllOptions,
): Promise<InvalidationReport | undefined> {
  return invalidateAfterDeploy({
    config: deploy.config,
    bucket: deploy.bucket,
    uploaded: deploy.report.uploaded,
    fingerprinted: fingerprintedKeys(items),
    dryRun: deploy.dryRun,
    onInvalidate: options.onInvalidate,
    warn: deploy.warn,
    info: deploy.logger.info?.bind(deploy.logger),
  });
}

/** A dry run ends after the plan: what would be uploaded, and (bucket there) what cleanup would delete. */
async function reportDryRun(
  deploy: DeployContext,
  planned: {
    app: AppLike;
    local: LocalFiles;
    plan: UploadPlan<DeployItem>;
    found: RecordFound;
    options: CreateAllOptions;
  },
): Promise<UploadReport> {
  const { app, local, plan, found } = planned;
  deploy.report.uploaded = plan.upload.map((p) => reportEntry(p.item, p.reason));
  if (found.bucketExists) {
    await finishDeploy(deploy, {
      manifestFile: manifestFile(app.root, deploy.config.manifestPath),
      items: local.items,
      previousDeploys: found.record?.deploys ?? [],
      recordRead: found.record,
    });
  }
  deploy.report.invalidation = await invalidateTheCdn(deploy, local.items, planned.options);
  return finishReport(deploy.report, deploy.startedAt);
}
