/**
 * Small async helpers, one definition each (after Deno std's `async` module): the functions use
 * them, and the local tooling imports them from here rather than keeping copies.
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `task` over `items` with at most `concurrency` running at a time; the results are in the
 * order of `items`. The first rejection rejects the whole (tasks already started still finish).
 */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1: ${concurrency}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
