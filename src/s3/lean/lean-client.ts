// One signed S3 request over keep-alive HTTP, without the SDK: the path-style URL of a bucket and key,
// SigV4 (sign.ts), the exchange (http.ts), the clock-skew correction after every answer, and the
// SDK-shaped error of a non-2xx answer (service-error.ts). No retries here: the callers wrap requests in
// withRetries (src/s3/retry.ts), the policy every request of a deploy follows.

import { type HttpAnswer, HttpSender } from './http.js';
import { type ClockOffset, sampleClock, serviceError } from './service-error.js';
import { canonicalQuery, encodeKeyPath, type SigningCredentials, SigV4Signer } from './sign.js';

/** Where and as whom the lean path talks. */
export interface LeanS3Options {
  /** An http(s) endpoint without query or credentials; its path (if any) is kept before the bucket. */
  endpoint: URL;
  region: string;
  credentials: SigningCredentials;
  maxSockets: number;
  connectionTimeout: number;
  /** The stall timeout: the `requestTimeout` setting. */
  socketTimeout: number;
}

/** One request: a bucket, a key or none (the bucket itself), a query, headers, a body. */
export interface LeanRequest {
  method: 'GET' | 'PUT' | 'DELETE' | 'HEAD' | 'POST';
  bucket: string;
  key?: string | undefined;
  query?: Readonly<Record<string, string>> | undefined;
  headers?: Record<string, string> | undefined;
  body?: Buffer | undefined;
}

export class LeanS3 {
  readonly #signer: SigV4Signer;
  readonly #http: HttpSender;
  readonly #base: string;
  readonly #host: string;
  /** The clock correction; replaced by the SDK client's config once that exists (see edge.ts). */
  clock: ClockOffset = {};

  constructor(options: LeanS3Options) {
    const { endpoint } = options;
    this.#signer = new SigV4Signer(options.credentials, options.region);
    this.#http = new HttpSender(
      {
        protocol: endpoint.protocol as 'http:' | 'https:',
        hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: endpoint.port === '' ? undefined : Number(endpoint.port),
      },
      options,
    );
    this.#base = endpoint.pathname.replace(/\/+$/, '');
    this.#host = endpoint.host;
  }

  /** Send `request`, signed; the answer when it is 2xx, else its SDK-shaped error is thrown. */
  async send(request: LeanRequest, signal?: AbortSignal): Promise<HttpAnswer> {
    const path = `${this.#base}/${encodeKeyPath(request.bucket)}${request.key === undefined ? '' : `/${encodeKeyPath(request.key)}`}`;
    const query = request.query ?? {};
    const headers: Record<string, string> = {
      host: this.#host,
      'user-agent': 'nunjucks-s3',
    };
    for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
    if (request.body !== undefined || request.method === 'PUT' || request.method === 'POST')
      headers['content-length'] = String(request.body?.length ?? 0);
    // Signed with the correction for a skewed local clock that the answers keep up to date.
    const date = new Date(Date.now() + (this.clock.systemClockOffset ?? 0));
    this.#signer.sign({ method: request.method, path, query, headers, body: request.body }, date);
    const search = canonicalQuery(query);
    const answer = await this.#http.send(
      { method: request.method, path: search ? `${path}?${search}` : path, headers, body: request.body },
      signal,
    );
    const corrected = sampleClock(this.clock, answer.headers);
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw serviceError(answer.status, answer.headers, answer.body.toString('utf8', 0, 64 * 1024), corrected);
  }

  /** Close the idle sockets. */
  destroy(): void {
    this.#http.destroy();
  }
}
