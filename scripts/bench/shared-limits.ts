// In-process cost of the limits shared across threads (--workers), on one thread (BENCHMARKS.md, change 15):
//
//   bun scripts/bench/shared-limits.ts [DIR]     (DIR: another checkout's root, e.g. `git archive` of a commit)
//
// Rate limiter: allow() over 65,536 IPv4 sources, 1M calls a pass, a new second every 16,384 calls (ns/op).
// Store: 300,000 new peers (distinct addresses) over 30,000 torrents, then a sweep that expires them all, at
// the default --source-share (CPU ms). Each is measured alone ("own", this checkout and DIR's) and over shared
// memory ("shared": SharedTotals, SharedSourceCounts, shared buckets), passes interleaved, best of 8.

import { join } from "node:path";

const here = join(import.meta.dir, "..", "..");
const roots: [string, string][] = [["own", here]];
if (process.argv[2] !== undefined) roots.push(["own DIR", process.argv[2]]);

interface Side {
  label: string;
  limiter: { allow(ip: Uint8Array, len: 4 | 16, now: number): boolean };
  store: any;
}

const sides: Side[] = [];
for (const [label, root] of [...roots, ["shared", here] as [string, string]]) {
  const { RateLimiter } = await import(join(root, "src/core/rate-limit.ts"));
  const { xoshiro128 } = await import(join(root, "src/core/random.ts"));
  const { Store } = await import(join(root, "src/core/store.ts"));
  const shared = label === "shared";
  const limits = { perSecond: 50, burst: 200, seed: 7 };
  const limiter = new RateLimiter(shared ? { ...limits, shared: RateLimiter.sharedMemory(limits) } : limits);
  const sharing = shared
    ? {
        shared: new (await import(join(root, "src/core/shared-counts.ts"))).SharedTotals(
          (await import(join(root, "src/core/shared-counts.ts"))).SharedTotals.memory(),
        ),
        sharedSources: new (await import(join(root, "src/core/shared-source-counts.ts"))).SharedSourceCounts(
          (await import(join(root, "src/core/shared-source-counts.ts"))).SharedSourceCounts.memory(4_000_000, 9),
        ),
      }
    : {};
  const store = new Store({
    peerTimeoutS: 300,
    random: xoshiro128(new Uint32Array([1, 2, 3, 4])),
    maxPeers: 4_000_000,
    maxTorrents: 500_000,
    sourceShare: 0.02,
    ...sharing,
  });
  sides.push({ label, limiter, store });
}

const { AnnounceRequest, AnnounceResult } = await import(join(here, "src/core/announce.ts"));
const req = new AnnounceRequest();
const res = new AnnounceResult(0);
req.numWant = 0;
const hashes = Array.from({ length: 30_000 }, (_, t) => String(t).padEnd(20, "x"));
const ip = new Uint8Array([10, 0, 0, 0]);
const allowNs = sides.map(() => Infinity);
const storeMs = sides.map(() => Infinity);

for (let pass = 0; pass < 8; pass++) {
  sides.forEach((side, s) => {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < 1_000_000; i++) {
      ip[1] = i & 255;
      ip[2] = (i >> 8) & 255;
      side.limiter.allow(ip, 4, 1000 + pass * 64 + (i >> 14));
    }
    allowNs[s] = Math.min(allowNs[s], (Bun.nanoseconds() - t0) / 1e6);
    const now = 1000 + pass * 400;
    const cpu = process.cpuUsage();
    for (let i = 0; i < 300_000; i++) {
      req.infoHash = hashes[(i * 7919) % 30_000];
      req.ip.set([10, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
      req.port = 1000 + pass;
      req.left = i & 1;
      side.store.announce(req, now, res);
    }
    side.store.sweepIds(0, side.store.idLimit, now + 310);
    const d = process.cpuUsage(cpu);
    storeMs[s] = Math.min(storeMs[s], (d.user + d.system) / 1000);
  });
}
sides.forEach((side, s) => {
  console.log(
    `${side.label.padEnd(8)} allow() ${allowNs[s].toFixed(1)} ns/op; 300K new peers + expiry ${storeMs[s].toFixed(0)} ms CPU` +
      ` (refused ${side.store.refusedPeers + side.store.refusedSource + side.store.refusedTorrents})`,
  );
});
