// In-process cost of the store's announce path and of a state-file save and restore, for comparing two
// checkouts (BENCHMARKS.md, change 13):
//
//   bun scripts/bench/store-paths.ts [DIR]      (DIR: a checkout's root, e.g. `git archive` of a commit;
//                                                default: this one)
//
// One million peers (a fifth IPv6) over 100,000 torrents, then six passes of one million re-announces with
// numwant 30 (the best pass's CPU time: on a shared machine CPU time varies less than wall time), then five
// saves and restores of the whole store (the best of each, wall time).

import { join } from "node:path";

const root = process.argv[2] ?? join(import.meta.dir, "..", "..");
const { AnnounceRequest, AnnounceResult } = await import(join(root, "src/core/announce.ts"));
const { xoshiro128 } = await import(join(root, "src/core/random.ts"));
const { Store } = await import(join(root, "src/core/store.ts"));
const snapshot = await import(join(root, "src/core/snapshot.ts"));

const newStore = () =>
  new Store({
    peerTimeoutS: 3000,
    random: xoshiro128(new Uint32Array([1, 2, 3, 4])),
    maxPeers: 4_000_000,
    maxTorrents: 500_000,
  });
const store = newStore();
const req = new AnnounceRequest();
const res = new AnnounceResult(50);
const hashes = Array.from({ length: 100_000 }, (_, t) => String(t).padEnd(20, "x"));

/** A million announces at `now`; returns their CPU milliseconds. */
function pass(now: number, numWant: number): number {
  req.numWant = numWant;
  const cpu = process.cpuUsage();
  for (let i = 0; i < 1_000_000; i++) {
    req.infoHash = hashes[(i * 7919) % 100_000];
    req.ipLen = i % 5 === 0 ? 16 : 4;
    req.ip[0] = 10;
    req.ip[1] = (i >> 16) & 255;
    req.ip[2] = (i >> 8) & 255;
    req.ip[3] = i & 255;
    req.port = 1000 + (i % 7);
    req.left = (i + now) % 4 === 0 ? 0 : 1; // some peers change role each pass
    store.announce(req, now, res);
  }
  const d = process.cpuUsage(cpu);
  return (d.user + d.system) / 1000;
}

pass(1000, 0);
let announce = Infinity;
for (let k = 1; k <= 6; k++) announce = Math.min(announce, pass(1000 + k, 30));

const sha256 = (b: Uint8Array) => new Uint8Array(new Bun.CryptoHasher("sha256").update(b).digest());
const hasher = () => {
  const h = new Bun.CryptoHasher("sha256");
  return { update: (b: Uint8Array) => h.update(b), digest: () => new Uint8Array(h.digest()) };
};
let save = Infinity;
let restore = Infinity;
let restored = 0;
for (let k = 0; k < 5; k++) {
  let t = performance.now();
  const chunks = [snapshot.encodeHeader(2000, ["Unknown"])];
  let torrents = 0;
  for (let from = 0; from < store.idLimit; from += 4096) {
    const r = snapshot.encodeTorrents(store, from, from + 4096, 1010);
    chunks.push(r.bytes);
    torrents += r.torrents;
  }
  chunks.push(snapshot.encodeTrailer(torrents, new Uint8Array(32)).subarray(0, 4));
  save = Math.min(save, performance.now() - t);
  const body = new Uint8Array(Buffer.concat(chunks));
  const data = new Uint8Array(Buffer.concat([body, sha256(body)]));
  const into = newStore();
  t = performance.now();
  snapshot.restoreSnapshot(data, into, ["Unknown"], hasher, 1010);
  restore = Math.min(restore, performance.now() - t);
  restored = into.peers;
}
const ms = (x: number) => `${Math.round(x)} ms`;
console.log(
  `${root}: 1M announces (numwant 30) ${ms(announce)} CPU, save ${ms(save)}, restore ${ms(restore)} (${restored} peers)`,
);
