// One torrent's peers as one packed value (cluster mode): what an instance publishes for each torrent to the
// engine, and, with the parts of every other instance merged, the remote view the store answers from.
//
// Layout (u32 little-endian header, then compact records as BEP 23 / BEP 7 put them on the wire):
//   0  run       the writer's run token (see cluster-sync.ts); 0 in a merged view
//   4  seeders   exact counts of the writer's peers (records may be fewer: see MAX_BLOB_PEERS)
//   8  leechers
//   12 n4L, 16 n4S, 20 n6L, 24 n6S   records in each range
//   28 IPv4 leechers (6 bytes each), IPv4 seeders, IPv6 leechers (18 bytes each), IPv6 seeders
// Leechers before seeders, as in the store's lists, so "leechers only" (for a seeder) is one range.

export const BLOB_HEADER = 28;
/** Records per address family an instance publishes for one torrent; the counts stay exact. */
export const MAX_BLOB_PEERS = 1000;
const RUN = 0;
const SEEDERS = 4;
const LEECHERS = 8;
const N4L = 12;
const N4S = 16;
const N6L = 20;
const N6S = 24;

const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = v >>> 24;
}

export const blobRun = (b: Uint8Array): number => u32(b, RUN);
export const blobSeeders = (b: Uint8Array): number => u32(b, SEEDERS);
export const blobLeechers = (b: Uint8Array): number => u32(b, LEECHERS);

/** Where a blob's ranges are: record counts and byte offsets. */
export class BlobRanges {
  n4L = 0;
  n4S = 0;
  n6L = 0;
  n6S = 0;
  /** Offsets of the IPv4 records (leechers, then seeders) and of the IPv6 ones. */
  at4 = BLOB_HEADER;
  at6 = BLOB_HEADER;

  /** Reads `b`'s header; false when `b` is not a well-formed blob (then the ranges are empty). */
  read(b: Uint8Array): boolean {
    this.n4L = this.n4S = this.n6L = this.n6S = 0;
    this.at4 = this.at6 = BLOB_HEADER;
    if (b.length < BLOB_HEADER) return false;
    const n4L = u32(b, N4L);
    const n4S = u32(b, N4S);
    const n6L = u32(b, N6L);
    const n6S = u32(b, N6S);
    if (BLOB_HEADER + (n4L + n4S) * 6 + (n6L + n6S) * 18 !== b.length) return false;
    this.n4L = n4L;
    this.n4S = n4S;
    this.n6L = n6L;
    this.n6S = n6S;
    this.at6 = BLOB_HEADER + (n4L + n4S) * 6;
    return true;
  }
}

/** The peers a blob is made of, for encoding: the store's lists are read through this (see Store). */
export interface PeerSource {
  peerCount(id: number, ipLen: 4 | 16): number;
  /** Of those, the leechers: records 0..leecherCount-1 (the seeders follow). */
  leecherCount(id: number, ipLen: 4 | 16): number;
  /** The compact form of k of the n records from `from`, evenly spread, into out[at..]; the offset after. */
  copyPeers(id: number, ipLen: 4 | 16, from: number, n: number, k: number, out: Uint8Array, at: number): number;
}

/**
 * Torrent `id`'s IPv4 and IPv6 peers in `src` as a blob stamped with `run`. Counts are exact; at most
 * MAX_BLOB_PEERS records per family go in, seeders and leechers in proportion (a reply needs a sample, not
 * the swarm).
 */
export function encodeBlob(src: PeerSource, id: number, run: number): Uint8Array {
  const n4 = src.peerCount(id, 4);
  const n6 = src.peerCount(id, 16);
  const n4L = src.leecherCount(id, 4);
  const n6L = src.leecherCount(id, 16);
  const [k4L, k4S] = picks(n4L, n4 - n4L);
  const [k6L, k6S] = picks(n6L, n6 - n6L);
  const b = new Uint8Array(BLOB_HEADER + (k4L + k4S) * 6 + (k6L + k6S) * 18);
  putU32(b, RUN, run);
  putU32(b, SEEDERS, n4 - n4L + n6 - n6L);
  putU32(b, LEECHERS, n4L + n6L);
  putU32(b, N4L, k4L);
  putU32(b, N4S, k4S);
  putU32(b, N6L, k6L);
  putU32(b, N6S, k6S);
  let o = BLOB_HEADER;
  o = src.copyPeers(id, 4, 0, n4L, k4L, b, o);
  o = src.copyPeers(id, 4, n4L, n4 - n4L, k4S, b, o);
  o = src.copyPeers(id, 16, 0, n6L, k6L, b, o);
  src.copyPeers(id, 16, n6L, n6 - n6L, k6S, b, o);
  return b;
}

/** Records of leechers and seeders to publish of nL and nS. */
function picks(nL: number, nS: number): [number, number] {
  const kS = Math.min(nS, Math.max(MAX_BLOB_PEERS >>> 1, MAX_BLOB_PEERS - nL));
  return [Math.min(nL, MAX_BLOB_PEERS - kS), kS];
}

/**
 * The remote view of one torrent: the parts of every other instance in one blob (run 0), counts summed,
 * a peer published by two instances (it moved between them) kept once. null when there is nothing.
 */
export function mergeBlobs(parts: Uint8Array[]): Uint8Array | null {
  const ranges = new BlobRanges();
  // One part (two instances): it is the view as it is.
  if (parts.length === 1)
    return ranges.read(parts[0]) && blobSeeders(parts[0]) + blobLeechers(parts[0]) > 0 ? parts[0] : null;
  const seen = new Set<number | string>();
  const chunks: Uint8Array[][] = [[], [], [], []]; // 4L, 4S, 6L, 6S
  let seeders = 0;
  let leechers = 0;
  let any = false;
  for (const p of parts) {
    if (!ranges.read(p)) continue;
    any = true;
    seeders += blobSeeders(p);
    leechers += blobLeechers(p);
    const spans: [number, number, number][] = [
      [ranges.at4, ranges.n4L, 6],
      [ranges.at4 + ranges.n4L * 6, ranges.n4S, 6],
      [ranges.at6, ranges.n6L, 18],
      [ranges.at6 + ranges.n6L * 18, ranges.n6S, 18],
    ];
    for (let k = 0; k < 4; k++) {
      const [at, n, size] = spans[k];
      for (let i = 0; i < n; i++) {
        const r = p.subarray(at + i * size, at + (i + 1) * size);
        // IPv4 address and port fit a number exactly; IPv6 ones go as text.
        const key =
          size === 6
            ? r[0] * 2 ** 40 + r[1] * 2 ** 32 + (((r[2] << 24) | (r[3] << 16) | (r[4] << 8) | r[5]) >>> 0)
            : String.fromCharCode(...r);
        if (seen.has(key)) continue;
        seen.add(key);
        chunks[k].push(r);
      }
    }
  }
  if (!any || seeders + leechers === 0) return null;
  const n = chunks.map((c) => c.length);
  const b = new Uint8Array(BLOB_HEADER + (n[0] + n[1]) * 6 + (n[2] + n[3]) * 18);
  putU32(b, SEEDERS, seeders);
  putU32(b, LEECHERS, leechers);
  putU32(b, N4L, n[0]);
  putU32(b, N4S, n[1]);
  putU32(b, N6L, n[2]);
  putU32(b, N6S, n[3]);
  let o = BLOB_HEADER;
  for (const c of chunks) {
    for (const r of c) {
      b.set(r, o);
      o += r.length;
    }
  }
  return b;
}
