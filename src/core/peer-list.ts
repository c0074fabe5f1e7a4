// The peers of one torrent in one address family, packed into a single byte array (no object per peer).
//
// Record layout (stride = addrLen + 8):
//   [0, addrLen)     IP address            } together: the compact wire form (BEP 23 / BEP 7),
//   [addrLen, +2)    port, big-endian      } copied straight into replies
//   +2               flags (FLAG_*)
//   +3               client tag (identifies the peer's client; 0 = unknown)
//   +4 .. +8         last announce, unix seconds, little-endian u32
//
// Records are partitioned: leechers in [0, leechers), seeders in [leechers, count). Peer selection then
// reads contiguous ranges ("leechers only" for a seeder), and role changes are one swap at the boundary.
// Lists that grow past INDEX_MIN get an open-addressing hash index (Int32Array, linear probing) from
// (ip, port) to record; smaller lists are scanned, which costs no memory and is fast for a few dozen records
// (most torrents have fewer peers than that).

export const FLAG_SEEDER = 1;
/** This peer's completion has been counted; a retransmitted `completed` must not count again. */
export const FLAG_COUNTED = 2;

const INDEX_MIN = 64;
const MIN_CAPACITY = 2;
/** For swapping two records; shared (records are at most 24 bytes and swaps are synchronous). */
const swapScratch = new Uint8Array(24);

export class PeerList {
  readonly addrLen: 4 | 16;
  readonly stride: number;
  /** Bytes of the compact form of one peer: address + port. */
  readonly compactLen: number;
  data: Uint8Array;
  count = 0;
  leechers = 0;
  #index: Int32Array | null = null; // slot -> record + 1, 0 = empty

  constructor(addrLen: 4 | 16) {
    this.addrLen = addrLen;
    this.stride = addrLen + 8;
    this.compactLen = addrLen + 2;
    this.data = new Uint8Array(MIN_CAPACITY * this.stride);
  }

  /**
   * A list from `count` records in their stored layout (a state snapshot). Records are re-partitioned and
   * re-indexed here, so the input only has to be well-formed per record. Duplicate (ip, port) pairs keep the
   * first. `mapTag` translates client tags saved by another version.
   */
  static fromRecords(addrLen: 4 | 16, records: Uint8Array, count: number, mapTag: (tag: number) => number): PeerList {
    const list = new PeerList(addrLen);
    const s = list.stride;
    const a = addrLen;
    const port = (o: number) => (records[o + a] << 8) | records[o + a + 1];
    for (let r = 0, o = 0; r < count; r++, o += s) {
      const ip = records.subarray(o, o + a);
      if (port(o) === 0 || list.find(ip, port(o)) >= 0) continue;
      const flags = records[o + a + 2];
      const t = (records[o + a + 4] | (records[o + a + 5] << 8) | (records[o + a + 6] << 16) | (records[o + a + 7] << 24)) >>> 0;
      list.insert(ip, port(o), (flags & FLAG_SEEDER) !== 0, flags & FLAG_COUNTED, mapTag(records[o + a + 3]), t);
    }
    return list;
  }

  get seeders(): number {
    return this.count - this.leechers;
  }

  get capacity(): number {
    return this.data.length / this.stride;
  }

  /** Record index of the peer at (ip[0..addrLen), port), or -1. */
  find(ip: Uint8Array, port: number): number {
    const d = this.data;
    const s = this.stride;
    const a = this.addrLen;
    const index = this.#index;
    if (index === null) {
      for (let r = 0, o = 0; r < this.count; r++, o += s) {
        if (d[o + a] === port >>> 8 && d[o + a + 1] === (port & 0xff) && sameAddr(d, o, ip, a)) return r;
      }
      return -1;
    }
    const mask = index.length - 1;
    for (let slot = hashKey(ip, 0, a, port) & mask; ; slot = (slot + 1) & mask) {
      const v = index[slot];
      if (v === 0) return -1;
      const o = (v - 1) * s;
      if (d[o + a] === port >>> 8 && d[o + a + 1] === (port & 0xff) && sameAddr(d, o, ip, a)) return v - 1;
    }
  }

  /** Adds a peer that is not in the list. Returns its record index. */
  insert(ip: Uint8Array, port: number, seeder: boolean, flags: number, tag: number, now: number): number {
    if (this.count === this.capacity) this.#resize(this.capacity * 2);
    let r = this.count;
    if (!seeder) {
      // Keep the partition: the first seeder moves to the end, the new leecher takes its place.
      if (this.leechers < this.count) this.#move(this.leechers, this.count);
      r = this.leechers++;
    }
    this.count++;
    const d = this.data;
    const o = r * this.stride;
    const a = this.addrLen;
    for (let i = 0; i < a; i++) d[o + i] = ip[i];
    d[o + a] = port >>> 8;
    d[o + a + 1] = port & 0xff;
    d[o + a + 2] = flags | (seeder ? FLAG_SEEDER : 0);
    d[o + a + 3] = tag;
    this.setTime(r, now);
    if (this.#index !== null) {
      if (this.count * 4 > this.#index.length * 3) this.#rebuildIndex(); // keep the load under 3/4
      else this.#indexAdd(r);
    } else if (this.count >= INDEX_MIN) this.#rebuildIndex();
    return r;
  }

  /** Removes record r (partition kept; the hole is filled from the end of its part). */
  remove(r: number): void {
    if (this.#index !== null) this.#indexDelete(r);
    const last = this.count - 1;
    if (r < this.leechers) {
      const lastLeecher = this.leechers - 1;
      if (r !== lastLeecher) this.#move(lastLeecher, r);
      if (lastLeecher !== last) this.#move(last, lastLeecher);
      this.leechers--;
    } else if (r !== last) {
      this.#move(last, r);
    }
    this.count--;
    if (this.#index !== null && this.count < INDEX_MIN / 2) this.#index = null;
  }

  /** Turns a leecher into a seeder or back; returns the record's new index. */
  setSeeder(r: number, seeder: boolean): number {
    const o = r * this.stride + this.addrLen + 2;
    const isSeeder = (this.data[o] & FLAG_SEEDER) !== 0;
    if (isSeeder === seeder) return r;
    let to: number;
    if (seeder) {
      to = this.leechers - 1; // last leecher's slot becomes the first seeder's
      this.leechers--;
    } else {
      to = this.leechers; // first seeder's slot becomes the last leecher's
      this.leechers++;
    }
    this.data[o] ^= FLAG_SEEDER;
    if (to !== r) this.#swap(r, to);
    return to;
  }

  flags(r: number): number {
    return this.data[r * this.stride + this.addrLen + 2];
  }

  setFlags(r: number, flags: number): void {
    this.data[r * this.stride + this.addrLen + 2] = flags;
  }

  tag(r: number): number {
    return this.data[r * this.stride + this.addrLen + 3];
  }

  setTag(r: number, tag: number): void {
    this.data[r * this.stride + this.addrLen + 3] = tag;
  }

  time(r: number): number {
    const d = this.data;
    const o = r * this.stride + this.addrLen + 4;
    return (d[o] | (d[o + 1] << 8) | (d[o + 2] << 16) | (d[o + 3] << 24)) >>> 0;
  }

  setTime(r: number, t: number): void {
    const d = this.data;
    const o = r * this.stride + this.addrLen + 4;
    d[o] = t & 0xff;
    d[o + 1] = (t >>> 8) & 0xff;
    d[o + 2] = (t >>> 16) & 0xff;
    d[o + 3] = (t >>> 24) & 0xff;
  }

  /** Copies the compact form (address + port) of record r to out[at..]. */
  copyCompact(r: number, out: Uint8Array, at: number): void {
    const d = this.data;
    const o = r * this.stride;
    for (let i = 0; i < this.compactLen; i++) out[at + i] = d[o + i]; // a loop: no view allocated per peer
  }

  /** Gives back memory after many removals (called by the expiry sweep, not per request). */
  shrink(): void {
    const cap = this.capacity;
    if (cap > MIN_CAPACITY && this.count * 4 <= cap) {
      let next = MIN_CAPACITY;
      while (next < this.count * 2) next *= 2;
      this.#resize(next);
      if (this.#index !== null) this.#rebuildIndex();
    }
  }

  #resize(capacity: number): void {
    const next = new Uint8Array(capacity * this.stride);
    next.set(this.data.subarray(0, this.count * this.stride));
    this.data = next;
  }

  /** Copies record `from` over record `to` (overwriting it) and re-points the index. */
  #move(from: number, to: number): void {
    const s = this.stride;
    this.data.copyWithin(to * s, from * s, from * s + s);
    if (this.#index !== null) this.#indexRepoint(to, from, to);
  }

  #swap(x: number, y: number): void {
    const s = this.stride;
    const d = this.data;
    const t = swapScratch;
    for (let i = 0; i < s; i++) t[i] = d[x * s + i];
    d.copyWithin(x * s, y * s, y * s + s);
    for (let i = 0; i < s; i++) d[y * s + i] = t[i];
    if (this.#index !== null) {
      // The bytes swapped places; find both slots (by the keys' new homes) before rewriting either.
      const slotOfOldX = this.#slotOf(y, x + 1);
      const slotOfOldY = this.#slotOf(x, y + 1);
      this.#index[slotOfOldX] = y + 1;
      this.#index[slotOfOldY] = x + 1;
    }
  }

  /** The index slot that holds `value`, searched along the probe chain of the key stored in record r. */
  #slotOf(r: number, value: number): number {
    const index = this.#index!;
    const mask = index.length - 1;
    let slot = hashKey(this.data, r * this.stride, this.addrLen, -1) & mask;
    for (let i = 0; i <= mask; i++, slot = (slot + 1) & mask) {
      if (index[slot] === value) return slot;
    }
    throw new Error("peer index out of sync"); // a bug, not bad input: fail loudly in tests
  }

  /** The record whose bytes now sit at `at` used to be at `was`; make its slot point at `now`. */
  #indexRepoint(at: number, was: number, now: number): void {
    this.#index![this.#slotOf(at, was + 1)] = now + 1;
  }

  #indexAdd(r: number): void {
    const index = this.#index!;
    const mask = index.length - 1;
    let slot = hashKey(this.data, r * this.stride, this.addrLen, -1) & mask;
    while (index[slot] !== 0) slot = (slot + 1) & mask;
    index[slot] = r + 1;
  }

  /** Backward-shift deletion keeps probe chains intact without tombstones. */
  #indexDelete(r: number): void {
    const index = this.#index!;
    const mask = index.length - 1;
    let hole = this.#slotOf(r, r + 1);
    index[hole] = 0;
    for (let j = (hole + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = hashKey(this.data, (index[j] - 1) * this.stride, this.addrLen, -1) & mask;
      // Move entry j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        index[hole] = index[j];
        index[j] = 0;
        hole = j;
      }
    }
  }

  #rebuildIndex(): void {
    let size = 64;
    while (size < this.count * 2) size *= 2;
    this.#index = new Int32Array(size);
    for (let r = 0; r < this.count; r++) this.#indexAdd(r);
  }
}

function sameAddr(d: Uint8Array, o: number, ip: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (d[o + i] !== ip[i]) return false;
  return true;
}

/**
 * Hash of (address, port). With port < 0 the port is read from the record itself at src[off + len].
 * Murmur-style mixing over the bytes; peers choose their own ports and addresses, so mix well.
 */
function hashKey(src: Uint8Array, off: number, len: number, port: number): number {
  let h = 0x9747b28c ^ len;
  for (let i = 0; i < len; i += 4) {
    let k = src[off + i] | (src[off + i + 1] << 8) | (src[off + i + 2] << 16) | (src[off + i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const p = port >= 0 ? port : (src[off + len] << 8) | src[off + len + 1];
  h ^= Math.imul(p, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
