// Long work in slices: a generator's steps run for at most SLICE_MS, then the event loop serves requests,
// then the next slice. Parsing, sorting and scanning a list of millions of entries never stalls announces.

import { setImmediate as nextTurn } from "node:timers/promises";

/** Longest stretch of work before other work gets the event loop. */
export const SLICE_MS = 5;

/**
 * Runs `steps` to the end, SLICE_MS at a time, letting the event loop serve requests in between; stops early
 * once `wanted` says the result is no longer needed.
 */
export async function sliced(steps: Generator<void, void>, wanted: () => boolean = () => true): Promise<void> {
  for (;;) {
    if (!wanted()) return;
    const until = performance.now() + SLICE_MS;
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (performance.now() >= until) break;
    }
    await nextTurn();
  }
}
