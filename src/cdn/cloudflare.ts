// Cloudflare: purge by URL, `POST {api}/zones/{zone}/purge_cache` with `{ files: [...] }` and the API
// token as a Bearer header, in batches of the per-request URL limit. No SDK: one fetch per batch.

/** URLs per purge request: the limit on every Cloudflare plan below Enterprise (docs/cdn.md). */
export const CLOUDFLARE_URLS_PER_REQUEST = 30;

/** A purge Cloudflare refused or could not be reached for; the message never holds the token. */
export class CloudflarePurgeError extends Error {
  override name = 'CloudflarePurgeError' as const;
}

/** Purge `urls` from the zone's cache; resolves to the number of requests sent. */
export async function purgeCloudflare(options: {
  apiUrl: string;
  zoneId: string;
  token: string;
  urls: readonly string[];
  timeoutMs: number;
  fetch?: typeof fetch;
}): Promise<number> {
  const { apiUrl, zoneId, token, urls, timeoutMs } = options;
  const send = options.fetch ?? fetch;
  const endpoint = `${apiUrl}/zones/${encodeURIComponent(zoneId)}/purge_cache`;
  let requests = 0;
  for (let i = 0; i < urls.length; i += CLOUDFLARE_URLS_PER_REQUEST) {
    const files = urls.slice(i, i + CLOUDFLARE_URLS_PER_REQUEST);
    requests++;
    let response: Response;
    try {
      response = await send(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ files }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new CloudflarePurgeError(`could not reach ${endpoint}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await response.text();
    let body: { success?: boolean; errors?: { code?: number; message?: string }[] } = {};
    try {
      body = JSON.parse(text);
    } catch {}
    if (!response.ok || body.success !== true) {
      const why = body.errors?.map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
      throw new CloudflarePurgeError(
        `Cloudflare refused the purge of ${files.length} URLs (HTTP ${response.status}${why ? `: ${why}` : ''})`,
      );
    }
  }
  return requests;
}
