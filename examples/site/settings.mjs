// The demo's nunjucks-s3 settings: one set for the embedded S3 server the demo starts, and the
// FLASKS3_* / AWS_* environment variables for a real bucket. The demo and the CLI config file both
// read them from here.

import { parseSettingString, SETTINGS } from 'nunjucks-s3';

/** The bucket the embedded demo uploads to. */
export const DEMO_BUCKET = 'nunjucks-s3-demo';

/**
 * Settings for a local S3-compatible server (the embedded s3rver): path-style http URLs on 127.0.0.1,
 * the same endpoint for the upload, and gzip for the text formats so browsers have to decode it.
 * @param {string} endpoint e.g. `http://127.0.0.1:4568`
 * @param {object} [options]
 * @param {string} [options.bucket] @default DEMO_BUCKET
 * @param {string} [options.manifestPath] where an upload with fingerprinting writes its manifest, relative
 *   to the site (or absolute). @default '../.s3-data/nunjucks-s3-manifest.json': next to the embedded
 *   server's data, outside the committed tree, since it describes that bucket
 */
export function embeddedSettings(
  endpoint,
  { bucket = DEMO_BUCKET, manifestPath = '../.s3-data/nunjucks-s3-manifest.json' } = {},
) {
  const { host } = new URL(endpoint);
  return {
    bucketName: bucket,
    bucketDomain: host,
    urlStyle: 'path',
    useHttps: false,
    endpointUrl: endpoint,
    region: 'us-east-1',
    // s3rver's built-in account; it serves objects to anyone, so no ACLs are needed (or supported).
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    putBucketAcl: false,
    objectAcl: 'none',
    gzip: true,
    gzipOnlyExts: ['css', 'js', 'svg'],
    onlyModified: true,
    // Cache busting: every asset URL names its content hash (`css/site.3f2a9c1b0d4e.css`), uploaded with
    // `Cache-Control: public, max-age=31536000, immutable`, so a browser never keeps a stale copy and never
    // asks twice. Each file also stays under its own name, for the relative url()s inside the stylesheet.
    // ('query' keeps the names and adds `?v=<hash>` instead.)
    fingerprint: 'filename',
    manifestPath,
    // Literal url_for calls (`url_for('static', filename='img/logo.svg')`) are compiled into the templates,
    // so they cost nothing per request; calls with variables (the macros) still run at render time.
    inlineUrls: true,
  };
}

/**
 * Every `FLASKS3_*` / `AWS_*` setting present in `env`, by its camelCase name (so it can be spread over
 * other settings). Without credentials in it, the AWS SDK's default chain (profile, SSO, instance role)
 * supplies them at upload time.
 * @param {Record<string, string | undefined>} env
 */
export function settingsFromEnv(env = process.env) {
  const out = {};
  for (const spec of SETTINGS) {
    const raw = env[spec.flask];
    if (raw !== undefined && raw !== '') out[spec.camel] = parseSettingString(spec, raw);
  }
  return out;
}

/** Settings that say where the store is and who we are: fixed by the embedded server, not by env. */
const WHERE_AND_WHO = new Set([
  'bucketName',
  'bucketDomain',
  'cdnDomain',
  'urlStyle',
  'useHttps',
  'endpointUrl',
  'forcePathStyle',
  'region',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
]);

/**
 * The env settings that still apply with the embedded server (`FLASKS3_PREFIX=v2`, `FLASKS3_ACTIVE=false`,
 * `FLASKS3_FINGERPRINT=filename`...); a developer's real AWS credentials in the shell are ignored.
 */
export function tuningFromEnv(env = process.env) {
  return Object.fromEntries(Object.entries(settingsFromEnv(env)).filter(([key]) => !WHERE_AND_WHO.has(key)));
}
