// url_for and static_integrity for the template languages that call them as shortcodes (Liquid,
// JavaScript templates, `{% url_for %}` in Nunjucks), and the passthrough copies of the static folders.
// Liquid passes arguments by position only, so `{% url_for 'static', 'css/site.css' %}` takes the
// filename as its second argument; keyword objects (Nunjucks tags, JavaScript) work as in url_for.

import path from 'node:path';
import type { StaticMount } from '../app.js';
import type { NunjucksS3, UrlForValues } from '../template/plugin.js';

/** `(endpoint, filename)` or `(endpoint, values...)`, as url_for. */
export function shortcodeUrlFor(s3: NunjucksS3): (...args: unknown[]) => string {
  return (endpoint, ...rest) => {
    const [first, ...more] = rest;
    const values = typeof first === 'string' ? [{ filename: first }, ...more] : rest;
    return s3.urlFor(String(endpoint), ...(values as UrlForValues[]));
  };
}

/** static_integrity's own forms (`'css/app.css'`, `'admin.static', 'logo.svg'`) already fit Liquid. */
export function shortcodeIntegrity(s3: NunjucksS3): (...args: unknown[]) => string {
  return (...args) => s3.staticIntegrity(...(args as (string | UrlForValues)[]));
}

/**
 * Eleventy's passthrough mapping: each static folder (relative to the project root, where Eleventy
 * resolves it) to its URL path below the output folder, so the built site serves it where local URLs
 * point.
 */
export function passthroughCopies(mounts: readonly StaticMount[]): Record<string, string> {
  const copies: Record<string, string> = {};
  for (const mount of mounts) {
    const from = path.relative(process.cwd(), mount.folder).split(path.sep).join('/') || '.';
    copies[from] = mount.urlPath === '' ? '/' : mount.urlPath.slice(1);
  }
  return copies;
}
