// One HTTP exchange of the lean S3 path, over node:http/https with keep-alive sockets, and the same
// limits as the SDK's handler that src/s3/client.ts configures: a connection must be established within
// `connectionTimeout`, and a request whose socket sees no bytes either way for `socketTimeout` (the
// `requestTimeout` setting: a stall, not a total) fails with a TimeoutError. An abort fails it with an
// AbortError. Errors are the SDK handler's in name and message, so errors.ts and diagnosis.ts read them
// alike (node's own connection errors pass through with their code, as they do from the SDK).

import http from 'node:http';
import https from 'node:https';

/** A request as sent. */
export interface HttpRequest {
  method: string;
  /** Path and query, encoded. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/** The whole answer (S3's answers on this path are small: objects of the state folder, listings, errors). */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpEndpoint {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number | undefined;
}

export interface HttpLimits {
  /** Sockets per host, kept alive between requests. */
  maxSockets: number;
  connectionTimeout: number;
  /** No bytes either way for this long: the request fails. */
  socketTimeout: number;
}

const timeoutError = (message: string): Error =>
  Object.assign(new Error(`@smithy/node-http-handler - ${message}`), { name: 'TimeoutError' });

const abortError = (): Error => Object.assign(new Error('Request aborted'), { name: 'AbortError' });

/** Sends requests to one endpoint over a pool of keep-alive sockets. */
export class HttpSender {
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(
    private readonly endpoint: HttpEndpoint,
    private readonly limits: HttpLimits,
  ) {
    const options = { keepAlive: true, maxSockets: limits.maxSockets, maxFreeSockets: limits.maxSockets };
    const https_ = endpoint.protocol === 'https:';
    this.#agent = https_ ? new https.Agent(options) : new http.Agent(options);
    this.#request = https_ ? https.request : http.request;
  }

  /** Send `request`; resolves with the whole answer, whatever its status. */
  send(request: HttpRequest, signal?: AbortSignal): Promise<HttpAnswer> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        cleanup();
        req.destroy();
        reject(err);
      };
      const req = this.#request({
        agent: this.#agent,
        protocol: this.endpoint.protocol,
        hostname: this.endpoint.hostname,
        port: this.endpoint.port,
        method: request.method,
        path: request.path,
        headers: request.headers,
      });
      const onAbort = () => fail(abortError());
      signal?.addEventListener('abort', onAbort, { once: true });
      const connectTimer = this.#watchConnection(req, fail);
      const cleanup = () => {
        clearTimeout(connectTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      req.setTimeout(this.limits.socketTimeout, () =>
        fail(
          timeoutError(
            `the request socket timed out after ${this.limits.socketTimeout} ms of inactivity (configured by client requestHandler).`,
          ),
        ),
      );
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        // The connection closed before the whole body came: a dropped connection, retried as one.
        res.on('close', () => {
          if (!res.complete) fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve({
            status: res.statusCode ?? 0,
            headers: flatHeaders(res.headers),
            body: Buffer.concat(chunks),
          });
        });
      });
      req.end(request.body);
    });
  }

  /** Fails the request when its socket is not connected within connectionTimeout. */
  #watchConnection(req: http.ClientRequest, fail: (err: Error) => void): NodeJS.Timeout {
    const ms = this.limits.connectionTimeout;
    const timer = setTimeout(
      () =>
        fail(
          timeoutError(
            `the request socket did not establish a connection with the server within the configured timeout of ${ms} ms.`,
          ),
        ),
      ms,
    );
    req.once('socket', (socket) => {
      if ((socket as { connecting?: boolean }).connecting) socket.once('connect', () => clearTimeout(timer));
      else clearTimeout(timer);
    });
    return timer;
  }

  /** Close the idle sockets (those in use close when their request ends). */
  destroy(): void {
    this.#agent.destroy();
  }
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  return out;
}
