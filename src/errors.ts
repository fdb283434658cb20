// Every error nunjucks-s3 throws on purpose: one base class, one subclass per concern, each with a
// stable `code` that programs can switch on. Messages say what is wrong and name the setting or file;
// the underlying error (SDK, filesystem) is kept as `cause`, never pasted in with secrets.

/** Base class of every error nunjucks-s3 throws on purpose. */
export class NunjucksS3Error extends Error {
  override name: string = 'NunjucksS3Error';
  /** A stable, machine-readable code, e.g. `CONFIG_MISSING_BUCKET`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A setting or the app description is wrong. Thrown at init or before anything is uploaded. */
export class ConfigError extends NunjucksS3Error {
  override name = 'ConfigError' as const;
  /** The setting at fault, in both spellings when it has two (`bucketName / FLASKS3_BUCKET_NAME`). */
  readonly setting: string | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; setting?: string }) {
    super(code, message, options);
    this.setting = options?.setting;
  }
}

/** `url_for` could not build a URL: unknown endpoint or blueprint, missing or unsafe filename. */
export class UrlBuildError extends NunjucksS3Error {
  override name = 'UrlBuildError' as const;
  /** The endpoint `url_for` was called with. */
  readonly endpoint: string;

  constructor(code: string, endpoint: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
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
    code: string,
    message: string,
    options: { cause?: unknown; failures?: UploadFailure[]; report?: unknown } = {},
  ) {
    super(code, message, options);
    this.failures = options.failures ?? [];
    this.report = options.report;
  }
}
