// A CDN stand-in: a caching reverse proxy on 127.0.0.1 in front of a bucket (path-style on the test S3
// server). A cached response is served until it is purged, as a CDN with a long TTL does; `x-cache` says
// HIT or MISS. `purgePaths` takes CloudFront paths (`/a/b.css`, `/a/*`), `purgeUrls` Cloudflare's URLs.
import http, { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Cached {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Response headers a CDN passes on from the origin. */
const KEPT = ['content-type', 'content-encoding', 'cache-control', 'etag', 'last-modified', 'content-length'];

export interface CdnProxy {
  /** `http://127.0.0.1:port`, for cdnDomain. */
  origin: string;
  purgePaths(paths: readonly string[]): void;
  purgeUrls(urls: readonly string[]): void;
  close(): Promise<void>;
}

export async function startCdnProxy(options: { bucketUrl: string }): Promise<CdnProxy> {
  const cache = new Map<string, Cached>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const hit = cache.get(path);
    const send = (c: Cached, state: 'HIT' | 'MISS') => {
      res.writeHead(c.status, { ...c.headers, 'x-cache': state });
      res.end(req.method === 'HEAD' ? undefined : c.body);
    };
    if (hit) return send(hit, 'HIT');
    // node:http, not fetch: fetch would decode a gzip body, and a CDN passes the stored bytes on as they are.
    http
      .get(`${options.bucketUrl}${path}`, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        r.on('end', () => {
          const headers: Record<string, string> = {};
          for (const name of KEPT) {
            const v = r.headers[name];
            if (typeof v === 'string') headers[name] = v;
          }
          const c = { status: r.statusCode ?? 502, headers, body: Buffer.concat(chunks) };
          if (c.status === 200) cache.set(path, c);
          send(c, 'MISS');
        });
      })
      .on('error', (err: Error) => res.writeHead(502).end(err.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const purgePaths = (paths: readonly string[]) => {
    for (const p of paths) {
      if (p.endsWith('*')) {
        for (const k of [...cache.keys()]) if (k.startsWith(p.slice(0, -1))) cache.delete(k);
      } else cache.delete(p);
    }
  };
  return {
    origin: `http://127.0.0.1:${port}`,
    purgePaths,
    purgeUrls: (urls) => purgePaths(urls.map((u) => new URL(u).pathname)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
