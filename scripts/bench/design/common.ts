// Shared by the design prototypes (issue 18, "measure before choosing"): the request streams (uniform, the
// aquatic UDP load test's popularity curve, the HTTP test's gamma choice), process CPU time from /proc, and
// small statistics helpers. Nothing here touches the tracker's src/.

import { readFileSync } from "node:fs";
import { AliasTable, popularityWeights, Rng, torrentHashes } from "../workload.ts";

export type Shape = "uniform" | "udp" | "http";
export const SHAPES: Shape[] = ["uniform", "udp", "http"];

/**
 * Per-torrent request weights.
 * - uniform: every torrent alike.
 * - udp: aquatic_udp_load_test (since Feb 2024): each of P = 2N peers is fixed to torrent i with weight
 *   N/P + exp(6.5 - 500 i / N), alias-sampled, and peers announce in turn, so request share = peer share.
 * - http: aquatic_http_load_test (and our wrk script): i = trunc(((min(Gamma(0.2, 100), 101) - 1) / 100) * (N - 1)),
 *   clamped at 0, about 43% of requests on torrent 0.
 */
export function shapeWeights(shape: Shape, n: number): Float64Array {
  if (shape === "uniform") return new Float64Array(n).fill(1);
  if (shape === "udp") return popularityWeights(n, 2 * n);
  const rng = new Rng(7, 9);
  const w = new Float64Array(n);
  for (let k = 0; k < 2_000_000; k++) w[gammaIndex(rng, n)]++; // empirical: the gamma CDF has no closed form here
  return w;
}

export function gammaIndex(rng: Rng, n: number): number {
  const i = Math.floor(((Math.min(gamma(rng, 0.2, 100), 101) - 1) / 100) * (n - 1));
  return Math.max(i, 0);
}

/** Marsaglia and Tsang; for shape < 1, Gamma(a) = Gamma(a + 1) * U^(1/a). */
function gamma(rng: Rng, shape: number, scale: number): number {
  let boost = 1;
  if (shape < 1) {
    boost = (1 - rng.next()) ** (1 / shape);
    shape += 1;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(1 - rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale * boost;
  }
}

/**
 * A request stream: `count` (torrent, peer) pairs. Peers are fixed to one torrent each (2 per torrent on
 * average, as aquatic's 1M torrents / 2M peers), and a request picks a peer, so a swarm's size follows its weight.
 */
export function requestStream(shape: Shape, torrents: number, count: number, seed: number): Uint32Array {
  const rng = new Rng(seed, 3);
  const out = new Uint32Array(count * 2);
  if (shape === "http") {
    // Every HTTP request is a fresh peer (wrk sends a random peer_id and port), so peer = a random number.
    for (let k = 0; k < count; k++) (out[2 * k] = gammaIndex(rng, torrents)), (out[2 * k + 1] = rng.u32());
    return out;
  }
  const peers = 2 * torrents;
  const table = new AliasTable(shapeWeights(shape, torrents));
  const peerTorrent = new Uint32Array(peers);
  const prng = new Rng(seed ^ 0x5bd1e995, 4);
  for (let p = 0; p < peers; p++) peerTorrent[p] = table.sample(prng);
  for (let k = 0; k < count; k++) {
    const p = Math.floor(rng.next() * peers);
    out[2 * k] = peerTorrent[p];
    out[2 * k + 1] = p;
  }
  return out;
}

export { torrentHashes };

/** CPU seconds of this whole process (user + system, every thread) from /proc/self/stat. */
export function processCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

export const MACHINE_NOTE = `${navigator.hardwareConcurrency} CPUs, shared with other jobs: compare ratios and CPU per op, not absolute rates`;
