import { expect, test } from "bun:test";
import { PeerList } from "../../src/core/peer-list.ts";
import { Swarm } from "../../src/core/swarm.ts";
import { TOP_MAX, TopTorrents } from "../../src/stats/top-torrents.ts";

function swarm(seeders: number, leechers: number, downloaded: number): Swarm {
  const s = new Swarm();
  s.v4 = new PeerList(4);
  for (let i = 0; i < seeders + leechers; i++) s.v4.insert(new Uint8Array([1, 1, i >> 8, i & 255]), 1, i < seeders, 0, 0, 1);
  s.downloaded = downloaded;
  return s;
}

test("merges per-shard rankings: highest first, zero values left out, limit applied", () => {
  const top = new TopTorrents(2);
  top.refreshShard(0, new Map([["a".repeat(20), swarm(5, 0, 1)], ["b".repeat(20), swarm(0, 3, 0)]]));
  top.refreshShard(1, new Map([["c".repeat(20), swarm(1, 1, 7)]]));
  const r = top.top(10);
  expect(r.peers.map((e) => e.infoHash[0])).toEqual(["a", "b", "c"]);
  expect(r.seeders.map((e) => e.infoHash[0])).toEqual(["a", "c"]);
  expect(r.leechers.map((e) => e.infoHash[0])).toEqual(["b", "c"]);
  expect(r.downloaded.map((e) => [e.infoHash[0], e.downloaded])).toEqual([["c", 7], ["a", 1]]);
  expect(top.top(1).peers).toHaveLength(1);
  // A refresh replaces that shard's contribution.
  top.refreshShard(0, new Map());
  expect(top.top(10).peers.map((e) => e.infoHash[0])).toEqual(["c"]);
});

test("keeps at most TOP_MAX per ranking and can filter torrents out", () => {
  const top = new TopTorrents(1);
  const shard = new Map<string, Swarm>();
  for (let i = 0; i < TOP_MAX + 20; i++) shard.set(String(i).padStart(20, "0"), swarm(1, 0, 0));
  top.refreshShard(0, shard, (h) => h !== "0".repeat(20));
  const r = top.top(TOP_MAX);
  expect(r.peers).toHaveLength(TOP_MAX);
  expect(r.peers.some((e) => e.infoHash === "0".repeat(20))).toBe(false);
});
