// In-process cost of the per-source share on the store's insert path (BENCHMARKS.md, change 11):
//
//   bun scripts/bench/store-insert.ts SHARE      (SHARE 1: no per-source bound; 0.02: the default 2%)
//
// One million new peers (20,000 IPv4 sources with 50 peers each, over 100,000 torrents), then one million
// re-announces of the same peers, at the default limits.

import { AnnounceRequest, AnnounceResult } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
const share = Number(process.argv[2]);
const store = new Store({
  peerTimeoutS: 3000,
  random: xoshiro128(new Uint32Array([1, 2, 3, 4])),
  maxPeers: 4_000_000,
  maxTorrents: 500_000,
  sourceShare: share,
});
const req = new AnnounceRequest();
const res = new AnnounceResult(50);
req.numWant = 0;
req.left = 1;
req.ipLen = 4;
const hashes = Array.from({ length: 100_000 }, (_, t) => String(t).padEnd(20, "x"));
const run = (label: string, now: number) => {
  const t = performance.now();
  for (let i = 0; i < 1_000_000; i++) {
    const torrent = i % 100_000;
    req.infoHash = hashes[torrent];
    // 20,000 sources with 50 peers each
    const src = i % 20000;
    req.ip[0] = 10;
    req.ip[1] = src >> 8;
    req.ip[2] = src & 255;
    req.ip[3] = 1;
    req.port = 1000 + Math.floor(i / 20000);
    store.announce(req, now, res);
  }
  console.log(
    `share ${share} ${label}: ${(performance.now() - t).toFixed(0)} ms, peers ${store.peers}, refused ${store.refusedSource}`,
  );
};
run("new peers", 1000);
run("re-announces", 1001);
