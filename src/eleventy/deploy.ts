// What runs after an Eleventy build when the plugin uploads (`upload`, `uploadPages`): the assets
// first, then, only when every one of them is in the bucket, the built pages. createAll rejects when any
// asset failed, so a page never reaches the bucket before the assets it links to.

import path from 'node:path';
import type { AppLike } from '../app.js';
import { joinUrlPath, staticMounts } from '../app.js';
import type { CreateAllOptions, UploadReport } from '../deploy/upload.js';
import { createAll } from '../index.js';
import type { UploadPagesOptions } from './options.js';

/** What {@link deployBuild} needs. */
export interface DeployBuildInput {
  /** The app as uploaded (its URL paths are the bucket keys). */
  readonly app: Omit<AppLike, 'env'>;
  readonly upload: CreateAllOptions;
  readonly uploadPages: Required<UploadPagesOptions> | undefined;
  /** Eleventy's output folder, absolute. */
  readonly outputDir: string;
  /** Eleventy's pathPrefix: pages are keyed below it, as their own links expect. */
  readonly pathPrefix: string;
}

/** The reports of a deploy: the assets', and the pages' when they were uploaded. */
export interface DeployBuildResult {
  readonly assets: UploadReport;
  readonly pages: UploadReport | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The pages of a built site as an app of its own: the output folder served at pathPrefix, without the
 * static folders the build copied in (they were uploaded as assets, under their own settings).
 * Pages are never fingerprinted, always carry `cacheControl`, and never trigger stale cleanup. The
 * filter also keeps this run out of the record's deploy history (a filtered run adds no generation), so
 * it cannot push the assets' previous deploys out of `keepDeploys`.
 */
export function pagesApp(input: DeployBuildInput): {
  app: Omit<AppLike, 'env'>;
  options: CreateAllOptions;
} {
  const copied = staticMounts(input.app)
    .map((mount) => mount.urlPath.slice(1))
    .filter((rel) => rel !== '');
  const filter = new RegExp(
    copied.length === 0 ? '^' : `^(?!(${copied.map((rel) => escapeRegExp(`${rel}/`)).join('|')}))`,
  );
  return {
    app: {
      root: input.outputDir,
      staticFolder: '.',
      staticUrlPath: joinUrlPath(input.pathPrefix),
      config: input.app.config ?? {},
    },
    options: {
      ...input.upload,
      fingerprint: false,
      deleteStale: false,
      useCacheControl: true,
      cacheControl: input.uploadPages?.cacheControl,
      filepathFilterRegex: filter,
    },
  };
}

/** Uploads the assets, then (uploadPages) the pages; rejects as createAll does, before any page. */
export async function deployBuild(input: DeployBuildInput): Promise<DeployBuildResult> {
  const assets = await createAll({ ...input.app, root: input.app.root ?? process.cwd() }, input.upload);
  if (input.uploadPages === undefined) return { assets, pages: undefined };
  const pages = pagesApp(input);
  return { assets, pages: await createAll(pages.app, pages.options) };
}

/** Eleventy's output folder, absolute, from the `eleventy.after` event's directories. */
export function outputFolder(directories: { output?: string } | undefined): string {
  return path.resolve(directories?.output ?? '_site');
}

/** One line for Eleventy's output: what the deploy sent, where. */
export function deploySummary({ assets, pages }: DeployBuildResult): string {
  const where = `s3://${assets.bucket}/${assets.prefix}`;
  const counts = (r: UploadReport, what: string) =>
    `${r.uploaded.length} ${what} uploaded, ${r.skipped.length} unchanged`;
  const parts = [counts(assets, 'assets'), ...(pages ? [counts(pages, 'pages')] : [])];
  return `[nunjucks-s3] ${parts.join('; ')} (${where})`;
}
