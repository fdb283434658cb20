// The one type for a file being deployed, shared by every stage of createAll (and the few facts every
// stage checks about it). A stage that needs only some fields takes a Pick of it, never a copy.

import type { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../config.js';
import type { Hasher } from '../content/hash.js';
import type { ObjectSettings } from '../content/headers.js';
import type { DirectPut } from '../s3/direct-put.js';
import type { UploadReport } from './api-types.js';
import type { LocalFile } from './discover.js';
import type { FileStamp } from './hash-cache.js';

/** The hash of an item not read yet: the plan uploads it anyway, and it is hashed as it is sent. */
export const UNHASHED = '';

/**
 * One object of a deploy: a local file under its own key, or (fingerprint 'filename') under its
 * fingerprinted key, a shallow copy of the file's own item.
 */
export interface DeployItem {
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

/**
 * What one upload sent: the hash and size of the bytes read from the file, the body bytes sent (the size
 * stored), and the ETag the server gave the object, which every later listing must show for the claim to hold.
 */
export interface SentObject {
  hash: string;
  size: number;
  bytesSent: number;
  /** The ETag the server answered for the stored object (quotes removed), when it sent one. */
  etag?: string | undefined;
}

/**
 * Whether the item's key and manifest entry were made from the hash taken before sending (fingerprinting
 * on): its bytes must then have that hash, or the name would publish other bytes.
 */
export function isNamedByHash(config: Pick<ResolvedConfig, 'fingerprint'>, item: DeployItem): boolean {
  return config.fingerprint !== false && item.hash !== UNHASHED;
}

/** The failure of a file whose bytes changed while it was being sent. */
export function changedWhileUploading(item: DeployItem): Error {
  return new Error(`${item.file.file} changed while it was being uploaded; run the deploy again`);
}

/** What sending one object needs: the client, where, how to hash, and the direct PUT when it applies. */
export interface SendContext {
  client: S3Client;
  bucket: string;
  hasher: Hasher;
  config: ResolvedConfig;
  signal: AbortSignal | undefined;
  /** PUTs of bodies in memory without the SDK's middleware, where that is safe (src/s3/direct-put.ts). */
  directPut: DirectPut | undefined;
  /** Send a Content-MD5 header with every PUT and part: the bucket asked for one (src/deploy/object-lock.ts). */
  contentMd5?: boolean | undefined;
}

/** Where warnings (and a few info lines) go. */
export interface DeployLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** A deploy as the resolve stage leaves it: settings checked, nothing read or sent yet. */
export interface DeployRun {
  config: ResolvedConfig;
  bucket: string;
  dryRun: boolean;
  /** The caller's signal, relayed (see resolve.ts). */
  signal: AbortSignal | undefined;
  logger: DeployLogger;
  /** Every warning of the run, in order (the report's `warnings`). */
  warnings: string[];
  /** Log a warning and keep it for the report. */
  warn(message: string): void;
  /** performance.now() when createAll began: the report's duration counts from it. */
  startedAt: number;
}

/** A deploy once it talks to S3: its client, the secrets to keep out of output, and its report. */
export interface DeployContext extends DeployRun {
  client: S3Client;
  /** Every credential in play (settings, client), never shown: see src/s3/redact.ts. */
  secrets: string[];
  report: UploadReport;
  /** Each static folder's key prefix: `objectKey(prefix, mount, '')`. */
  folderKeys: string[];
  /** Every object key of the deploy (for a bucket policy of a site at the bucket root). */
  staticKeys: readonly string[];
}
