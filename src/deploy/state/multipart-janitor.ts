// Aborts the incomplete multipart uploads a deploy of this app started and abandoned (killed during its
// parts): only under the app's prefixes, only keys the caller says the app owns, and only uploads
// initiated before `initiatedBefore` (the expiry of the newest lease that is not running any more), so an
// upload of a deploy still in flight, or another app's, is never touched (docs/deploy-state.md,
// "Abandoned multipart uploads are aborted"). Servers without ListMultipartUploads (s3rver: 501) are
// reported as such, not failed.

import type { ListMultipartUploadsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { httpStatus } from '../../s3/errors.js';
import { s3Sdk } from '../../s3/sdk.js';

export interface JanitorOptions {
  client: S3Client;
  bucket: string;
  /** Key prefixes of the app's mounts. */
  prefixes: readonly string[];
  /** Whether the app owns a key (claimed or planned by one of its generations). */
  owns: (key: string) => boolean;
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
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<IncompleteUpload[] | undefined> {
  const { ListMultipartUploadsCommand } = s3Sdk();
  const out: IncompleteUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    let page: ListMultipartUploadsCommandOutput;
    try {
      page = await client.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: prefix || undefined,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
    } catch (err) {
      if (httpStatus(err) === 501) return undefined;
      throw err;
    }
    for (const u of page.Uploads ?? []) {
      if (u.Key !== undefined && u.UploadId !== undefined)
        out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
    }
    if (!page.IsTruncated || page.NextKeyMarker === undefined) return out;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/** Abort this app's abandoned uploads under its prefixes; see the file header for what is spared. */
export async function abortAbandonedUploads(options: JanitorOptions): Promise<JanitorReport> {
  const { AbortMultipartUploadCommand } = s3Sdk();
  const report: JanitorReport = { supported: true, aborted: [], kept: [] };
  const seen = new Set<string>();
  for (const prefix of new Set(options.prefixes)) {
    const uploads = await listIncompleteUploads(options.client, options.bucket, prefix);
    if (uploads === undefined) return { ...report, supported: false };
    for (const upload of uploads) {
      if (seen.has(upload.uploadId)) continue;
      seen.add(upload.uploadId);
      const old = upload.initiated !== undefined && upload.initiated < options.initiatedBefore;
      if (!old || !options.owns(upload.key)) {
        report.kept.push(upload);
        continue;
      }
      await options.client.send(
        new AbortMultipartUploadCommand({
          Bucket: options.bucket,
          Key: upload.key,
          UploadId: upload.uploadId,
        }),
      );
      report.aborted.push(upload);
    }
  }
  return report;
}
