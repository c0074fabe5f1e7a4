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
    const chosen = new Set<number>();
    for (const col of cols) {
      // Anything below the TOP_MAX-th largest value cannot make this ranking (ties at the floor may).
      scratch.set(col.subarray(0, n));
      const floor = n <= TOP_MAX ? 1 : Math.max(1, kthLargest(scratch.subarray(0, n), TOP_MAX));
      for (let k = 0; k < n; k++) if (col[k] >= floor) chosen.add(ids[k]);
    }
    const entries: TorrentRank[] = [];
    for (const id of chosen) {
      const infoHash = store.infoHashOf(id);
      if (!include(infoHash)) continue;
      const seeders = store.seedersOf(id);
      const leechers = store.leechersOf(id);
      entries.push({ infoHash, seeders, leechers, peers: seeders + leechers, downloaded: store.downloadedOf(id) });
    }
    this.#perShard[i] = rank(entries, TOP_MAX);
    this.#merged = null;
  }

  /**
   * The top `limit` (at most TOP_MAX) of each ranking across all shards refreshed so far, leaving out
   * torrents `include` refuses (one refused since its shard was last refreshed).
   */
  top(limit: number, include: (infoHash: string) => boolean = () => true): Rankings {
    if (this.#merged === null) {
      const all: TorrentRank[] = [];
      const seen = new Set<string>();
      for (const r of this.#perShard) {
        if (r === null) continue;
        for (const key of RANK_KEYS) {
          for (const e of r[key]) {
            if (!seen.has(e.infoHash)) {
              seen.add(e.infoHash);
              all.push(e);
            }
          }
        }
      }
      this.#merged = rank(all, TOP_MAX);
    }
    const m = this.#merged;
    const pick = (list: TorrentRank[]) => list.filter((e) => include(e.infoHash)).slice(0, limit);
    return { peers: pick(m.peers), seeders: pick(m.seeders), leechers: pick(m.leechers), downloaded: pick(m.downloaded) };
  }
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

/** Each ranking: entries with a non-zero value, highest first, ties by info hash (stable output). */
function rank(entries: readonly TorrentRank[], max: number): Rankings {
  const out = {} as Rankings;
  for (const key of RANK_KEYS) {
    out[key] = entries
      .filter((e) => e[key] > 0)
      .sort((a, b) => b[key] - a[key] || (a.infoHash < b.infoHash ? -1 : 1))
      .slice(0, max);
  }
  return out;
}
