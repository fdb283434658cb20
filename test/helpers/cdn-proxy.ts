// A CDN stand-in: a caching reverse proxy on 127.0.0.1 in front of a bucket (path-style on the test S3
// server). A cached response is served until it is purged, as a CDN with a long TTL does; `x-cache` says
// HIT or MISS. `purgePaths` takes CloudFront paths (`/a/b.css`, `/a/*`), `purgeUrls` Cloudflare's URLs.
import { createServer } from 'node:http';
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
    fetch(`${options.bucketUrl}${path}`, { headers: { 'accept-encoding': 'identity' } })
      .then(async (r) => {
        const headers: Record<string, string> = {};
        for (const name of KEPT) {
          const v = r.headers.get(name);
          if (v !== null) headers[name] = v;
        }
        const c = { status: r.status, headers, body: Buffer.from(await r.arrayBuffer()) };
        if (r.status === 200) cache.set(path, c);
        send(c, 'MISS');
      })
      .catch((err: Error) => res.writeHead(502).end(err.message));
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
