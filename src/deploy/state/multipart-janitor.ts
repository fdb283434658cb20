// Aborts the incomplete multipart uploads a deploy of this app started and abandoned (killed during its
// parts): only under the app's prefixes, only keys the caller says the app owns, and only uploads
// initiated before `initiatedBefore` (the expiry of the newest lease that is not running any more), so an
// upload of a deploy still in flight, or another app's, is never touched (docs/deploy-state.md,
// "Abandoned multipart uploads are aborted"). Servers without ListMultipartUploads (s3rver: 501) are
// reported as such, not failed.

import { httpStatus } from '../../s3/errors.js';
import type { ObjectStore, UploadPage } from '../../s3/object-store.js';

export interface JanitorOptions {
  store: ObjectStore;
  bucket: string;
  /** Key prefixes of the app's mounts. */
  prefixes: readonly string[];
  /**
   * Whether the app owns a key (claimed or planned by one of its generations). Asked only of uploads old
   * enough to abort, so an answer that needs requests costs nothing when there are none.
   */
  owns: (key: string) => boolean | Promise<boolean>;
  /** Only uploads initiated strictly before this instant (server time) are aborted. */
  initiatedBefore: Date;
}

/** One incomplete upload as the server lists it. */
export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated: Date | undefined;
}

export interface JanitorReport {
  /** False when the server does not list incomplete uploads (nothing could be done). */
  supported: boolean;
  aborted: IncompleteUpload[];
  /** Under the prefixes but not this app's, or too recent: left alone. */
  kept: IncompleteUpload[];
}

/** Incomplete uploads under `prefix`, or undefined when the server does not implement the listing. */
export async function listIncompleteUploads(
  store: ObjectStore,
  bucket: string,
  prefix: string,
): Promise<IncompleteUpload[] | undefined> {
  const out: IncompleteUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let page: UploadPage;
    try {
      page = await store.listMultipartUploads({ bucket, prefix, keyMarker, uploadIdMarker });
    } catch (err) {
      if (httpStatus(err) === 501) return undefined;
      throw err;
    }
    out.push(...page.uploads);
    if (!page.isTruncated || page.nextKeyMarker === undefined) return out;
    keyMarker = page.nextKeyMarker;
    uploadIdMarker = page.nextUploadIdMarker;
  }
}

/** Abort this app's abandoned uploads under its prefixes; see the file header for what is spared. */
export async function abortAbandonedUploads(options: JanitorOptions): Promise<JanitorReport> {
  const report: JanitorReport = { supported: true, aborted: [], kept: [] };
  const seen = new Set<string>();
  // The prefixes are listed at once (a deploy waits for the janitor, and a gateway busy with the deploy's
  // other listings may answer each of them late), then taken in order, as if listed one after the other:
  // the first that failed, or that the server cannot list, decides.
  const listings = await Promise.allSettled(
    [...new Set(options.prefixes)].map((prefix) =>
      listIncompleteUploads(options.store, options.bucket, prefix),
    ),
  );
  for (const listing of listings) {
    if (listing.status === 'rejected') throw listing.reason;
    const uploads = listing.value;
    if (uploads === undefined) return { ...report, supported: false };
    for (const upload of uploads) {
      if (seen.has(upload.uploadId)) continue;
      seen.add(upload.uploadId);
      const old = upload.initiated !== undefined && upload.initiated < options.initiatedBefore;
      if (!old || !(await options.owns(upload.key))) {
        report.kept.push(upload);
        continue;
      }
      await options.store.abortMultipartUpload({
        bucket: options.bucket,
        key: upload.key,
        uploadId: upload.uploadId,
      });
      report.aborted.push(upload);
    }
  }
  return report;
}
