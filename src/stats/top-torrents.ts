// Torrent rankings (most peers, seeders, leechers, completions) without walking every swarm per request.
// Each shard's top list is rebuilt separately (`refreshShard`, driven in small time slices by the caller);
// a request merges the per-shard lists, at most 64 x TOP_MAX entries, and the merge is cached.

import type { Store } from "../core/store.ts";

/** Longest ranking an API caller may ask for. */
export const TOP_MAX = 500;

export interface TorrentRank {
  /** Raw 20-byte info hash, latin1. */
  infoHash: string;
  seeders: number;
  leechers: number;
  peers: number;
  downloaded: number;
}

export type RankKey = "peers" | "seeders" | "leechers" | "downloaded";
export const RANK_KEYS: readonly RankKey[] = ["peers", "seeders", "leechers", "downloaded"];

export type Rankings = Record<RankKey, TorrentRank[]>;

export class TopTorrents {
  readonly #perShard: (Rankings | null)[];
  /** Other threads' rankings (--workers: each thread ranks the torrents it owns), merged in with ours. */
  #others: Rankings[] = [];
  #merged: Rankings | null = null;
  readonly #ids: number[] = [];
  #cols: Float64Array[] = RANK_KEYS.map(() => new Float64Array(0));
  #scratch = new Float64Array(0);

  constructor(shards: number) {
    this.#perShard = new Array(shards).fill(null);
  }

  /**
   * Rebuilds the top lists of one shard. Only torrents that make some ranking become objects (and only those
   * are passed to `include`): a shard of a big store holds thousands of torrents.
   */
  refreshShard(i: number, store: Store, include: (infoHash: string) => boolean = () => true): void {
    const ids = this.#ids;
    ids.length = 0;
    store.forEachTorrent(i, (id) => ids.push(id));
    const n = ids.length;
    // One column per ranking key, filled in one pass over the shard (buffers reused from call to call).
    if (this.#cols[0].length < n) this.#cols = RANK_KEYS.map(() => new Float64Array(n * 2));
    const cols = this.#cols;
    const scratch = this.#scratch.length < n ? (this.#scratch = new Float64Array(n * 2)) : this.#scratch;
    for (let k = 0; k < n; k++) {
      const id = ids[k];
      const seeders = store.seedersOf(id);
      const leechers = store.leechersOf(id);
      cols[0][k] = seeders + leechers;
      cols[1][k] = seeders;
      cols[2][k] = leechers;
      cols[3][k] = store.downloadedOf(id);
    }
    // Per ranking, at most TOP_MAX torrents: everything above the TOP_MAX-th largest value, then ties at that
    // value in id order (a tie at the cut is broken arbitrarily; a shard can hold thousands of such ties).
    // Only these become objects (and only these are passed to `include`).
    const entryOf = new Map<number, TorrentRank | null>();
    const entry = (id: number): TorrentRank | null => {
      let e = entryOf.get(id);
      if (e === undefined) {
        const infoHash = store.infoHashOf(id);
        const seeders = store.seedersOf(id);
        const leechers = store.leechersOf(id);
        e = include(infoHash)
          ? { infoHash, seeders, leechers, peers: seeders + leechers, downloaded: store.downloadedOf(id) }
          : null;
        entryOf.set(id, e);
      }
      return e;
    };
    const rankings = {} as Rankings;
    RANK_KEYS.forEach((key, c) => {
      const col = cols[c];
      scratch.set(col.subarray(0, n));
      const floor = cutOf(scratch.subarray(0, n));
      const list: TorrentRank[] = [];
      for (let k = 0; k < n; k++) {
        if (col[k] <= floor) continue;
        const e = entry(ids[k]);
        if (e !== null) list.push(e);
      }
      for (let k = 0; k < n && list.length < TOP_MAX; k++) {
        if (col[k] !== floor) continue;
        const e = entry(ids[k]);
        if (e !== null) list.push(e);
      }
      rankings[key] = list.sort(byValue(key));
    });
    this.#perShard[i] = rankings;
    this.#merged = null;
  }

  /** Sets the other threads' latest rankings (each thread's own top lists, its access list applied). */
  setOthers(others: Rankings[]): void {
    this.#others = others;
    this.#merged = null;
  }

  /**
   * The top `limit` (at most TOP_MAX) of each ranking across all shards refreshed so far (and the other
   * threads' lists), leaving out
   * torrents `include` refuses (one refused since its shard was last refreshed).
   */
  top(limit: number, include: (infoHash: string) => boolean = () => true): Rankings {
    if (this.#merged === null) {
      const merged = {} as Rankings;
      for (const key of RANK_KEYS) {
        const all: TorrentRank[] = [];
        for (const r of this.#perShard) if (r !== null) for (const e of r[key]) all.push(e);
        for (const r of this.#others) for (const e of r[key]) all.push(e);
        merged[key] = topOf(all, key);
      }
      this.#merged = merged;
    }
    const m = this.#merged;
    const pick = (list: TorrentRank[]) => list.filter((e) => include(e.infoHash)).slice(0, limit);
    return {
      peers: pick(m.peers),
      seeders: pick(m.seeders),
      leechers: pick(m.leechers),
      downloaded: pick(m.downloaded),
    };
  }
}

/**
 * The lowest value that can make a ranking of `values`: the TOP_MAX-th largest, and never below 1 (zero
 * values are not ranked). `values` is reordered.
 */
function cutOf(values: Float64Array): number {
  return values.length <= TOP_MAX ? 1 : Math.max(1, kthLargest(values, TOP_MAX));
}

/** The k-th largest value of `a` (1-based), by quickselect; `a` is reordered. */
function kthLargest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let l = lo;
    let r = hi;
    while (l <= r) {
      while (a[l] > pivot) l++;
      while (a[r] < pivot) r--;
      if (l <= r) {
        const t = a[l];
        a[l++] = a[r];
        a[r--] = t;
      }
    }
    if (target <= r) hi = r;
    else if (target >= l) lo = l;
    else return a[target];
  }
  return a[target];
}

/** Highest `key` first, ties by info hash (stable output). */
function byValue(key: RankKey): (a: TorrentRank, b: TorrentRank) => number {
  return (a, b) => b[key] - a[key] || (a.infoHash < b.infoHash ? -1 : a.infoHash > b.infoHash ? 1 : 0);
}

/**
 * The best TOP_MAX of `all` by `key` (each shard's best, merged), sorted: a selection, then a sort of what
 * made it, so a request never sorts every shard's lists whole. A torrent listed twice (its shard changed
 * since) counts once.
 */
function topOf(all: TorrentRank[], key: RankKey): TorrentRank[] {
  const floor = cutOf(Float64Array.from(all, (e) => e[key]));
  const above = all.filter((e) => e[key] > floor);
  const tied = all.filter((e) => e[key] === floor).sort(byValue(key));
  const seen = new Set<string>();
  const out: TorrentRank[] = [];
  for (const e of [...above.sort(byValue(key)), ...tied]) {
    if (out.length === TOP_MAX) break;
    if (seen.has(e.infoHash)) continue;
    seen.add(e.infoHash);
    out.push(e);
  }
  return out;
}
