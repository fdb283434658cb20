// The one worker pool: at most `limit` tasks at once over a list, stopping early when told to. Every
// concurrent loop of the deploy (uploads, parts of a multipart upload, hashing large files, deletes
// one key at a time) runs through it, so "how many at once" and "stop taking new work" mean the same
// everywhere.

/**
 * Run `task` over `items`, at most `limit` at once, in list order; no new item is started once
 * `shouldStop()` is true. Resolves to how many items were started (the rest were never touched).
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !shouldStop()) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return next;
}
