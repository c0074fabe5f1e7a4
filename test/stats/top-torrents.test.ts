import { expect, test } from "bun:test";
import { FLAG_SEEDER } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { TOP_MAX, TopTorrents } from "../../src/stats/top-torrents.ts";

const NOW = 1_000_000;

function storeWith(shards: number, torrents: [hash: string, seeders: number, leechers: number, downloaded: number][]): Store {
  const store = new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([1, 2, 3, 4])), shards });
  for (const [hash, seeders, leechers, downloaded] of torrents) {
    const id = store.restoreTorrent(hash, downloaded);
    for (let i = 0; i < seeders + leechers; i++) {
      store.restorePeer(id, 4, new Uint8Array([1, 1, i >> 8, i & 255]), 1, i < seeders ? FLAG_SEEDER : 0, 0, NOW, NOW);
    }
    store.finishRestore(id);
  }
  return store;
}

test("merges per-shard rankings: highest first, zero values left out, limit applied", () => {
  // Ids go 0, 1, 2 in order, so with two shards a and c share shard 0 and b is in shard 1.
  const store = storeWith(2, [["a".repeat(20), 5, 0, 1], ["b".repeat(20), 0, 3, 0], ["c".repeat(20), 1, 1, 7]]);
  const top = new TopTorrents(2);
  top.refreshShard(0, store);
  top.refreshShard(1, store);
  const r = top.top(10);
  expect(r.peers.map((e) => e.infoHash[0])).toEqual(["a", "b", "c"]);
  expect(r.seeders.map((e) => e.infoHash[0])).toEqual(["a", "c"]);
  expect(r.leechers.map((e) => e.infoHash[0])).toEqual(["b", "c"]);
  expect(r.downloaded.map((e) => [e.infoHash[0], e.downloaded])).toEqual([["c", 7], ["a", 1]]);
  expect(top.top(1).peers).toHaveLength(1);
  // A refresh replaces that shard's contribution.
  store.dropTorrent("a".repeat(20));
  store.dropTorrent("c".repeat(20));
  top.refreshShard(0, store);
  expect(top.top(10).peers.map((e) => e.infoHash[0])).toEqual(["b"]);
});

test("keeps at most TOP_MAX per ranking and can filter torrents out", () => {
  const store = storeWith(1, Array.from({ length: TOP_MAX + 20 }, (_, i) => [String(i).padStart(20, "0"), 1, 0, 0]));
  const top = new TopTorrents(1);
  top.refreshShard(0, store, (h) => h !== "0".repeat(20));
  const r = top.top(TOP_MAX);
  expect(r.peers).toHaveLength(TOP_MAX);
  expect(r.peers.some((e) => e.infoHash === "0".repeat(20))).toBe(false);
});

test("in a shard with many more torrents than TOP_MAX, each ranking is exactly the best TOP_MAX", () => {
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
  const expected = (value: (row: (typeof rows)[number]) => number) =>
    rows
      .filter((row) => value(row) > 0)
      .sort((a, b) => value(b) - value(a) || (a[0] < b[0] ? -1 : 1))
      .slice(0, TOP_MAX)
      .map((row) => row[0]);
  expect(r.peers.map((e) => e.infoHash)).toEqual(expected((row) => row[1] + row[2]));
  expect(r.seeders.map((e) => e.infoHash)).toEqual(expected((row) => row[1]));
  expect(r.leechers.map((e) => e.infoHash)).toEqual(expected((row) => row[2]));
  expect(r.downloaded.map((e) => e.infoHash)).toEqual(expected((row) => row[3]));
});
