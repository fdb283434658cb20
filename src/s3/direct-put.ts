// Small-object PUTs on the lean path (src/s3/lean/): signed with node:crypto and sent over keep-alive
// node:http, without the SDK's middleware stack, signer or handler. On a fast link (an S3-compatible
// store on the same network, loopback), the client's CPU per request decides a deploy's speed:
// `client.send` costs about 1.2 ms of CPU per PutObject, most of it in the middleware stack (endpoint
// rules, schema serialisation, user agent, retry bookkeeping). Measured by `npm run bench` (the "raw"
// row is the floor).
//
// Used only where the lean path applies (src/s3/edge.ts): a client createAll built itself, an explicit
// path-style `endpointUrl`, credentials known without the SDK, and bodies in memory. Errors look like
// the SDK's (src/s3/lean/service-error.ts), so the retry policy, ACL fallback and messages work
// unchanged; the caller retries (withRetries in retry.ts reads the Retry-After kept as `$retryAfterMs`).

import { HEADER_OF_FIELD, type ObjectFields } from '../content/headers.js';
import type { LeanS3 } from './lean/lean-client.js';

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

/** The direct PUT on the lean path `s3`, to `bucket`. */
export function directPutter(s3: LeanS3, bucket: string): DirectPut {
  return async (input, signal) => {
    const headers: Record<string, string> = {};
    for (const [field, value] of Object.entries(input.fields) as [keyof ObjectFields, unknown][]) {
      if (value === undefined) continue;
      headers[HEADER_OF_FIELD[field]] = value instanceof Date ? value.toUTCString() : String(value);
    }
    for (const [name, value] of Object.entries(input.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (input.acl) headers['x-amz-acl'] = input.acl;
    if (input.contentMd5) headers['content-md5'] = input.contentMd5;
    const answer = await s3.send(
      { method: 'PUT', bucket, key: input.key, headers, body: input.body },
      signal,
    );
    return answer.headers['etag']?.replace(/^"(.*)"$/, '$1');
  };
}
