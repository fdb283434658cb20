// AWS Signature Version 4 for S3, with node:crypto: what the SDK's signer (@smithy/signature-v4) computes
// for the requests of this folder, without loading it. The body's SHA-256 is signed
// (x-amz-content-sha256), as the SDK sends it for PUTs of bodies in memory; an empty body has the empty
// string's hash. The signing key depends only on the secret, the date and the region: it is derived once
// per day and cached.

import { createHash, createHmac } from 'node:crypto';

/** What a request is signed with. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** A request about to be signed: its path already percent-encoded as sent, its query unencoded. */
export interface RequestToSign {
  method: string;
  /** The URI path as sent (see {@link encodeKeyPath}). */
  path: string;
  query: Readonly<Record<string, string>>;
  /** Lower-case names. `host` must be among them. */
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/** The SHA-256 of no bytes, the payload hash of every request without a body. */
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** Headers the SDK never signs (proxies may change them); signing them could only cause mismatches. */
const UNSIGNED = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ percent-encoded. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A key as a URI path: each segment percent-encoded as S3 signs it (the unreserved characters kept). */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

/** The query string as sent and as signed: names sorted, names and values encoded. */
export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  return Object.keys(query)
    .sort()
    .map((name) => `${uriEncode(name)}=${uriEncode(query[name]!)}`)
    .join('&');
}

/** `20261202T105000Z` and `20261202`. */
function amzDates(date: Date): { stamp: string; day: string } {
  const stamp = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return { stamp, day: stamp.slice(0, 8) };
}

const hmac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/** A signer for one set of credentials and one region. */
export class SigV4Signer {
  #keyDay = '';
  #key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly credentials: SigningCredentials,
    private readonly region: string,
  ) {}

  /** The signing key of `day`, derived once per day. */
  #signingKey(day: string): Buffer {
    if (day !== this.#keyDay) {
      const dated = hmac(`AWS4${this.credentials.secretAccessKey}`, day);
      this.#key = hmac(hmac(hmac(dated, this.region), 's3'), 'aws4_request');
      this.#keyDay = day;
    }
    return this.#key;
  }

  /** Adds x-amz-date, x-amz-content-sha256, the session token and the Authorization header to `request.headers`. */
  sign(request: RequestToSign, date: Date): void {
    const { stamp, day } = amzDates(date);
    const headers = request.headers;
    headers['x-amz-date'] = stamp;
    headers['x-amz-content-sha256'] =
      request.body === undefined || request.body.length === 0
        ? EMPTY_SHA256
        : createHash('sha256').update(request.body).digest('hex');
    if (this.credentials.sessionToken) headers['x-amz-security-token'] = this.credentials.sessionToken;
    const names = Object.keys(headers)
      .filter((n) => !UNSIGNED.has(n))
      .sort();
    const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
    const signedHeaders = names.join(';');
    const canonical = [
      request.method,
      request.path,
      canonicalQuery(request.query),
      canonicalHeaders,
      signedHeaders,
      headers['x-amz-content-sha256'],
    ].join('\n');
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${stamp}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.#signingKey(day)).update(toSign).digest('hex');
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  }
}
