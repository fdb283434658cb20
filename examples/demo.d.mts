// Types of demo.mjs, for TypeScript callers (the browser test).
// From the sources, so type-checking needs no build; at run time demo.mjs uses the built package.
import type { UploadReport } from '../src/deploy/upload.js';

export interface StartDemoOptions {
  /** Site port; 0 for any free port. @default env PORT, else 3000 (any free port if busy) */
  port?: number;
  /** Embedded S3 port; 0 for any free port. @default env DEMO_S3_PORT, else 4568 (any free port if busy) */
  s3Port?: number;
  /** Embedded S3 data folder. @default examples/.s3-data */
  dataDir?: string;
  /** Print nothing. @default false */
  quiet?: boolean;
  /** Where FLASKS3_BUCKET_NAME and the other settings are read from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Extra nunjucks-s3 settings, e.g. `{ fingerprint: 'filename' }`. */
  settings?: Record<string, unknown>;
}

export interface RunningDemo {
  /** `http://127.0.0.1:<port>/` */
  siteUrl: string;
  /** `http://127.0.0.1:<port>` of the embedded S3 server, or the configured endpoint. */
  s3Endpoint: string;
  bucket: string;
  /** What the upload did. */
  report: UploadReport;
  /** The site's url_for, e.g. `urlFor('static', { filename: 'css/site.css' })`: what its pages link to. */
  urlFor(endpoint: string, values?: Record<string, unknown>): string;
  /** Stops the site and the embedded S3 server. */
  close(): Promise<void>;
}

export function startDemo(options?: StartDemoOptions): Promise<RunningDemo>;
