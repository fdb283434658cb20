// Secrets never reach output: the one redaction mask, the credentials a client signs with, and the
// scrubbing of errors kept as a `cause` (a server may echo a key; an SDK response holds the signed
// request). Everything the deploy half prints or throws passes through here.

import type { S3Client } from '@aws-sdk/client-s3';

/** What a secret is replaced with in every message the deploy half produces. */
export const REDACTION_MASK = '[redacted]';

/** Secrets shorter than this are not masked (masking two letters would garble every message). */
export const MIN_SECRET_LENGTH = 4;

/**
 * The credentials a client signs with (from the settings, an injected client, or the SDK's default
 * chain), to redact from what a server echoes. Resolving them is the first step of the first request
 * anyway (the provider is memoized); without any, [] (the first request then fails, diagnosed).
 */
export async function clientSecrets(client: S3Client): Promise<string[]> {
  try {
    const provider = client.config.credentials as unknown;
    const c = (typeof provider === 'function' ? await provider() : provider) as
      | { accessKeyId?: unknown; secretAccessKey?: unknown; sessionToken?: unknown }
      | undefined;
    return [c?.accessKeyId, c?.secretAccessKey, c?.sessionToken].filter(
      (v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH,
    );
  } catch {
    return [];
  }
}

/**
 * The password of a URL written with credentials (`http://admin:PW@host`): whatever its length, it is
 * masked wherever the URL is printed, since an endpoint URL is echoed in errors, progress and dry runs.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#@]+@/gi;

/**
 * `text` with every secret replaced by `mask` ({@link REDACTION_MASK} unless told otherwise), and the
 * password of every URL with credentials in it.
 */
export function redact(text: string, secrets: Iterable<string>, mask = REDACTION_MASK): string {
  let out = text.replace(URL_PASSWORD, (_, head: string) => `${head}${mask}@`);
  for (const s of secrets) if (s && s.length >= MIN_SECRET_LENGTH) out = out.split(s).join(mask);
  return out;
}

/**
 * Remove credentials from an error in place (own string properties, including message and fields a
 * server echoed such as AWSAccessKeyId or StringToSign), so it can be kept as a `cause`. The SDK's
 * `$response` keeps its status and headers but loses its body: the raw response stream, whose request
 * (`util.inspect(err, { showHidden: true })` shows it) carries the signed request headers, session token
 * included, and which holds a socket for as long as the error is kept.
 */
export function scrubError<T>(err: T, secrets: readonly string[]): T {
  if (typeof err !== 'object' || err === null) return err;
  const seen = new Set<object>();
  const scrub = (obj: object, depth: number) => {
    if (seen.has(obj) || depth > 3) return;
    seen.add(obj);
    for (const name of Object.getOwnPropertyNames(obj)) {
      const desc = Object.getOwnPropertyDescriptor(obj, name);
      if (!desc || !('value' in desc)) continue;
      const v = desc.value as unknown;
      if (name === '$response' && typeof v === 'object' && v !== null) {
        stripResponse(v, secrets);
      } else if (typeof v === 'string') {
        const clean = redact(v, secrets);
        if (clean !== v && desc.writable) (obj as Record<string, unknown>)[name] = clean;
      } else if (typeof v === 'object' && v !== null) {
        scrub(v, depth + 1);
      }
    }
  };
  scrub(err as object, 0);
  return err;
}

/**
 * An SDK error's `$response` (a read-only property) reduced in place to status and headers: its body, the
 * raw response stream, goes (with its socket and its request).
 */
function stripResponse(response: object, secrets: readonly string[]): void {
  const r = response as { body?: unknown; headers?: Record<string, unknown> };
  try {
    if (r.body !== undefined) r.body = undefined;
    for (const [name, value] of Object.entries(r.headers ?? {})) {
      if (typeof value === 'string') r.headers![name] = redact(value, secrets);
    }
  } catch {
    // A frozen response: nothing more we can do than not walk into it.
  }
}
