// Every error nunjucks-s3 throws on purpose: one base class, one subclass per concern, each with a
// stable `code` that programs can switch on. Messages say what is wrong and name the setting or file;
// the underlying error (SDK, filesystem) is kept as `cause`, never pasted in with secrets.

/**
 * Every error `code` nunjucks-s3 uses, with what it means: the one list programs can switch on. The
 * README's Errors section lists the same codes.
 */
export const ERROR_CODES = {
  CONFIG_APP: 'a NunjucksS3 instance was given a second, different app',
  CONFIG_BLUEPRINT: 'a blueprint has a bad or duplicate name',
  CONFIG_BUCKET:
    'the bucket cannot be read or created with these settings (access denied, taken, an unknown region); nothing was uploaded',
  CONFIG_BUCKET_NAME: "the bucket name breaks S3's naming rules",
  CONFIG_CDN: 'the CDN settings do not fit together (a Cloudflare zone without its token or the CDN domain)',
  CONFIG_CONFLICT: 'a setting is given in both spellings with different values',
  CONFIG_CREDENTIALS: 'the credentials are incomplete, or the store refused them',
  CONFIG_DOMAIN: 'the bucket or CDN domain is not a host name',
  CONFIG_DUPLICATE_KEY: 'two files would be uploaded under the same key',
  CONFIG_ELEVENTY: "the Eleventy plugin's options or the site's Eleventy config cannot be used",
  CONFIG_ENDPOINT:
    'the endpoint URL is not an http(s) URL, nothing answers there, it never answers, or it is not an S3 API',
  CONFIG_FILE: 'the CLI config file is missing, unreadable or exports no app',
  CONFIG_HEADER: 'a header value cannot be sent over HTTP',
  CONFIG_MANIFEST: 'the fingerprint manifest is damaged or was written for another mode',
  CONFIG_MISSING_BUCKET: 'no bucket name, where one is needed',
  CONFIG_PATH: "a URL path setting contains '.', '..' or NUL",
  CONFIG_REGEX: 'a regex setting is not a valid regular expression',
  CONFIG_REGION: 'the region does not match the bucket',
  CONFIG_ROUTER: 'app.router is not a function or a table of valid path patterns',
  CONFIG_TARGET:
    'the --target (or NUNJUCKS_S3_TARGET) names no target of the config file, or a target is not an object',
  CONFIG_STATIC_FOLDER: 'a static folder is not a folder',
  CONFIG_TYPE: 'a setting or app field has the wrong type or is out of range',
  CONFIG_UNKNOWN: 'an unknown FLASKS3_* setting, or a near miss of a setting name',
  DEPLOY_LOCKED:
    'another deploy held the lease on the prefix for longer than leaseWait; nothing was uploaded',
  FILE_NAME: 'a static file would overwrite the upload record',
  FILE_UNREADABLE: 'files to upload cannot be read (nothing was uploaded)',
  UPLOAD_ABORTED: 'the upload was aborted (signal); what was uploaded is recorded',
  UPLOAD_FAILED: 'some files failed to upload; everything else was uploaded and recorded',
  UPLOAD_FINISH_FAILED: 'every file was uploaded, but a step after the upload failed',
  VERIFY_HOST: 'verify would fetch from a host the settings do not name',
  URL_ASSET_UNREADABLE: 'a static file cannot be read to hash it',
  URL_CHANGED_SINCE_UPLOAD:
    'with fingerprintStrict: a static file changed since the upload that wrote the fingerprint manifest',
  URL_BAD_ARGUMENTS: 'url_for or static_integrity got arguments of the wrong kind',
  URL_BAD_ENDPOINT: 'the endpoint is not a non-empty string, or not a static endpoint',
  URL_BAD_FILENAME: "the filename is not a string, or contains '..' or NUL",
  URL_BAD_SCHEME: "_scheme is not 'http', 'https' or ''",
  URL_BAD_UNICODE: 'a value contains a lone surrogate',
  URL_BAD_VALUE: 'a query or route value is not a string, number or boolean',
  URL_MISSING_FILENAME: 'a static endpoint was called without a filename',
  URL_MISSING_PARAM: "a route pattern's parameter has no value",
  URL_NOT_INITIALISED: 'NunjucksS3 was called before it had an app',
  URL_NO_STATIC_FOLDER: "'static' was asked for, and the app has no static folder",
  URL_ROUTER_RESULT: 'app.router returned something other than a URL string',
  URL_UNKNOWN_ASSET: 'a file is in neither the manifest nor its static folder',
  URL_UNKNOWN_BLUEPRINT: 'no blueprint of that name has a static folder',
  URL_UNKNOWN_ENDPOINT: 'the router does not know the endpoint',
  CLI_USAGE: 'the command line is wrong (the CLI exits with 2)',
} as const;

/** A stable, machine-readable error code: one of the keys of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error nunjucks-s3 throws on purpose. */
export class NunjucksS3Error extends Error {
  override name: string = 'NunjucksS3Error';
  /** A stable, machine-readable code, e.g. `CONFIG_MISSING_BUCKET` (see {@link ERROR_CODES}). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A setting or the app description is wrong. Thrown at init or before anything is uploaded. */
export class ConfigError extends NunjucksS3Error {
  override name = 'ConfigError' as const;
  /** The setting at fault, in both spellings when it has two (`bucketName / FLASKS3_BUCKET_NAME`). */
  readonly setting: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; setting?: string }) {
    super(code, message, options);
    this.setting = options?.setting;
  }
}

/** `url_for` could not build a URL: unknown endpoint or blueprint, missing or unsafe filename. */
export class UrlBuildError extends NunjucksS3Error {
  override name = 'UrlBuildError' as const;
  /** The endpoint `url_for` was called with. */
  readonly endpoint: string;

  // `string`, not ErrorCode: template/router.ts hands its codes over as strings. test/errors.test.ts
  // checks that every code written in src/ is an ErrorCode.
  constructor(code: string, endpoint: string, message: string, options?: { cause?: unknown }) {
    super(code as ErrorCode, message, options);
    this.endpoint = endpoint;
  }
}

/** One object that could not be uploaded (or deleted), and why. */
export interface UploadFailure {
  /** The object key in the bucket. */
  key: string;
  /** The local file, when there is one. */
  file?: string;
  /** A one-line reason, free of credentials. */
  message: string;
  /** The underlying error (SDK or filesystem). */
  cause?: unknown;
}

/**
 * The upload did not complete. Everything that could be uploaded was, and was recorded; `failures`
 * names every key that was not. `report` is the full report of the run.
 */
export class UploadError extends NunjucksS3Error {
  override name = 'UploadError' as const;
  readonly failures: UploadFailure[];
  readonly report: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; failures?: UploadFailure[]; report?: unknown } = {},
  ) {
    super(code, message, options);
    this.failures = options.failures ?? [];
    this.report = options.report;
  }
}

/**
 * Another deploy to the same bucket and prefix held its lease for longer than `leaseWait`: this one
 * uploaded nothing. `holder` says who holds it (as its lease object names it).
 */
export class DeployLockedError extends NunjucksS3Error {
  override name = 'DeployLockedError' as const;
  readonly holder:
    | { owner: string; host?: string; pid?: number; started?: string; expires: number }
    | undefined;

  constructor(message: string, holder: DeployLockedError['holder']) {
    super('DEPLOY_LOCKED', message);
    this.holder = holder;
  }
}
