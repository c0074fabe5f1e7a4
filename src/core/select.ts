// Peer selection: which peers an announcing client gets back.
//
// Stratified sampling: the range is cut into `want` equal strata and one random record is taken from each,
// starting at a random rotation. Picks are distinct, spread evenly over the swarm (opentracker's even-spacing
// idea) and differ on every call, so a big swarm does not hand everyone the same few peers.

import type { PeerLists } from "./peer-lists.ts";

/** A source of uniform random numbers in [0, 1). Injected so tests can be deterministic. */
export type Random = () => number;

/**
 * Copies the compact form of up to `want` records of torrent `id`'s list, from [from, to) and never record
 * `skip`, into out[at..]. Returns the number of peers written.
 */
export function selectPeers(
  lists: PeerLists,
  id: number,
  from: number,
  to: number,
  skip: number,
  want: number,
  random: Random,
  out: Uint8Array,
  at: number,
): number {
  const skipInRange = skip >= from && skip < to;
  const n = to - from - (skipInRange ? 1 : 0);
  if (want <= 0 || n <= 0) return 0;
  const size = lists.compactLen;
  const stride = lists.stride;
  const d = lists.dataOf(id);
  const base = lists.offsetOf(id, 0);
  // Virtual positions v in [0, n) map to records from + v, stepping over `skip`.
  const gap = skipInRange ? skip : to;
  if (n <= want) {
    for (let v = 0; v < n; v++) {
      const r = from + v;
      const o = base + (r >= gap ? r + 1 : r) * stride;
      for (let k = 0, w = at + v * size; k < size; k++) out[w + k] = d[o + k];
    }
    return n;
  }
  const rotation = Math.floor(random() * n);
  for (let i = 0; i < want; i++) {
    const lo = Math.floor((i * n) / want);
    const hi = Math.floor(((i + 1) * n) / want);
    const r = from + ((lo + Math.floor(random() * (hi - lo)) + rotation) % n);
    const o = base + (r >= gap ? r + 1 : r) * stride;
    for (let k = 0, w = at + i * size; k < size; k++) out[w + k] = d[o + k];
  }
  return want;
}

/**
 * Splits `want` peers between IPv4 and IPv6 when a client can take both (HTTP). Each family is guaranteed a
 * quarter (opentracker's rule, so a small family is not drowned out), the rest goes in proportion to what is
 * left, and any shortfall on one side is filled from the other. Returns the IPv4 share.
 */
export function splitByFamily(want: number, avail4: number, avail6: number): number {
  if (avail4 + avail6 <= want) return avail4;
  const quarter = Math.floor(want / 4);
  let n4 = Math.min(avail4, quarter);
  let n6 = Math.min(avail6, quarter);
  const rest = want - n4 - n6;
  const left4 = avail4 - n4;
  const left6 = avail6 - n6;
  const extra4 = Math.min(left4, Math.round((rest * left4) / (left4 + left6)));
  n4 += extra4;
  n6 = Math.min(avail6, n6 + rest - extra4);
  n4 = Math.min(avail4, want - n6);
  return n4;
}

const remoteIp = new Uint8Array(16);

/**
 * Copies up to `want` of the `n` compact peers (`size` bytes each) at blob[at..] (a cluster remote view, see
 * peer-blob.ts) into out[outAt..], spread like selectPeers, leaving out any peer that `local` (torrent `id`'s
 * own list of that family) holds: the local record is the fresher one, and the announcing peer is in it.
 * Returns the number of peers written.
 */
export function selectRemote(
  blob: Uint8Array,
  at: number,
  n: number,
  size: number,
  want: number,
  local: PeerLists,
  id: number,
  random: Random,
  out: Uint8Array,
  outAt: number,
): number {
  if (want <= 0 || n <= 0) return 0;
  const addrLen = size - 2;
  const picks = Math.min(n, want);
  const rotation = n <= want ? 0 : Math.floor(random() * n);
  let written = 0;
  for (let i = 0; i < picks; i++) {
    let r = i;
    if (n > want) {
      const lo = Math.floor((i * n) / want);
      const hi = Math.floor(((i + 1) * n) / want);
      r = (lo + Math.floor(random() * (hi - lo)) + rotation) % n;
    }
    const o = at + r * size;
    for (let k = 0; k < addrLen; k++) remoteIp[k] = blob[o + k];
    const port = (blob[o + addrLen] << 8) | blob[o + addrLen + 1];
    if (local.find(id, remoteIp, port) >= 0) continue;
    for (let k = 0, w = outAt + written * size; k < size; k++) out[w + k] = blob[o + k];
    written++;
  }
  return written;
}
