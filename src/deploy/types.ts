// The one type for a file being deployed, shared by every stage of createAll (and the few facts every
// stage checks about it). A stage that needs only some fields takes a Pick of it, never a copy.

import type { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../config.js';
import type { Hasher } from '../content/hash.js';
import type { ObjectSettings } from '../content/headers.js';
import type { DirectPut } from '../s3/direct-put.js';
import type { S3Edge } from '../s3/edge.js';
import type { UploadReport } from './api-types.js';
import type { LocalFile } from './discover.js';
import type { CacheRow, FileStamp } from './hash-cache.js';

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
  /** The hash cache's entry for the file when it was made for that stat: the file is unchanged since. */
  cached?: CacheRow | undefined;
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
 * What one upload (or server-side copy) stored: the hash and size of the bytes read from the file, the
 * size of the object stored, the body bytes that went over the wire for it, whether it was stored
 * gzipped, and the ETag the server gave the object, which every later listing must show for the claim to
 * hold.
 */
export interface SentObject {
  hash: string;
  size: number;
  /** Size of the object stored: the gzipped size when gzipped. */
  stored: number;
  /** Body bytes sent for it: `stored` for an upload (plus any gzip attempt given up), 0 for a copy. */
  bytesSent: number;
  /** Stored with `Content-Encoding: gzip`: gzip was on for the file and made it smaller. */
  gzipped: boolean;
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

/**
 * What sending one object needs: the client, where, how to hash, and the direct PUT when it applies.
 * `client` is the SDK's, created on first use (see src/s3/edge.ts): a deploy of small files never reads it.
 */
export interface SendContext {
  readonly client: S3Client;
  bucket: string;
  hasher: Hasher;
  config: ResolvedConfig;
  signal: AbortSignal | undefined;
  /** PUTs of bodies in memory on the lean path, where it applies (src/s3/direct-put.ts). */
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

/** A deploy once it talks to S3: its way there, the secrets to keep out of output, and its report. */
export interface DeployContext extends DeployRun {
  /** The object store, the direct PUT and the SDK client (created on first use): src/s3/edge.ts. */
  s3: S3Edge;
  /** Every credential in play (settings, client), never shown: see src/s3/redact.ts. */
  secrets: string[];
  report: UploadReport;
  /** Each static folder's key prefix: `objectKey(prefix, mount, '')`. */
  folderKeys: string[];
  /** Every object key of the deploy (for a bucket policy of a site at the bucket root). */
  staticKeys: readonly string[];
}
