// A fault-injecting HTTP proxy for tests: sits on 127.0.0.1 in front of a test S3 server (s3rver or Ceph RGW),
// forwards every request byte for byte, and on the requests its rules pick answers 500/503/429, resets the
// connection (before or in the middle of the request body), delays or stalls the response, rejects ACLs the
// way a new AWS bucket does, or refuses uploads without a checksum the way an Object Lock bucket does. Each
// request's Content-MD5 header and the MD5 of the body it sent are logged, so a test can check the header. Point the S3 client's endpoint at `proxy.url`: the client signs for the proxy's
// host:port and the proxy forwards the Host header unchanged, so SigV4 signatures stay valid upstream.
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What a rule or `decide` sees of a request. */
export interface FaultRequest {
  /** 1-based number of the request, across all requests the proxy received. */
  seq: number;
  method: string;
  /** The request target exactly as sent (path and query, still percent-encoded). */
  url: string;
  /** The decoded path without the query, e.g. `/bucket/css/a b.css`. */
  path: string;
  query: URLSearchParams;
  /** Path-style addressing: the first path segment, if any. */
  bucket: string | undefined;
  /** Path-style addressing: the decoded object key after `/bucket/`, if any. */
  key: string | undefined;
  /** Request headers, names lower-cased. */
  headers: IncomingHttpHeaders;
}

/** What the proxy does to a request instead of (or on top of) forwarding it. */
export type Fault =
  /** Answer with an S3 XML error without forwarding (the request body is read first, as S3 does). */
  | { type: 'error'; status: number; code: string; message: string; headers?: Record<string, string> }
  /** Reset the connection before reading the request body; nothing reaches the server. */
  | { type: 'reset' }
  /** Forward the request, then reset both connections once `afterBytes` bytes of the body went through
   * (at the end of the body if it is shorter), so the server sees a truncated upload. */
  | { type: 'resetMidBody'; afterBytes: number }
  /** Forward the request, and hold the server's response for `ms` milliseconds before passing it on. */
  | { type: 'delay'; ms: number }
  /** Read the request body and never answer, until the client gives up or the proxy is closed. */
  | { type: 'stall' };

function s3Error(status: number, code: string, message: string, headers?: Record<string, string>): Fault {
  return { type: 'error', status, code, message, ...(headers ? { headers } : {}) };
}

/** Ready-made faults, with the codes and messages AWS S3 sends. */
export const faults = {
  internalError: () => s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  slowDown: () => s3Error(503, 'SlowDown', 'Please reduce your request rate.'),
  /** 503 with a Retry-After header (seconds), as a server that says when to come back. */
  unavailableFor: (seconds: number) =>
    s3Error(503, 'ServiceUnavailable', 'Please try again later.', { 'retry-after': String(seconds) }),
  tooManyRequests: () => s3Error(429, 'TooManyRequests', 'Please reduce your request rate.'),
  /** What a bucket with Object Ownership "bucket owner enforced" (every new AWS bucket since 2023) answers
   * to a request that sets an ACL. */
  aclNotSupported: () => s3Error(400, 'AccessControlListNotSupported', 'The bucket does not allow ACLs'),
  error: s3Error,
  reset: (): Fault => ({ type: 'reset' }),
  resetMidBody: (afterBytes: number): Fault => ({ type: 'resetMidBody', afterBytes }),
  delay: (ms: number): Fault => ({ type: 'delay', ms }),
  stall: (): Fault => ({ type: 'stall' }),
} as const;

/**
 * A declarative rule. Every matcher given must match; then `nth`, `times` and `probability` decide whether the
 * rule fires. Rules are tried in order and the first that fires wins; a rule only counts (for `nth`) the
 * requests that reach it and match its matchers.
 *
 * @example { method: 'PUT', key: /\.css$/, fault: faults.slowDown(), times: 2 }   // the first two CSS uploads get 503
 */
export interface FaultRule {
  fault: Fault;
  /** Shown in the log. @default the fault's S3 code or type, e.g. 'SlowDown', 'reset' */
  name?: string;
  /** HTTP method(s), upper case. */
  method?: string | readonly string[];
  /** The decoded object key: a string matches exactly, a RegExp is tested. */
  key?: string | RegExp;
  /** The decoded path (`/bucket/key`): a string matches exactly, a RegExp is tested. */
  path?: string | RegExp;
  /** A query parameter that must be present, e.g. `'acl'`, `'uploads'`, `'partNumber'`. */
  query?: string;
  /** A header that must be present (any case), e.g. `'x-amz-acl'`. */
  header?: string;
  /** Any other condition. */
  match?: (req: FaultRequest) => boolean;
  /** Fire only on the nth matching request(s), 1-based. @default every matching request */
  nth?: number | readonly number[];
  /** Fire on each matching request with this probability, from the proxy's seeded RNG. @default 1 */
  probability?: number;
  /** Fire at most this many times. @default unlimited */
  times?: number;
}

export interface FaultProxyOptions {
  /** The S3 server to forward to, e.g. `http://127.0.0.1:4568`. Only loopback addresses are accepted. */
  target: string;
  /** Declarative rules, tried in order. @default [] (forward everything) */
  rules?: readonly FaultRule[];
  /** Picks a fault per request in code; tried before `rules`. Return undefined to fall through to the rules. */
  decide?: (req: FaultRequest) => Fault | undefined;
  /** Seed of the RNG behind `probability`: the same seed and request order give the same faults. @default 1 */
  seed?: number;
}

/** One request as the proxy handled it. */
export interface FaultLogEntry {
  seq: number;
  method: string;
  url: string;
  bucket: string | undefined;
  key: string | undefined;
  /** Name of the rule that fired (or the fault's code/type for `decide`); null when forwarded untouched. */
  fault: string | null;
  /** Status sent to the client; null when none was (reset, stall, client gone). */
  status: number | null;
  /** forwarded: the server's answer was passed on (possibly delayed); injected: the proxy answered an error;
   * reset / stalled: as the fault says; aborted: the client went away first; upstream-error: the server failed. */
  outcome: 'pending' | 'forwarded' | 'injected' | 'reset' | 'stalled' | 'aborted' | 'upstream-error';
  /** Request body bytes received from the client (with resetMidBody: passed on before the reset). */
  bytesIn: number;
  /** The request carried `Expect: 100-continue` (the SDK sends it for bodies of 2 MiB and more): faults other
   * than resetMidBody and stall then land before the client sends any of the body. */
  expectContinue: boolean;
  /** The request's Content-MD5 header, if it sent one. */
  contentMd5: string | undefined;
  /** The base64 MD5 of every body byte received from the client, once the body ended (as Content-MD5 is written). */
  bodyMd5: string | undefined;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: the endpoint to give the S3 client. */
  readonly url: string;
  readonly port: number;
  /** Number of requests received so far. */
  readonly requests: number;
  /** Every request so far, in arrival order. */
  readonly log: readonly FaultLogEntry[];
  /** The entries whose request got a fault. */
  faulted(): FaultLogEntry[];
  /** Replace the rules (and their nth/times counters). */
  setRules(rules: readonly FaultRule[]): void;
  /** Forget the log and the request count. */
  clearLog(): void;
  /** Stop listening and destroy every socket, stalled ones included. */
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]|::1)$/;
// Headers about this hop only; none of them is covered by a SigV4 signature.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** A request that sets an ACL, which a bucket without ACLs refuses: an `x-amz-acl` or `x-amz-grant-*` header,
 * or PutBucketAcl/PutObjectAcl (`PUT ?acl`). Reading an ACL (`GET ?acl`) is still allowed on AWS. Canned ACLs
 * listed in `allowCanned` pass (AWS lets `bucket-owner-full-control` through on such buckets). */
export function setsAcl(req: FaultRequest, allowCanned: readonly string[] = []): boolean {
  const canned = req.headers['x-amz-acl'];
  if (canned !== undefined && !allowCanned.includes(String(canned))) return true;
  if (Object.keys(req.headers).some((h) => h.startsWith('x-amz-grant-'))) return true;
  return req.method === 'PUT' && req.query.has('acl');
}

/** The rule that makes the proxy behave like a new AWS bucket (Object Ownership "bucket owner enforced"):
 * every request that sets an ACL gets 400 AccessControlListNotSupported.
 * @param options.allowCanned canned ACLs to let through; AWS accepts `bucket-owner-full-control`. @default [] */
export function rejectAcls(options: { allowCanned?: readonly string[] } = {}): FaultRule {
  const allow = options.allowCanned ?? [];
  return {
    name: 'AccessControlListNotSupported',
    match: (req) => setsAcl(req, allow),
    fault: faults.aclNotSupported(),
  };
}

/** Whether a request carries a checksum of its body: Content-MD5, an x-amz-checksum-* header, or a trailer
 * announced for one (the SDK's aws-chunked bodies). */
export function carriesChecksum(req: FaultRequest): boolean {
  if (req.headers['content-md5'] !== undefined) return true;
  if (String(req.headers['x-amz-trailer'] ?? '').startsWith('x-amz-checksum-')) return true;
  return Object.keys(req.headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type');
}

/** AWS's words for an upload without a checksum to a bucket with Object Lock default retention. */
const CHECKSUM_REQUIRED = (what: string) =>
  `Content-MD5 OR x-amz-checksum- HTTP header is required for ${what} requests with Object Lock parameters`;

/** The rules that make the proxy behave like an AWS bucket with Object Lock default retention: a PutObject
 * (or an UploadPart) without a checksum header gets 400 InvalidRequest, with AWS's message. CopyObject, ACL
 * and bucket requests pass.
 * @param options.key only uploads of these keys (a string matches exactly, a RegExp is tested). @default every key */
export function requireChecksums(options: { key?: string | RegExp } = {}): FaultRule[] {
  const upload = (req: FaultRequest) =>
    req.key !== undefined &&
    !carriesChecksum(req) &&
    req.headers['x-amz-copy-source'] === undefined &&
    [...req.query.keys()].every((q) => q === 'partNumber' || q === 'uploadId' || q === 'x-id');
  const key = options.key === undefined ? {} : { key: options.key };
  return [
    {
      name: 'ChecksumRequired',
      method: 'PUT',
      ...key,
      query: 'partNumber',
      match: upload,
      fault: s3Error(400, 'InvalidRequest', CHECKSUM_REQUIRED('Put Part')),
    },
    {
      name: 'ChecksumRequired',
      method: 'PUT',
      ...key,
      match: (req) => upload(req) && !req.query.has('partNumber'),
      fault: s3Error(400, 'InvalidRequest', CHECKSUM_REQUIRED('Put Object')),
    },
  ];
}

// mulberry32: small, fast, and reproducible from a 32-bit seed.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function faultName(fault: Fault): string {
  return fault.type === 'error' ? fault.code : fault.type;
}

function matches(pattern: string | RegExp | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (value === undefined) return false;
  return typeof pattern === 'string' ? pattern === value : pattern.test(value);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function describe(req: IncomingMessage, seq: number): FaultRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const segments = rawPath.split('/');
  const bucket = segments[1] ? decode(segments[1]) : undefined;
  const rawKey = segments.slice(2).join('/');
  return {
    seq,
    method: req.method ?? 'GET',
    url,
    path: decode(rawPath),
    query,
    bucket,
    key: rawKey ? decode(rawKey) : undefined,
    headers: req.headers,
  };
}

function withoutHopByHop(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function reset(socket: Socket): void {
  // RST rather than FIN: what a dropped connection looks like to the client (ECONNRESET).
  if (!socket.destroyed) socket.resetAndDestroy();
}

/** Start a fault-injecting proxy on 127.0.0.1 (a free port) in front of `options.target`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.protocol !== 'http:' || !LOOPBACK.test(target.hostname)) {
    throw new Error(`fault proxy: target must be http:// on a loopback address, got ${options.target}`);
  }
  const seed = options.seed ?? 1;
  let rules: readonly FaultRule[] = [];
  let state = new Map<FaultRule, { matched: number; fired: number; random: () => number }>();
  const setRules = (next: readonly FaultRule[]) => {
    rules = [...next];
    state = new Map(rules.map((r, i) => [r, { matched: 0, fired: 0, random: rng(seed + i * 0x9e3779b9) }]));
  };
  setRules(options.rules ?? []);

  let seq = 0;
  let log: FaultLogEntry[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const agent = new http.Agent({ keepAlive: true });

  const choose = (req: FaultRequest): { fault: Fault; name: string } | undefined => {
    const decided = options.decide?.(req);
    if (decided) return { fault: decided, name: faultName(decided) };
    for (const rule of rules) {
      const s = state.get(rule)!;
      const methods = typeof rule.method === 'string' ? [rule.method] : rule.method;
      if (methods && !methods.includes(req.method)) continue;
      if (!matches(rule.key, req.key) || !matches(rule.path, req.path)) continue;
      if (rule.query !== undefined && !req.query.has(rule.query)) continue;
      if (rule.header !== undefined && req.headers[rule.header.toLowerCase()] === undefined) continue;
      if (rule.match && !rule.match(req)) continue;
      s.matched++;
      if (rule.nth !== undefined) {
        const nth = typeof rule.nth === 'number' ? [rule.nth] : rule.nth;
        if (!nth.includes(s.matched)) continue;
      }
      if (rule.times !== undefined && s.fired >= rule.times) continue;
      if (rule.probability !== undefined && !(s.random() < rule.probability)) continue;
      s.fired++;
      return { fault: rule.fault, name: rule.name ?? faultName(rule.fault) };
    }
    return undefined;
  };

  const sendError = (res: ServerResponse, entry: FaultLogEntry, fault: Extract<Fault, { type: 'error' }>) => {
    const requestId = `FAULT${entry.seq.toString(16).toUpperCase().padStart(11, '0')}`;
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${fault.code}</Code><Message>${fault.message}</Message>` +
      `<RequestId>${requestId}</RequestId><HostId>fault-proxy</HostId></Error>`;
    entry.status = fault.status;
    entry.outcome = 'injected';
    res.writeHead(fault.status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
      'x-amz-id-2': 'fault-proxy',
      server: 'AmazonS3',
      ...fault.headers,
    });
    res.end(body);
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    entry: FaultLogEntry,
    expectContinue: boolean,
    fault: Fault | undefined,
  ) => {
    const upstream = http.request({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || 80,
      method: req.method,
      path: req.url,
      // Same headers, same order, Host included: the signature covers Host and the x-amz-* headers.
      headers: withoutHopByHop(req.rawHeaders),
      setHost: false,
      agent,
    });
    let cut = false;
    upstream.on('continue', () => {
      if (expectContinue && !res.headersSent) res.writeContinue();
    });
    upstream.on('response', (ures) => {
      const pass = () => {
        if (res.destroyed || cut) {
          ures.destroy();
          return;
        }
        entry.status = ures.statusCode ?? 502;
        entry.outcome = 'forwarded';
        res.writeHead(entry.status, ures.statusMessage, withoutHopByHop(ures.rawHeaders));
        ures.pipe(res);
      };
      if (fault?.type === 'delay') {
        const t = setTimeout(() => {
          timers.delete(t);
          pass();
        }, fault.ms);
        timers.add(t);
      } else {
        pass();
      }
    });
    upstream.on('error', () => {
      if (cut || entry.outcome !== 'pending') return;
      entry.outcome = 'upstream-error';
      req.socket.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        if (entry.outcome === 'pending') entry.outcome = 'aborted';
      }
    });

    const limit = fault?.type === 'resetMidBody' ? fault.afterBytes : Number.POSITIVE_INFINITY;
    let cutting = false;
    const cutNow = () => {
      if (cut) return;
      cut = true;
      entry.outcome = 'reset';
      upstream.destroy();
      reset(req.socket);
    };
    // Let the partial body reach the server before both connections drop.
    const cutSoon = () => {
      cutting = true;
      if (upstream.writableNeedDrain) upstream.once('drain', cutNow);
      else setImmediate(cutNow);
    };
    req.on('data', (chunk: Buffer) => {
      if (cutting) return;
      const room = limit - entry.bytesIn;
      entry.bytesIn += Math.min(chunk.length, room);
      if (chunk.length >= room) {
        if (room > 0) upstream.write(chunk.subarray(0, room));
        cutSoon();
        return;
      }
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      if (cutting) return;
      if (fault?.type === 'resetMidBody') cutSoon();
      else upstream.end();
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
    req.on('error', () => {});
    res.on('error', () => {});
    const info = describe(req, ++seq);
    const chosen = choose(info);
    const entry: FaultLogEntry = {
      seq: info.seq,
      method: info.method,
      url: info.url,
      bucket: info.bucket,
      key: info.key,
      fault: chosen?.name ?? null,
      status: null,
      outcome: 'pending',
      bytesIn: 0,
      expectContinue,
      contentMd5: info.headers['content-md5'] as string | undefined,
      bodyMd5: undefined,
    };
    log.push(entry);
    const md5 = createHash('md5');
    req.on('data', (chunk: Buffer) => md5.update(chunk));
    req.on('end', () => {
      entry.bodyMd5 = md5.digest('base64');
    });
    const fault = chosen?.fault;
    switch (fault?.type) {
      case 'reset':
        entry.outcome = 'reset';
        reset(req.socket);
        return;
      case 'error':
        if (expectContinue) {
          // The client waits for 100 Continue before sending the body: answer now instead, as S3 does,
          // and close the connection since the announced body never comes.
          res.setHeader('connection', 'close');
          sendError(res, entry, fault);
          return;
        }
        req.on('data', (chunk: Buffer) => {
          entry.bytesIn += chunk.length;
        });
        req.on('end', () => sendError(res, entry, fault));
        return;
      case 'stall':
        entry.outcome = 'stalled';
        if (expectContinue) res.writeContinue();
        req.on('data', (chunk: Buffer) => {
          entry.bytesIn += chunk.length;
        });
        return;
      default:
        forward(req, res, entry, expectContinue, fault);
    }
  };

  const server = http.createServer();
  server.on('request', (req, res) => handle(req, res, false));
  // Handling 100-continue ourselves lets a fault land before the client sends the body.
  server.on('checkContinue', (req, res) => handle(req, res, true));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');
  const port = address.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return seq;
    },
    get log() {
      return log;
    },
    faulted: () => log.filter((e) => e.fault !== null),
    setRules,
    clearLog: () => {
      log = [];
      seq = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      agent.destroy();
      await closed;
    },
  };
}
