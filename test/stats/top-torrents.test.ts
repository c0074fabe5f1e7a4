import { expect, test } from "bun:test";
import { PeerRecord } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { TOP_MAX, type TorrentRank, TopTorrents } from "../../src/stats/top-torrents.ts";

const NOW = 1_000_000;

function storeWith(
  shards: number,
  torrents: [hash: string, seeders: number, leechers: number, downloaded: number][],
): Store {
  const store = new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([1, 2, 3, 4])), shards });
  for (const [hash, seeders, leechers, downloaded] of torrents) {
    const id = store.restoreTorrent(hash, downloaded);
    const rec = new PeerRecord();
    rec.port = 1;
    rec.time = NOW;
    for (let i = 0; i < seeders + leechers; i++) {
      rec.ip.set([1, 1, i >> 8, i & 255]);
      rec.seeder = i < seeders;
      store.restorePeer(id, rec, NOW);
    }
    store.finishRestore(id);
  }
  return store;
}

test("merges per-shard rankings: highest first, zero values left out, limit applied", () => {
  // Ids go 0, 1, 2 in order, so with two shards a and c share shard 0 and b is in shard 1.
  const store = storeWith(2, [
    ["a".repeat(20), 5, 0, 1],
    ["b".repeat(20), 0, 3, 0],
    ["c".repeat(20), 1, 1, 7],
  ]);
  const top = new TopTorrents(2);
  top.refreshShard(0, store);
  top.refreshShard(1, store);
  const r = top.top(10);
  expect(r.peers.map((e) => e.infoHash[0])).toEqual(["a", "b", "c"]);
  expect(r.seeders.map((e) => e.infoHash[0])).toEqual(["a", "c"]);
  expect(r.leechers.map((e) => e.infoHash[0])).toEqual(["b", "c"]);
  expect(r.downloaded.map((e) => [e.infoHash[0], e.downloaded])).toEqual([
    ["c", 7],
    ["a", 1],
  ]);
  expect(top.top(1).peers).toHaveLength(1);
  // A refresh replaces that shard's contribution.
  store.dropTorrent("a".repeat(20));
  store.dropTorrent("c".repeat(20));
  top.refreshShard(0, store);
  expect(top.top(10).peers.map((e) => e.infoHash[0])).toEqual(["b"]);
});

test("keeps at most TOP_MAX per ranking and can filter torrents out", () => {
  const store = storeWith(
    1,
    Array.from({ length: TOP_MAX + 20 }, (_, i) => [String(i).padStart(20, "0"), 1, 0, 0]),
  );
  const top = new TopTorrents(1);
  top.refreshShard(0, store, (h) => h !== "0".repeat(20));
  const r = top.top(TOP_MAX);
  expect(r.peers).toHaveLength(TOP_MAX);
  expect(r.peers.some((e) => e.infoHash === "0".repeat(20))).toBe(false);
});

test("in a shard with many more torrents than TOP_MAX, each ranking holds the best TOP_MAX values, sorted", () => {
  const random = xoshiro128(new Uint32Array([9, 8, 7, 6]));
  const rows: [string, number, number, number][] = Array.from({ length: 3000 }, (_, i) => [
    String(i).padStart(20, "x"),
    Math.floor(random() * 20),
    Math.floor(random() * 20),
    Math.floor(random() * 1000),
  ]);
  const store = storeWith(1, rows);
  const top = new TopTorrents(1);
  top.refreshShard(0, store);
  const r = top.top(TOP_MAX);
  const byHash = new Map(rows.map((row) => [row[0], row]));
  const check = (list: TorrentRank[], value: (row: (typeof rows)[number]) => number) => {
    // The values are exactly the TOP_MAX largest; which of several torrents tied at the cut got in may vary.
    const best = rows
      .map(value)
      .filter((v) => v > 0)
      .sort((a, b) => b - a)
      .slice(0, TOP_MAX);
    expect(list.map((e) => value(byHash.get(e.infoHash)!))).toEqual(best);
    expect(new Set(list.map((e) => e.infoHash)).size).toBe(list.length);
    // Everything strictly above the cut is in, and equal values are ordered by info hash.
    const cut = best[best.length - 1];
    expect(list.filter((e) => value(byHash.get(e.infoHash)!) > cut)).toHaveLength(
      rows.filter((row) => value(row) > cut).length,
    );
    for (let k = 1; k < list.length; k++) {
      const [a, b] = [list[k - 1], list[k]];
      if (value(byHash.get(a.infoHash)!) === value(byHash.get(b.infoHash)!)) expect(a.infoHash < b.infoHash).toBe(true);
    }
  };
  check(r.peers, (row) => row[1] + row[2]);
  check(r.seeders, (row) => row[1]);
  check(r.leechers, (row) => row[2]);
  check(r.downloaded, (row) => row[3]);
  expect(r.downloaded[0].downloaded).toBe(Math.max(...rows.map((row) => row[3])));
});

test("merging shards full of ties keeps TOP_MAX distinct torrents", () => {
  const store = storeWith(
    3,
    Array.from({ length: 1800 }, (_, i) => [String(i).padStart(20, "t"), 1, 0, 0]),
  );
  const top = new TopTorrents(3);
  for (let i = 0; i < 3; i++) top.refreshShard(i, store);
  const r = top.top(TOP_MAX);
  expect(r.peers).toHaveLength(TOP_MAX);
  expect(new Set(r.peers.map((e) => e.infoHash)).size).toBe(TOP_MAX);
  expect(r.peers.every((e) => e.peers === 1)).toBe(true);
});
