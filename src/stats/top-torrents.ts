// Torrent rankings (most peers, seeders, leechers, completions) without walking every swarm per request.
// Each shard's top list is rebuilt separately (`refreshShard`, driven in small time slices by the caller);
// a request merges the per-shard lists, at most 64 x TOP_MAX entries, and the merge is cached.

import type { Swarm } from "../core/swarm.ts";

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

  constructor(shards: number) {
    this.#perShard = new Array(shards).fill(null);
  }

  /** Rebuilds the top lists of one shard. */
  refreshShard(i: number, shard: ReadonlyMap<string, Swarm>, include: (infoHash: string) => boolean = () => true): void {
    const entries: TorrentRank[] = [];
    for (const [infoHash, swarm] of shard) {
      if (!include(infoHash)) continue;
      const seeders = swarm.seeders;
      const leechers = swarm.leechers;
      entries.push({ infoHash, seeders, leechers, peers: seeders + leechers, downloaded: swarm.downloaded });
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
