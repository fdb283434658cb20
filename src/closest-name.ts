// "Did you mean": the nearest of a list of names to a mistyped one. Used for settings, flags, commands
// and environment variables alike.

/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to a mistyped name (case-insensitive edit distance), when it is near enough to be
 * a plausible typo: within a third of the name's length, and never further than `maxDistance`.
 */
export function closestName(name: string, candidates: Iterable<string>, maxDistance = 3): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(maxDistance, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Names a Flask-S3 user writes from memory, or from older Flask-S3 versions and other tools, that are too
 * far from this project's names for an edit distance to find (`FLASKS3_BUCKET` is five letters short of
 * `FLASKS3_BUCKET_NAME`). Each maps to the setting meant.
 */
const REMEMBERED_NAMES: Readonly<Record<string, string>> = {
  FLASKS3_BUCKET: 'FLASKS3_BUCKET_NAME',
  FLASKS3_NAME: 'FLASKS3_BUCKET_NAME',
  FLASKS3_CDN: 'FLASKS3_CDN_DOMAIN',
  FLASKS3_DOMAIN: 'FLASKS3_BUCKET_DOMAIN',
  FLASKS3_HTTPS: 'FLASKS3_USE_HTTPS',
  FLASKS3_LOCATION: 'FLASKS3_REGION',
  FLASKS3_ENDPOINT: 'FLASKS3_ENDPOINT_URL',
  FLASKS3_URL: 'FLASKS3_ENDPOINT_URL',
  FLASKS3_ACL: 'FLASKS3_OBJECT_ACL',
  FLASKS3_CACHE: 'FLASKS3_CACHE_CONTROL',
  FLASKS3_MIMETYPE: 'FLASKS3_FORCE_MIMETYPE',
  FLASKS3_GZIP_EXTS: 'FLASKS3_GZIP_ONLY_EXTS',
  FLASKS3_GZIP_EXTENSIONS: 'FLASKS3_GZIP_ONLY_EXTS',
  FLASKS3_MODIFIED: 'FLASKS3_ONLY_MODIFIED',
  FLASKS3_FILTER_REGEX: 'FLASKS3_FILEPATH_FILTER_REGEX',
  FLASKS3_FILTER: 'FLASKS3_FILEPATH_FILTER_REGEX',
  FLASKS3_ACCESS_KEY_ID: 'AWS_ACCESS_KEY_ID',
  FLASKS3_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY',
};

/** The `FLASKS3_*` setting meant by an unknown name: a remembered name first, else the nearest of `candidates`. */
export function suggestFlaskName(
  name: string,
  candidates: Iterable<string>,
  maxDistance = 3,
): string | undefined {
  return REMEMBERED_NAMES[name.toUpperCase()] ?? closestName(name, candidates, maxDistance);
}
