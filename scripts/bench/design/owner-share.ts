// Model input for the shard-ownership design and the 16-core projection (issue 18): the share of all requests
// that lands on the busiest of N owners (owner = the info hash's first 4 bytes, little-endian, mod N; the hashes
// are random, so any mix of them behaves alike), and on the busiest of 64 lock shards, for each request shape.
// With ownership, the busiest owner bounds the speed-up at 1 / share (efficiency = (1/N) / share); with shared
// memory, the busiest shard's lock is held for that share of all request time, spread over N threads.
//
//   bun scripts/bench/design/owner-share.ts
//
// Computed from the distributions (expected shares), not measured; the http shape's weights are an empirical
// histogram of 4M gamma draws.

import { gammaIndex, shapeWeights, type Shape } from "./common.ts";
import { popularityWeights, Rng, torrentHashes } from "../workload.ts";

const CASES: { shape: Shape; torrents: number; label: string }[] = [
  { shape: "uniform", torrents: 100_000, label: "uniform, 100k torrents" },
  { shape: "udp", torrents: 100_000, label: "aquatic UDP curve, 100k torrents / 200k peers" },
  { shape: "udp", torrents: 1_000_000, label: "aquatic UDP curve, 1M torrents / 2M peers (bench udp)" },
  { shape: "http", torrents: 10_000, label: "aquatic HTTP gamma(0.2, 100), 10k torrents (bench http)" },
];
const OWNERS = [2, 4, 16, 64];

function weights(shape: Shape, n: number): Float64Array {
  if (shape === "udp") return popularityWeights(n, 2 * n);
  if (shape !== "http") return shapeWeights(shape, n);
  const w = new Float64Array(n);
  const rng = new Rng(11, 5);
  for (let k = 0; k < 4_000_000; k++) w[gammaIndex(rng, n)]++;
  return w;
}

console.log("| workload | top torrent's share | " + OWNERS.map((n) => `busiest of ${n}`).join(" | ") + " |");
console.log("|---|---:|" + OWNERS.map(() => "---:").join("|") + "|");
for (const c of CASES) {
  const w = weights(c.shape, c.torrents);
  const hashes = torrentHashes(1, c.torrents);
  const dv = new DataView(hashes.buffer, hashes.byteOffset);
  let total = 0;
  let top = 0;
  for (const x of w) (total += x), (top = Math.max(top, x));
  const cells = OWNERS.map((n) => {
    const load = new Float64Array(n);
    for (let i = 0; i < c.torrents; i++) load[dv.getUint32(20 * i, true) % n] += w[i];
    const share = Math.max(...load) / total;
    return `${(100 * share).toFixed(2)}% (${((1 / n / share) * 100).toFixed(0)}% eff.)`;
  });
  console.log(`| ${c.label} | ${((100 * top) / total).toFixed(3)}% | ${cells.join(" | ")} |`);
}
console.log("\neff. = (1/N) / busiest share: the fraction of N cores the busiest owner lets the rest use.");
