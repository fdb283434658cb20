// A Cloudflare API stand-in on 127.0.0.1: `POST /client/v4/zones/{zone}/purge_cache` with a Bearer token
// and `{ files: [...] }` (at most 30 URLs, as on every plan below Enterprise), answered in Cloudflare's
// `{ success, errors, messages, result }` envelope.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CloudflareStandIn {
  /** The API base URL, for cloudflareApiUrl. */
  apiUrl: string;
  /** Each accepted purge's URLs, in order. */
  purges: string[][];
  /** Every request: `METHOD path status`. */
  requests: string[];
  close(): Promise<void>;
}

export async function startCloudflareStandIn(options: {
  zoneId: string;
  token: string;
  /** Called with each accepted purge's URLs (a CDN stand-in drops them). */
  onPurge?: (urls: string[]) => void;
}): Promise<CloudflareStandIn> {
  const purges: string[][] = [];
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => (raw += d));
    req.on('end', () => {
      const reply = (status: number, body: object) => {
        requests.push(`${req.method} ${req.url} ${status}`);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const fail = (status: number, code: number, message: string) =>
        reply(status, { success: false, errors: [{ code, message }], messages: [], result: null });
      const m = /^\/client\/v4\/zones\/([^/]+)\/purge_cache$/.exec(req.url ?? '');
      if (!m || req.method !== 'POST') return fail(404, 7003, 'Could not route to the requested path');
      if (req.headers.authorization !== `Bearer ${options.token}`)
        return fail(403, 10000, 'Authentication error');
      if (decodeURIComponent(m[1]!) !== options.zoneId)
        return fail(404, 7003, 'Could not route to /zones: unknown zone');
      let files: unknown;
      try {
        files = (JSON.parse(raw) as { files?: unknown }).files;
      } catch {
        return fail(
          400,
          1012,
          'Request must contain one of purge_everything, files, tags, hosts or prefixes',
        );
      }
      if (!Array.isArray(files) || files.length === 0 || files.some((f) => typeof f !== 'string')) {
        return fail(400, 1012, 'files must be a non-empty array of URLs');
      }
      if (files.length > 30) return fail(400, 1015, 'More than 30 files in one request');
      purges.push(files as string[]);
      options.onPurge?.(files as string[]);
      reply(200, {
        success: true,
        errors: [],
        messages: [],
        result: { id: randomBytes(16).toString('hex') },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/client/v4`,
    purges,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
