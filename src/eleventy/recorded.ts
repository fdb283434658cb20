// The app descriptions the Eleventy plugin is given while appFromEleventyConfig runs a site's config.
// Kept under a global symbol: the site's config may import the plugin through another path (its own
// node_modules) than the CLI does, and both must see one recorder. Outside such a run (a normal build,
// a long --serve session) nothing is kept.

import type { AppLike } from '../app.js';

const KEY = Symbol.for('nunjucks-s3.eleventy.recorder');

type Recorded = Omit<AppLike, 'env'>[];

function holder(): Record<symbol, Recorded | undefined> {
  return globalThis as unknown as Record<symbol, Recorded | undefined>;
}

/** Called by the plugin each time Eleventy runs it. */
export function recordOptions(app: Omit<AppLike, 'env'>): void {
  holder()[KEY]?.push(app);
}

/** The apps the plugin was given while `run` ran, in order. One run at a time. */
export async function recordWhile(run: () => Promise<void>): Promise<Recorded> {
  const list: Recorded = [];
  if (holder()[KEY] !== undefined) throw new Error('appFromEleventyConfig is already running');
  holder()[KEY] = list;
  try {
    await run();
  } finally {
    holder()[KEY] = undefined;
  }
  return list;
}
