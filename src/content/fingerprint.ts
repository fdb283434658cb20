// Content fingerprints of static files: the xxh64 content hash (the very function the upload record
// uses, from hash.ts), the fingerprinted name a hash gives (`css/app.css` -> `css/app.3f2a9c1b0d4e.css`),
// and the subresource-integrity value (`sha384-<base64>`) of the bytes a browser receives. The template
// side needs these synchronously (url_for runs inside a render), so the wasm hasher is instantiated
// synchronously (hash.ts), on the first hash; a pure-JS xxh64 would be a second implementation to keep
// equal to the uploader's, and far slower.

import { createHash } from 'node:crypto';
import { readFileInChunks, readFileInChunksSync } from '../util/chunked-read.js';
import { createHasherSync, type Hasher } from './hash.js';

/**
 * Hex digits of the content hash used in fingerprinted names and `?v=` values: 12 (48 bits, as many as
 * Vite's 8 base64 characters). A collision only matters between two versions of the same file: with 12
 * digits, a file deployed in 1,000 different versions has about a 2-in-a-billion chance that two share a
 * name (8 digits would make that 1 in 10,000: too close for a name cached as immutable for a year).
 */
export const FINGERPRINT_LENGTH = 12;

let loaded: Hasher | undefined;
/** The hasher, made on first use: no top-level await, so `require()` can load the package. */
const hasher = (): Hasher => (loaded ??= createHasherSync());

/** What a file's bytes are, as fingerprinting and SRI need it. */
export interface ContentFacts {
  /** xxh64 of the bytes, 16 hex digits: the upload record's hash. */
  readonly hash: string;
  /** `sha384-<base64>` of the bytes (before any gzip: browsers check the decoded body). */
  readonly integrity: string;
  /** Size in bytes. */
  readonly size: number;
}

/** The SRI value of bytes: `sha384-<base64 of the SHA-384 digest>`. */
export function integrityOf(bytes: Uint8Array): string {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

/** Hash and integrity of bytes already in memory. */
export function factsOfBytes(bytes: Uint8Array): ContentFacts {
  return { hash: hasher().hashBytes(bytes), integrity: integrityOf(bytes), size: bytes.byteLength };
}

/** A content hash and a SHA-384 fed together, chunk by chunk. */
function factsCollector(): { update(chunk: Buffer): void; facts(size: number): ContentFacts } {
  const xx = hasher().createState();
  const sha = createHash('sha384');
  return {
    update(chunk) {
      xx.update(chunk);
      sha.update(chunk);
    },
    facts: (size) => ({ hash: xx.digest(), integrity: `sha384-${sha.digest('base64')}`, size }),
  };
}

/**
 * Hash and integrity of a file, read synchronously in 1 MiB chunks (memory stays flat for large files).
 * For the template side, which hashes a file once, lazily, inside a render; throws the fs error as it is.
 */
export function factsOfFileSync(file: string): ContentFacts {
  const collector = factsCollector();
  const size = readFileInChunksSync(file, (chunk) => collector.update(chunk));
  return collector.facts(size);
}

/** Like {@link factsOfFileSync}, without blocking: for the uploader, which reads many files at once. */
export async function factsOfFile(file: string): Promise<ContentFacts> {
  const collector = factsCollector();
  const size = await readFileInChunks(file, (chunk) => collector.update(chunk));
  return collector.facts(size);
}

/** The hash as it appears in names and `?v=`: its first {@link FINGERPRINT_LENGTH} hex digits. */
export function shortHash(hash: string): string {
  return hash.slice(0, FINGERPRINT_LENGTH);
}

/**
 * The fingerprinted name of a file: the short hash goes before the last extension, so the extension (and
 * with it the Content-Type) is kept. A name without an extension, or a dotfile, gets it appended.
 * @example fingerprintedPath('css/app.css', '3f2a9c1b0d4e5f60') // 'css/app.3f2a9c1b0d4e.css'
 * @example fingerprintedPath('js/app.min.js', h) // 'js/app.min.<short>.js'
 * @example fingerprintedPath('LICENSE', h) // 'LICENSE.<short>'
 */
export function fingerprintedPath(relPath: string, hash: string): string {
  const short = shortHash(hash);
  const slash = relPath.lastIndexOf('/');
  const dot = relPath.lastIndexOf('.');
  if (dot <= slash + 1) return `${relPath}.${short}`;
  return `${relPath.slice(0, dot)}.${short}${relPath.slice(dot)}`;
}
