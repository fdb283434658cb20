// The text of `nunjucks-s3 --help`: the commands, the options and every setting with its type and
// default (generated from the settings table, so it cannot fall behind it).

import { SETTINGS } from '../config.js';

/** The settings list at the end of --help: every name --set and the environment accept. */
export const SETTINGS_HELP = (() => {
  const lines = [
    'Settings (for --set NAME=VALUE, either spelling, and as environment variables by the FLASKS3_/AWS_ name):',
  ];
  const typeOf = (spec: (typeof SETTINGS)[number]) =>
    spec.kind.type === 'enum' ? spec.kind.values.filter((v) => v !== null).join('|') : spec.kind.type;
  // Columns as wide as their longest entry (the enums' lists excepted), so no two names run together.
  const flaskWidth = Math.max(...SETTINGS.map((s) => s.flask.length)) + 2;
  const camelWidth = Math.max(...SETTINGS.map((s) => String(s.camel).length)) + 2;
  for (const spec of SETTINGS) {
    const d = spec.default;
    const shown = d === undefined || spec.secret ? '' : `  default ${JSON.stringify(d)}`;
    const type = typeOf(spec);
    lines.push(
      `  ${spec.flask.padEnd(flaskWidth)}${String(spec.camel).padEnd(camelWidth)}${type.padEnd(15)}${shown}`.trimEnd(),
    );
  }
  lines.push('Booleans take true/false, 1/0, yes/no, on/off; lists a JSON array or a comma-separated list;');
  lines.push('headers settings a JSON object.');
  return lines.join('\n');
})();

/** `nunjucks-s3 --help`. */
export const USAGE = `nunjucks-s3: serve a Nunjucks app's static files from S3 or any S3-compatible store

Usage:
  nunjucks-s3 upload [options]          upload the static files of the app and its blueprints
  nunjucks-s3 upload --dry-run          print what would be uploaded, skipped and deleted, and why
  nunjucks-s3 url <endpoint> [filename] [key=value...] [options]
                                        print the URL url_for renders in templates, e.g.
                                          nunjucks-s3 url static css/app.css v=3
                                          nunjucks-s3 url admin.static logo.png _anchor=top
  nunjucks-s3 verify [--json]           fetch every static file where visitors get it (the CDN domain, else
                                        the bucket) and check status, headers, bytes and SRI; exit 1 on a mismatch
  nunjucks-s3 help                      this text
  nunjucks-s3 --version

The app (root, staticFolder, staticUrlPath, blueprints, config) comes from nunjucks-s3.config.js, .mjs or
.json in the current folder or the nearest parent, or from --config. A JS config default-exports the app
object or a (possibly async) function returning it; root defaults to the config file's folder.

Settings, highest first: flags > environment variables (every setting's documented name: FLASKS3_*,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) > the config file > AWS_REGION (region only)
> defaults. Empty environment variables count as unset.

Options:
  -c, --config <path>       the config file (instead of searching from the current folder up)
      --bucket <name>       bucketName / FLASKS3_BUCKET_NAME
      --prefix <path>       prefix / FLASKS3_PREFIX: path prefix of every key and URL
      --endpoint-url <url>  endpointUrl / FLASKS3_ENDPOINT_URL: S3 API of MinIO, Ceph RGW, R2...
      --region <region>     region / FLASKS3_REGION
      --concurrency <n>     concurrency / FLASKS3_CONCURRENCY: uploads in flight (1-256, default 32)
      --filter <regex>      filepathFilterRegex / FLASKS3_FILEPATH_FILTER_REGEX: only matching paths
      --include-hidden      includeHidden / FLASKS3_INCLUDE_HIDDEN: upload dotfiles and dot-folders too
      --gzip, --no-gzip     gzip / FLASKS3_GZIP
      --only-modified       onlyModified / FLASKS3_ONLY_MODIFIED: skip files unchanged since the last upload
      --no-hash-cache       hashCache / FLASKS3_HASH_CACHE false: hash every file, keep no local hash cache
      --object-acl <acl>    objectAcl / FLASKS3_OBJECT_ACL: public-read, private, ..., none
      --no-bucket-acl       putBucketAcl / FLASKS3_PUT_BUCKET_ACL false: leave the bucket ACL alone
      --cdn-domain <host>   cdnDomain / FLASKS3_CDN_DOMAIN
      --delete-stale        deleteStale / FLASKS3_DELETE_STALE: delete objects no longer in a static folder
      --max-deletes <n>     maxDeletes / FLASKS3_MAX_DELETES: refuse to delete more than this
      --set NAME=VALUE      any setting, in either spelling (--set useCacheControl=true); repeatable
      --target <name>       the config file's targets.<name> settings over its config (or NUNJUCKS_S3_TARGET)
      --dry-run             plan only: nothing in the bucket changes (and the CDN paths it would invalidate)
      --json                print the report, plan or URL as JSON on stdout (messages go to stderr)
  -q, --quiet               no progress and no summary (warnings and errors still go to stderr)
  -h, --help                this text
  -V, --version             the version
Boolean flags also take a --no- form (--no-only-modified, --no-include-hidden, --no-delete-stale).

Progress goes to stderr: a live bar on a terminal, a plain line every 2 s or 10% otherwise.

Exit codes: 0 success; 1 some files failed to upload (each listed on stderr), verify found a mismatch,
or an unexpected error; 2 usage or configuration error (the message says what to fix); 3 uploaded, but
the CDN was not invalidated (the warning says why); 130 interrupted.
Set DEBUG=nunjucks-s3 to print stack traces of unexpected errors.

${SETTINGS_HELP}
`;
