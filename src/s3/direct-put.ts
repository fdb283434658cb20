// Small-object PUTs without the SDK's middleware stack. On a fast link (an S3-compatible store on the
// same network, loopback), the client's CPU per request decides a deploy's speed, and `client.send`
// costs about 1.2 ms of CPU per PutObject, most of it in the middleware stack (endpoint rules, schema
// serialisation, user agent, retry bookkeeping), against 0.4 ms for the same request signed by the SDK's
// own SigV4 signer (@smithy/signature-v4) and sent through the client's own HTTP handler (same sockets,
// same connection and stall timeouts). Measured by `npm run bench` (the "raw" row is the floor).
//
// Used only where the request is fully determined by the settings: a client createAll built itself
// (an injected client may carry middleware of its own), an explicit `endpointUrl` with path-style
// requests (no endpoint rules to apply), and bodies in memory. Everything else goes through the SDK.
// Errors look like the SDK's to the rest of createAll (name/Code, $metadata.httpStatusCode), so the
// retry policy, ACL fallback and messages work unchanged; the caller retries (withRetries in retry.ts
// reads the Retry-After this file keeps as `$retryAfterMs`).

import { createHash, createHmac } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../config.js';
import { HEADER_OF_FIELD, type ObjectFields } from '../content/headers.js';
import { signerSdk } from './sdk.js';

/** What one PUT sends. */
export interface DirectPutInput {
  key: string;
  body: Buffer;
  fields: Readonly<ObjectFields>;
  metadata: Readonly<Record<string, string>>;
  acl: string | undefined;
  /** The body's Content-MD5 (base64), when the bucket wants one (src/content/md5.ts). */
  contentMd5?: string | undefined;
}

/** Resolves to the ETag the server answered (without quotes), or undefined when it sent none. */
export type DirectPut = (input: DirectPutInput, signal?: AbortSignal) => Promise<string | undefined>;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 (and its HMAC) in the shape the signer takes, from node:crypto. */
class Sha256 {
  readonly #hash;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
}

/** A key as a URI path: each segment percent-encoded as S3 signs it (the unreserved characters A-Z a-z 0-9 - . _ ~ kept). */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

/**
 * The direct PUT for this client and bucket, or undefined when PUTs must go through the SDK (see the
 * top of this file). `injected`: the client came from the caller.
 */
export function directPutter(
  client: S3Client,
  config: Pick<ResolvedConfig, 'endpointUrl' | 'forcePathStyle'>,
  bucket: string,
  injected: boolean,
): DirectPut | undefined {
  if (injected || config.endpointUrl === undefined || config.forcePathStyle === false) return undefined;
  let endpoint: URL;
  try {
    endpoint = new URL(config.endpointUrl);
  } catch {
    return undefined;
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') return undefined;
  if (endpoint.search !== '' || endpoint.username !== '' || endpoint.password !== '') return undefined;
  const base = `${endpoint.pathname.replace(/\/+$/, '')}/${encodeKey(bucket)}/`;
  const port = endpoint.port === '' ? undefined : Number(endpoint.port);
  const signer = new (signerSdk().SignatureV4)({
    credentials: client.config.credentials,
    region: client.config.region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false, // S3 signs the path as sent
    applyChecksum: true, // x-amz-content-sha256 of the body, as the SDK sends it
  });
  const clock = client.config as { systemClockOffset?: number };
  const handler = client.config.requestHandler as unknown as {
    handle(
      request: unknown,
      options?: { abortSignal?: AbortSignal },
    ): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Readable } }>;
  };

  return async (input, signal) => {
    const headers: Record<string, string> = {
      host: endpoint.host,
      'content-length': String(input.body.length),
      'user-agent': 'nunjucks-s3',
    };
    for (const [field, value] of Object.entries(input.fields) as [keyof ObjectFields, unknown][]) {
      if (value === undefined) continue;
      headers[HEADER_OF_FIELD[field]] = value instanceof Date ? value.toUTCString() : String(value);
    }
    for (const [name, value] of Object.entries(input.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (input.acl) headers['x-amz-acl'] = input.acl;
    if (input.contentMd5) headers['content-md5'] = input.contentMd5;
    const request = {
      method: 'PUT',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port,
      path: base + encodeKey(input.key),
      query: {},
      headers,
      body: input.body,
    };
    // Signed with the SDK's correction for a skewed local clock, which its own requests keep up to date.
    const signingDate = new Date(Date.now() + (clock.systemClockOffset ?? 0));
    const signed = await signer.sign(request as never, { signingDate });
    const { response } = await handler.handle(signed, { abortSignal: signal });
    const corrected = sampleClock(clock, response.headers);
    const text = await readText(response.body, response.statusCode < 300 ? 0 : 64 * 1024);
    if (response.statusCode >= 200 && response.statusCode < 300)
      return response.headers.etag?.replace(/^"(.*)"$/, '$1');
    throw s3Error(response.statusCode, response.headers, text, corrected);
  };
}

/**
 * As the SDK does after each response: when the server's Date says the local clock is off by 4 minutes
 * or more (S3 refuses signatures more than 15 minutes off), correct the client's offset. Returns whether
 * it changed, which makes a RequestTimeTooSkewed error worth another attempt.
 */
function sampleClock(clock: { systemClockOffset?: number }, headers: Record<string, string>): boolean {
  const date = headers['date'];
  if (date === undefined || headers['age'] !== undefined) return false;
  const server = Date.parse(date);
  if (Number.isNaN(server)) return false;
  const offset = server - Date.now();
  if (Math.abs(offset - (clock.systemClockOffset ?? 0)) < 240_000) return false;
  clock.systemClockOffset = offset;
  return true;
}

/** The response body as text, up to `limit` characters (the rest is read and dropped: the socket is reused). */
async function readText(body: Readable, limit: number): Promise<string> {
  body.setEncoding('utf8');
  let text = '';
  for await (const chunk of body) if (text.length < limit) text += String(chunk);
  return text.slice(0, limit);
}

function xmlField(text: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(text);
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Names the SDK gives errors whose response has no S3 error code. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  411: 'MissingContentLength',
  429: 'TooManyRequests',
  500: 'InternalError',
  501: 'NotImplemented',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** An error shaped as the SDK's service errors: name and Code, message, $fault, $metadata, Retry-After. */
function s3Error(
  status: number,
  headers: Record<string, string>,
  text: string,
  clockSkewCorrected: boolean,
): Error {
  const code = xmlField(text, 'Code') ?? STATUS_NAMES[status] ?? `Http${status}`;
  const err = new Error(xmlField(text, 'Message') ?? code) as Error & Record<string, unknown>;
  err.name = code;
  err['Code'] = code;
  err['$fault'] = status >= 500 ? 'server' : 'client';
  err['$metadata'] = {
    httpStatusCode: status,
    requestId: headers['x-amz-request-id'] ?? xmlField(text, 'RequestId'),
    ...(clockSkewCorrected ? { clockSkewCorrected: true } : {}),
  };
  const region = headers['x-amz-bucket-region'] ?? xmlField(text, 'Region');
  if (region) err['Region'] = region;
  const retryAfter = headers['retry-after']?.trim();
  if (retryAfter) {
    // Seconds, or an HTTP date.
    const ms = /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms) && ms > 0) err['$retryAfterMs'] = Math.min(20_000, ms);
  }
  return err;
}
