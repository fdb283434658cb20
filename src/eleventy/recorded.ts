// The app descriptions the Eleventy plugin was given in this process, so appFromEleventyConfig can
// read them after Eleventy has run a site's config. Kept under a global symbol: the site's config may
// import the plugin through another path (its own node_modules) than the CLI does, and both must see
// one list.

import type { AppLike } from '../app.js';

const KEY = Symbol.for('nunjucks-s3.eleventy.recorded-apps');

type Recorded = Omit<AppLike, 'env'>[];

function recorded(): Recorded {
  const holder = globalThis as unknown as Record<symbol, Recorded | undefined>;
  holder[KEY] ??= [];
  return holder[KEY];
}

/** Called by the plugin each time Eleventy runs it. */
export function recordOptions(app: Omit<AppLike, 'env'>): void {
  recorded().push(app);
}

/** The apps recorded while `run` ran, in order. */
export async function recordWhile(run: () => Promise<void>): Promise<Recorded> {
  const list = recorded();
  const start = list.length;
  await run();
  return list.splice(start);
}
