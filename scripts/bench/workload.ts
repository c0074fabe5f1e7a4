// The seeded workloads, computed once in TypeScript and handed to the C generator as a plan file, so the
// opentracker whitelist, the probes and the scrape checks all see exactly the torrents the generator uses.
//
// - Torrent set: info hash i is the i-th 20 bytes of one seeded stream, so the first k hashes of a bigger set
//   are the smaller set (one whitelist covers every workload up to its size).
// - Load plan (performance-anchors.md §4.2, §6): peer p announces one torrent, fixed at start, drawn from
//   weight(i) = floor + exp(6.5 - 500 i / N) with floor = N / P (0.5 for the 1M/2M default) by an alias table;
//   a random fixed port and socket; a fixed scrape list of uniform(1..10) hashes from the same curve.
// - Fill plan (memory): P peers spread evenly over M torrents, each (source address, port) distinct within
//   its torrent, because trackers key UDP peers by source IP and announced port.

export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** xoshiro128**, seeded through splitmix32 from (seed, stream) so streams do not overlap in practice. */
  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next() | 1;
  }

  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** n info hashes, 20 bytes each, from `seed`. */
export function torrentHashes(seed: number, n: number): Uint8Array {
  const rng = new Rng(seed, 1);
  const out = new Uint8Array(n * 20);
  const words = new DataView(out.buffer);
  for (let i = 0; i < out.length; i += 4) words.setUint32(i, rng.u32());
  return out;
}

/** Vose's alias method: O(n) to build, O(1) per draw. */
export class AliasTable {
  readonly prob: Float64Array;
  readonly alias: Int32Array;

  constructor(weights: Float64Array) {
    const n = weights.length;
    let sum = 0;
    for (const w of weights) sum += w;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / sum;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) this.prob[large[--nl]] = 1;
    while (ns > 0) this.prob[small[--ns]] = 1; // rounding leftovers
  }

  sample(rng: Rng): number {
    const i = Math.floor(rng.next() * this.prob.length);
    return rng.next() < this.prob[i] ? i : this.alias[i];
  }
}

/** Popularity of torrent i of n with `peers` peers: the reference's exponential head plus a flat floor. */
export function popularityWeights(n: number, peers: number): Float64Array {
  const floor = n / peers;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = floor + Math.exp(6.5 - (500 * i) / n);
  return w;
}

/** Everything the C generator needs, as flat typed arrays (see writePlan for the file layout). */
export interface Plan {
  torrents: number;
  hashes: Uint8Array;
  /** Per peer: torrent index, announced port, socket index (taken modulo the socket count). */
  torrent: Uint32Array;
  port: Uint16Array;
  socket: Uint8Array;
  /** Peer p scrapes scrape[scrapeOff[p] .. scrapeOff[p + 1]). */
  scrapeOff: Uint32Array;
  scrape: Uint32Array;
}

export interface LoadPlanOptions {
  seed: number;
  torrents: number;
  peers: number;
  scrapeMax: number;
}

export function loadPlan(o: LoadPlanOptions): Plan {
  const table = new AliasTable(popularityWeights(o.torrents, o.peers));
  const rng = new Rng(o.seed, 2);
  const torrent = new Uint32Array(o.peers);
  const port = new Uint16Array(o.peers);
  const socket = new Uint8Array(o.peers);
  const scrapeOff = new Uint32Array(o.peers + 1);
  const scrape = new Uint32Array(o.peers * o.scrapeMax);
  let k = 0;
  for (let p = 0; p < o.peers; p++) {
    torrent[p] = table.sample(rng);
    port[p] = 1 + Math.floor(rng.next() * 65535);
    socket[p] = rng.u32() & 0xff;
    const n = 1 + Math.floor(rng.next() * o.scrapeMax);
    scrapeOff[p] = k;
    for (let j = 0; j < n; j++) scrape[k++] = table.sample(rng);
  }
  scrapeOff[o.peers] = k;
  return {
    torrents: o.torrents,
    hashes: torrentHashes(o.seed, o.torrents),
    torrent,
    port,
    socket,
    scrapeOff,
    scrape: scrape.subarray(0, k),
  };
}

/**
 * P peers over M torrents: peer j goes to torrent j mod M as that torrent's r-th peer (r = j div M), sending
 * from source r mod S with port 1024 + (r div S), so (source, port) never repeats within a torrent. With S
 * sources and K sockets (K a multiple of S), socket = source + S * (j mod (K / S)).
 */
export function fillPlan(seed: number, torrents: number, peers: number, sources: number, sockets: number): Plan {
  const perSource = Math.max(1, Math.floor(sockets / sources));
  const torrent = new Uint32Array(peers);
  const port = new Uint16Array(peers);
  const socket = new Uint8Array(peers);
  for (let j = 0; j < peers; j++) {
    const r = Math.floor(j / torrents);
    const src = r % sources;
    const p = 1024 + Math.floor(r / sources);
    if (p > 65535) throw new Error(`fill: too many peers per torrent for ${sources} source addresses; add --sources`);
    torrent[j] = j % torrents;
    port[j] = p;
    socket[j] = src + sources * (j % perSource);
  }
  return {
    torrents,
    hashes: torrentHashes(seed, torrents),
    torrent,
    port,
    socket,
    scrapeOff: new Uint32Array(peers + 1),
    scrape: new Uint32Array(0),
  };
}

/** The number of peers fillPlan puts in torrent t. */
export function fillCount(torrents: number, peers: number, t: number): number {
  return Math.floor(peers / torrents) + (t < peers % torrents ? 1 : 0);
}

/**
 * Peers per announce reply a tracker returns at steady state if it hands every announcer min(numwant, others)
 * peers of its swarm: the workload's validity figure (≈ 21.5 for the 1M/2M default with numwant 30).
 */
export function expectedPeersPerAnnounce(plan: Plan, numwant: number): number {
  const count = new Uint32Array(plan.torrents);
  for (const t of plan.torrent) count[t]++;
  let sum = 0;
  for (const c of count) if (c > 0) sum += c * Math.min(numwant, c - 1);
  return sum / plan.torrent.length;
}

/** Distinct torrents with at least one peer. */
export function liveTorrents(plan: Plan): number {
  const seen = new Uint8Array(plan.torrents);
  let n = 0;
  for (const t of plan.torrent) if (seen[t] === 0) (seen[t] = 1), n++;
  return n;
}

/**
 * Layout (little-endian, read in place by udp-gen.c): "BTBPLAN1", u32 torrents, u32 peers, u32 scrape entries,
 * padding to 32 bytes; then hashes, torrent[], port[], socket[], scrapeOff[], scrape[], each padded to 8 bytes.
 */
export async function writePlan(plan: Plan, path: string): Promise<void> {
  const header = new Uint8Array(32);
  header.set(new TextEncoder().encode("BTBPLAN1"));
  const hv = new DataView(header.buffer);
  hv.setUint32(8, plan.torrents, true);
  hv.setUint32(12, plan.torrent.length, true);
  hv.setUint32(16, plan.scrape.length, true);
  const parts: Uint8Array[] = [header];
  for (const a of [plan.hashes, plan.torrent, plan.port, plan.socket, plan.scrapeOff, plan.scrape]) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    parts.push(bytes);
    const pad = (8 - (bytes.length % 8)) % 8;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  await Bun.write(path, new Blob(parts));
}

/** The whitelist opentracker needs (it is built in whitelist mode): one 40-hex hash per line. */
export function whitelistText(hashes: Uint8Array): string {
  const hex = Buffer.from(hashes).toString("hex");
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += 40) lines.push(hex.slice(i, i + 40));
  return lines.join("\n") + "\n";
}
