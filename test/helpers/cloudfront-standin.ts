// A CloudFront API stand-in on 127.0.0.1: CreateInvalidation and GetInvalidation in their documented
// XML shapes (API version 2020-05-31), each request's SigV4 signature recomputed with @smithy/signature-v4
// from the credentials it was given (a wrong one gets 403 SignatureDoesNotMatch, as CloudFront answers).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData) =>
  typeof d === 'string'
    ? Buffer.from(d, 'utf8')
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

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

/** One invalidation the stand-in accepted. */
export interface ReceivedInvalidation {
  distributionId: string;
  id: string;
  callerReference: string;
  paths: string[];
}

export interface CloudFrontStandIn {
  endpoint: string;
  /** Invalidations accepted, in order. */
  invalidations: ReceivedInvalidation[];
  /** Every request, signed right or not: `METHOD path status`. */
  requests: string[];
  /** Answer the next `n` CreateInvalidation requests with this error instead (status, code). */
  failNext(n: number, status: number, code: string): void;
  close(): Promise<void>;
}

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';
const xmlEscape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
const xmlUnescape = (s: string) =>
  s.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!,
  );

function invalidationXml(inv: ReceivedInvalidation, status: string): string {
  const items = inv.paths.map((p) => `<Path>${xmlEscape(p)}</Path>`).join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Invalidation xmlns="${NS}"><Id>${inv.id}</Id><Status>${status}</Status>` +
    `<CreateTime>${new Date().toISOString()}</CreateTime><InvalidationBatch><Paths><Quantity>${inv.paths.length}</Quantity>` +
    `<Items>${items}</Items></Paths><CallerReference>${xmlEscape(inv.callerReference)}</CallerReference>` +
    `</InvalidationBatch></Invalidation>`
  );
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomBytes(8).toString('hex')}</RequestId></ErrorResponse>`;
}

/** Whether the request's Authorization is the SigV4 signature of what arrived, with these credentials. */
async function signatureMatches(
  req: IncomingMessage,
  body: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<boolean> {
  const auth = String(req.headers.authorization ?? '');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/cloudfront\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
      auth,
    );
  if (!m || m[1] !== credentials.accessKeyId) return false;
  const signedHeaders = m[3]!.split(';');
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) headers[name] = String(req.headers[name] ?? '');
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const signingDate = new Date(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  const signer = new SignatureV4({ credentials, region: m[2]!, service: 'cloudfront', sha256: Sha256 });
  const host = String(req.headers.host ?? '');
  const signed = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: url.pathname,
      query,
      headers,
      body,
    },
    { signingDate },
  );
  return signed.headers.authorization === auth || signed.headers.Authorization === auth;
}

/** Start the stand-in; it accepts requests signed with `credentials` for distributions in `distributions`. */
export async function startCloudFrontStandIn(options: {
  credentials: { accessKeyId: string; secretAccessKey: string };
  distributions: readonly string[];
  /** Called with each accepted invalidation's paths (a CDN stand-in purges them). */
  onInvalidation?: (paths: string[]) => void | Promise<void>;
  /** GetInvalidation answers InProgress this many times before Completed. @default 1 */
  pollsUntilCompleted?: number;
}): Promise<CloudFrontStandIn> {
  const invalidations: ReceivedInvalidation[] = [];
  const requests: string[] = [];
  const polls = new Map<string, number>();
  let failures: { n: number; status: number; code: string } = { n: 0, status: 0, code: '' };

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const reply = (status: number, xml: string, headers: Record<string, string> = {}) => {
      requests.push(`${req.method} ${req.url} ${status}`);
      res.writeHead(status, {
        'content-type': 'text/xml',
        'x-amz-request-id': randomBytes(8).toString('hex'),
        ...headers,
      });
      res.end(xml);
    };
    if (!(await signatureMatches(req, body, options.credentials))) {
      return reply(
        403,
        errorXml(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided.',
        ),
      );
    }
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const create = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation$/.exec(url.pathname);
    const get = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation\/([^/]+)$/.exec(url.pathname);
    const distributionId = decodeURIComponent((create ?? get)?.[1] ?? '');
    if (!create && !get) return reply(404, errorXml('NotFound', 'no such API'));
    if (!options.distributions.includes(distributionId)) {
      return reply(404, errorXml('NoSuchDistribution', 'The specified distribution does not exist.'));
    }
    if (create && req.method === 'POST') {
      if (failures.n > 0) {
        failures.n--;
        return reply(failures.status, errorXml(failures.code, `stand-in: ${failures.code}`));
      }
      const paths = [...body.matchAll(/<Path>([\s\S]*?)<\/Path>/g)].map((x) => xmlUnescape(x[1]!));
      const quantity = Number(/<Quantity>(\d+)<\/Quantity>/.exec(body)?.[1]);
      const callerReference = xmlUnescape(
        /<CallerReference>([\s\S]*?)<\/CallerReference>/.exec(body)?.[1] ?? '',
      );
      if (quantity !== paths.length || callerReference === '' || paths.some((p) => !p.startsWith('/'))) {
        return reply(400, errorXml('InvalidArgument', 'Quantity, Paths or CallerReference is malformed'));
      }
      const inv = {
        distributionId,
        id: `I${randomBytes(6).toString('hex').toUpperCase()}`,
        callerReference,
        paths,
      };
      invalidations.push(inv);
      await options.onInvalidation?.(paths);
      const location = `http://${req.headers.host}/2020-05-31/distribution/${distributionId}/invalidation/${inv.id}`;
      return reply(201, invalidationXml(inv, 'InProgress'), { location });
    }
    if (get && req.method === 'GET') {
      const inv = invalidations.find((i) => i.id === get[2] && i.distributionId === distributionId);
      if (!inv)
        return reply(404, errorXml('NoSuchInvalidation', 'The specified invalidation does not exist.'));
      const seen = (polls.get(inv.id) ?? 0) + 1;
      polls.set(inv.id, seen);
      return reply(
        200,
        invalidationXml(inv, seen > (options.pollsUntilCompleted ?? 1) ? 'Completed' : 'InProgress'),
      );
    }
    return reply(405, errorXml('MethodNotAllowed', 'method not allowed'));
  };

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      handle(req, res, body).catch((err: Error) => {
        res.writeHead(500).end(errorXml('InternalError', err.message));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invalidations,
    requests,
    failNext(n, status, code) {
      failures = { n, status, code };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
