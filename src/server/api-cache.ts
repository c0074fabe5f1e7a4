// Encoded answers of the public statistics API, kept for a second per distinct normalized query, so any
// number of readers costs at most one build per query and second (the rankings of a big store take
// milliseconds to merge and encode: four readers of /api/top100?limit=500 used to move announce latency p99
// from 28 to 280 ms; see BENCHMARKS.md). Bounded in entries: a query past the bound pushes out the oldest.

/** How long a built answer is served, ms. */
export const API_CACHE_MS = 1000;
/** Distinct queries kept (routes x ranges x limits in use; a dashboard uses a handful). */
export const API_CACHE_ENTRIES = 64;

interface Entry {
  builtAt: number;
  body: string;
}

export class ApiCache {
  readonly #entries = new Map<string, Entry>();
  /** Answers built, and answers served from the cache (for /metrics). */
  builds = 0;
  hits = 0;

  /** Whether `key` has an answer still served at `nowMs` (then `get` builds nothing). */
  fresh(key: string, nowMs: number): boolean {
    const e = this.#entries.get(key);
    return e !== undefined && nowMs - e.builtAt < API_CACHE_MS && nowMs >= e.builtAt;
  }

  /** The body for `key` at `nowMs` (a monotonic clock): the cached one while fresh, else `build()`'s. */
  get(key: string, nowMs: number, build: () => string): string {
    const e = this.#entries.get(key);
    if (e !== undefined && this.fresh(key, nowMs)) {
      this.hits++;
      return e.body;
    }
    const body = build();
    this.builds++;
    if (e !== undefined)
      this.#entries.delete(key); // re-inserted last: Map order is age order
    else if (this.#entries.size >= API_CACHE_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { builtAt: nowMs, body });
    return body;
  }

  /** Forgets every answer (the access list changed: a denied torrent leaves the statistics at once). */
  clear(): void {
    this.#entries.clear();
  }
}
