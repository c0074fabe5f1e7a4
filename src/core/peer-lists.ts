// The peer lists of every torrent in one address family. Torrent `id` (see torrent-table.ts) owns at most
// one block in the arena (peer-arena.ts) holding its records back to back; per-torrent numbers live in
// typed arrays indexed by id. No object per torrent, none per peer.
//
// Record layout (stride = addrLen + TAIL: 8 bytes for IPv4, 20 for IPv6, as in opentracker), offsets after
// the address named below; this file is the only one that knows it (a snapshot reads records as PeerRecord):
//   [0, addrLen)     IP address            } together: the compact wire form (BEP 23 / BEP 7),
//   PORT, +1         port, big-endian      } copied straight into replies
//   TAG              client tag << 1 | FLAG_COUNTED >> 1 (tags are below 128; see clients.ts)
//   TIME             last announce in ticks of `unit` seconds, mod 256 (see timeUnitFor)
// Whether a peer seeds is not stored: its place in the partition says it.
//
// Records are partitioned: leechers in [0, leechers), seeders in [leechers, count). Peer selection then
// reads contiguous ranges ("leechers only" for a seeder), and role changes are one swap at the boundary.
// Lists that grow past INDEX_MIN get an open-addressing hash index (Int32Array, linear probing) from
// (ip, port) to record; smaller lists are scanned, which costs no memory and is fast for a few dozen records
// (most torrents have fewer peers than that). Capacity grows by about a sixteenth at a time, so a list wastes
// about 3% on average.

import { grown } from "./id-arrays.ts";
import { BLOCK_HEADER, CHUNK_BYTES, NO_BLOCK, PeerArena } from "./peer-arena.ts";
import { deleteSlot, finish, mix } from "./probe-table.ts";

/** Reported by `flags` for records in the seeder part of the list. */
export const FLAG_SEEDER = 1;
/** This peer's completion has been counted; a retransmitted `completed` must not count again. */
export const FLAG_COUNTED = 2;
/** Client tags must fit in 7 bits (they share a byte with FLAG_COUNTED's bit). */
export const MAX_TAG = 127;
const TICK_MASK = 0xff;
/** Offsets in a record after its address, and the bytes after the address. */
const PORT = 0;
const TAG = 2;
const TIME = 3;
const TAIL = 4;

/**
 * One peer in a neutral form, for moving peers in and out of the store whole (a snapshot's save and
 * restore) without knowing how records are packed. Reused: the reader fills it in place.
 */
export class PeerRecord {
  /** The address, at ip[0..ipLen). */
  readonly ip = new Uint8Array(16);
  ipLen: 4 | 16 = 4;
  port = 0;
  seeder = false;
  /** Its completion has been counted (see FLAG_COUNTED). */
  counted = false;
  tag = 0;
  /** Last announce, unix seconds. */
  time = 0;
}

/**
 * Seconds per tick of a record's one-byte time, for a peer timeout: a hundredth of the timeout (at least a
 * second), so ages are known to within 1% of the timeout. 256 ticks span at least 2.56 timeouts and at least
 * 256 s, and the expiry sweep visits every peer once a minute, so a peer is gone long before its age could
 * wrap. (opentracker keeps time as coarsely: in 5-minute pools.)
 */
export function timeUnitFor(timeoutS: number): number {
  return Math.max(1, Math.ceil(timeoutS / 100));
}

const INDEX_MIN = 64;
const CHUNK_SHIFT = 20;
const OFFSET_MASK = CHUNK_BYTES - 1;
/** For swapping two records; shared (records are at most 20 bytes and swaps are synchronous). */
const swapScratch = new Uint8Array(20);

export class PeerLists {
  readonly addrLen: 4 | 16;
  readonly stride: number;
  /** Bytes of the compact form of one peer: address + port. */
  readonly compactLen: number;
  /** Seconds per tick of the records' time byte. */
  readonly unit: number;
  readonly arena: PeerArena;
  /** Per torrent id: block address (NO_BLOCK: no peers), records, and how many of them are leechers. */
  #addr: Uint32Array = new Uint32Array(0);
  #count: Int32Array = new Int32Array(0);
  #leechers: Int32Array = new Int32Array(0);
  readonly #indexes = new Map<number, Int32Array>(); // id -> (slot -> record + 1, 0 = empty)
  /** The block of the list worked on last (see #at): record r of it starts at #start + r * stride. */
  #data: Uint8Array = swapScratch;
  #start = 0;

  /** `unit`: seconds per tick of the time byte (timeUnitFor the peer timeout). */
  constructor(addrLen: 4 | 16, unit = 1) {
    this.addrLen = addrLen;
    this.unit = unit;
    this.stride = addrLen + TAIL;
    this.compactLen = addrLen + TAG; // address and port: everything before the tag
    this.arena = new PeerArena((id, addr) => {
      this.#addr[id] = addr;
    });
  }

  /**
   * Makes room for torrent ids below `capacity` (called as the torrent table grows), in place within room
   * for `room` ids (see id-arrays.ts). New ids start as zeros: no block (NO_BLOCK is 0), no peers.
   */
  resize(capacity: number, room = capacity): void {
    this.#addr = grown(this.#addr, capacity, room);
    this.#count = grown(this.#count, capacity, room);
    this.#leechers = grown(this.#leechers, capacity, room);
  }

  count(id: number): number {
    return this.#count[id];
  }

  leechers(id: number): number {
    return this.#leechers[id];
  }

  seeders(id: number): number {
    return this.#count[id] - this.#leechers[id];
  }

  /** Record index of the peer at (ip[0..addrLen), port) in torrent `id`, or -1. */
  find(id: number, ip: Uint8Array, port: number): number {
    const n = this.#count[id];
    if (n === 0) return -1;
    this.#at(id);
    const d = this.#data;
    const s = this.stride;
    const a = this.addrLen;
    const p = a + PORT;
    const hi = port >>> 8;
    const lo = port & 0xff;
    const index = n >= INDEX_MIN / 2 ? this.#indexes.get(id) : undefined;
    if (index === undefined) {
      for (let r = 0, o = this.#start; r < n; r++, o += s) {
        if (d[o + p] === hi && d[o + p + 1] === lo && sameAddr(d, o, ip, a)) return r;
      }
      return -1;
    }
    const mask = index.length - 1;
    for (let slot = hashKey(ip, 0, a, port) & mask; ; slot = (slot + 1) & mask) {
      const v = index[slot];
      if (v === 0) return -1;
      const o = this.#start + (v - 1) * s;
      if (d[o + p] === hi && d[o + p + 1] === lo && sameAddr(d, o, ip, a)) return v - 1;
    }
  }

  /** Adds a peer that is not in torrent `id`'s list. Returns its record index. */
  insert(id: number, ip: Uint8Array, port: number, seeder: boolean, flags: number, tag: number, now: number): number {
    const n = this.#count[id];
    if (n === this.#capacity(id)) this.#reallocate(id, n + 1 + (n >>> 4));
    this.#at(id);
    let r = n;
    if (!seeder) {
      // Keep the partition: the first seeder moves to the end, the new leecher takes its place.
      const l = this.#leechers[id];
      if (l < n) this.#move(id, l, n);
      r = l;
      this.#leechers[id] = l + 1;
    }
    this.#count[id] = n + 1;
    const d = this.#data;
    const o = this.#start + r * this.stride;
    const a = this.addrLen;
    for (let i = 0; i < a; i++) d[o + i] = ip[i];
    d[o + a + PORT] = port >>> 8;
    d[o + a + PORT + 1] = port & 0xff;
    d[o + a + TAG] = ((tag & MAX_TAG) << 1) | ((flags & FLAG_COUNTED) >>> 1);
    d[o + a + TIME] = this.#tick(now);
    const index = this.#indexes.get(id);
    if (index !== undefined) {
      if ((n + 1) * 4 > index.length * 3)
        this.#rebuildIndex(id); // keep the load under 3/4
      else this.#indexAdd(index, r);
    } else if (n + 1 >= INDEX_MIN) this.#rebuildIndex(id);
    return r;
  }

  /**
   * Gives torrent `id`, which has no peers yet, room for `n` records (and, for a list that will need one, its
   * full-size index) at once: a restore knows each list's size up front.
   */
  reserve(id: number, n: number): void {
    if (n <= this.#capacity(id)) return;
    this.#reallocate(id, n);
    if (n >= INDEX_MIN && this.#count[id] === 0) this.#indexes.set(id, new Int32Array(indexSize(n)));
  }

  /** Removes record r (partition kept; the hole is filled from the end of its part). */
  remove(id: number, r: number): void {
    this.#at(id);
    const index = this.#indexes.get(id);
    if (index !== undefined) this.#indexDelete(index, r);
    const last = this.#count[id] - 1;
    const leechers = this.#leechers[id];
    if (r < leechers) {
      const lastLeecher = leechers - 1;
      if (r !== lastLeecher) this.#move(id, lastLeecher, r);
      if (lastLeecher !== last) this.#move(id, last, lastLeecher);
      this.#leechers[id] = lastLeecher;
    } else if (r !== last) {
      this.#move(id, last, r);
    }
    this.#count[id] = last;
    if (index !== undefined && last < INDEX_MIN / 2) this.#indexes.delete(id);
    if (last === 0) this.clear(id);
  }

  /** Forgets every record of torrent `id` and gives its block back. */
  clear(id: number): void {
    if (this.#addr[id] !== NO_BLOCK) this.arena.free(this.#addr[id]);
    this.#addr[id] = NO_BLOCK;
    this.#count[id] = this.#leechers[id] = 0;
    this.#indexes.delete(id);
  }

  /** Turns a leecher into a seeder or back; returns the record's new index. */
  setSeeder(id: number, r: number, seeder: boolean): number {
    const isSeeder = r >= this.#leechers[id];
    if (isSeeder === seeder) return r;
    let to: number;
    if (seeder) {
      to = --this.#leechers[id]; // last leecher's slot becomes the first seeder's
    } else {
      to = this.#leechers[id]++; // first seeder's slot becomes the last leecher's
    }
    this.#at(id);
    if (to !== r) this.#swap(id, r, to);
    return to;
  }

  /** FLAG_SEEDER and FLAG_COUNTED of record r. */
  flags(id: number, r: number): number {
    return (r >= this.#leechers[id] ? FLAG_SEEDER : 0) | ((this.#byte(id, r) & 1) << 1);
  }

  /** Sets FLAG_COUNTED as given (FLAG_SEEDER follows the partition: see setSeeder). */
  setFlags(id: number, r: number, flags: number): void {
    this.#at(id);
    const o = this.#start + r * this.stride + this.addrLen + TAG;
    this.#data[o] = (this.#data[o] & ~1) | ((flags & FLAG_COUNTED) >>> 1);
  }

  tag(id: number, r: number): number {
    return this.#byte(id, r) >>> 1;
  }

  setTag(id: number, r: number, tag: number): void {
    this.#at(id);
    const o = this.#start + r * this.stride + this.addrLen + TAG;
    this.#data[o] = ((tag & MAX_TAG) << 1) | (this.#data[o] & 1);
  }

  /** Seconds since record r's last announce at `now` (unix seconds), in whole ticks: within a tick. */
  age(id: number, r: number, now: number): number {
    this.#at(id);
    return (
      ((this.#tick(now) - this.#data[this.#start + r * this.stride + this.addrLen + TIME]) & TICK_MASK) * this.unit
    );
  }

  setTime(id: number, r: number, now: number): void {
    this.#at(id);
    this.#data[this.#start + r * this.stride + this.addrLen + TIME] = this.#tick(now);
  }

  /** `now` (unix seconds) as a tick, mod 256. */
  #tick(now: number): number {
    return Math.floor(now / this.unit) & TICK_MASK;
  }

  /**
   * Removes the records of torrent `id` older than `timeout` seconds at `now`, calling `removed(tag, seeder,
   * data, at)` for each before it goes (its address is at data[at..]). One pass over the raw records: the
   * expiry sweep runs this over every peer.
   */
  expire(
    id: number,
    now: number,
    timeout: number,
    removed: (tag: number, seeder: boolean, data: Uint8Array, at: number) => void,
  ): number {
    let n = this.#count[id];
    if (n === 0) return 0;
    this.#at(id); // remove() keeps the block where it is, so data and start stay valid through the loop
    const d = this.#data;
    const t = this.#start + this.addrLen + TIME;
    const tick = this.#tick(now);
    const limit = Math.floor(timeout / this.unit); // ticks of age that are still within the timeout
    let gone = 0;
    for (let r = n - 1; r >= 0; r--) {
      const o = t + r * this.stride;
      if (((tick - d[o]) & TICK_MASK) <= limit) continue;
      removed(d[o - TIME + TAG] >>> 1, r >= this.#leechers[id], d, o - this.addrLen - TIME);
      this.remove(id, r);
      gone++;
      if (--n === 0) break;
    }
    return gone;
  }

  /** Record r of torrent `id` into `out`; its time as unix seconds at `now` (to within a tick). */
  read(id: number, r: number, now: number, out: PeerRecord): void {
    this.#at(id);
    const d = this.#data;
    const o = this.#start + r * this.stride;
    const a = this.addrLen;
    for (let i = 0; i < a; i++) out.ip[i] = d[o + i];
    out.ipLen = this.addrLen;
    out.port = (d[o + a + PORT] << 8) | d[o + a + PORT + 1];
    out.seeder = r >= this.#leechers[id];
    out.counted = (d[o + a + TAG] & 1) !== 0;
    out.tag = d[o + a + TAG] >>> 1;
    out.time = now - ((this.#tick(now) - d[o + a + TIME]) & TICK_MASK) * this.unit;
  }

  /**
   * The bytes that hold torrent `id`'s records, and where record r starts in them (dataOf(id), offsetOf(id,
   * r)): the compact form (address, port) is there, first. Valid until the list next changes or the arena
   * compacts; readers take both and use them at once.
   */
  dataOf(id: number): Uint8Array {
    this.#at(id);
    return this.#data;
  }

  offsetOf(id: number, r: number): number {
    this.#at(id);
    return this.#start + r * this.stride;
  }

  /** Gives back memory after many removals (called by the expiry sweep, not per request). */
  shrink(id: number): void {
    const n = this.#count[id];
    if (n > 0 && this.#capacity(id) > n + 2 + (n >>> 2)) this.#reallocate(id, n + (n >>> 3));
  }

  #capacity(id: number): number {
    const a = this.#addr[id];
    return a === NO_BLOCK ? 0 : (this.arena.blockBytes(a) - BLOCK_HEADER) / this.stride;
  }

  #reallocate(id: number, capacity: number): void {
    const old = this.#addr[id];
    const addr = this.arena.alloc(id, BLOCK_HEADER + capacity * this.stride);
    if (old !== NO_BLOCK) {
      const from = this.arena.chunks[old >>> CHUNK_SHIFT]!;
      const to = this.arena.chunks[addr >>> CHUNK_SHIFT]!;
      const o = (old & OFFSET_MASK) + BLOCK_HEADER;
      to.set(from.subarray(o, o + this.#count[id] * this.stride), (addr & OFFSET_MASK) + BLOCK_HEADER);
      this.arena.free(old);
    }
    this.#addr[id] = addr;
  }

  #at(id: number): void {
    const a = this.#addr[id];
    this.#data = this.arena.chunks[a >>> CHUNK_SHIFT]!;
    this.#start = (a & OFFSET_MASK) + BLOCK_HEADER;
  }

  /** The tag-and-counted byte of record r. */
  #byte(id: number, r: number): number {
    this.#at(id);
    return this.#data[this.#start + r * this.stride + this.addrLen + TAG];
  }

  /** Copies record `from` over record `to` (overwriting it) and re-points the index. */
  #move(id: number, from: number, to: number): void {
    const s = this.stride;
    const b = this.#start;
    this.#data.copyWithin(b + to * s, b + from * s, b + from * s + s);
    const index = this.#indexes.get(id);
    if (index !== undefined) index[this.#slotOf(index, to, from + 1)] = to + 1;
  }

  #swap(id: number, x: number, y: number): void {
    const s = this.stride;
    const d = this.#data;
    const b = this.#start;
    const t = swapScratch;
    for (let i = 0; i < s; i++) t[i] = d[b + x * s + i];
    d.copyWithin(b + x * s, b + y * s, b + y * s + s);
    for (let i = 0; i < s; i++) d[b + y * s + i] = t[i];
    const index = this.#indexes.get(id);
    if (index !== undefined) {
      // The bytes swapped places; find both slots (by the keys' new homes) before rewriting either.
      const slotOfOldX = this.#slotOf(index, y, x + 1);
      const slotOfOldY = this.#slotOf(index, x, y + 1);
      index[slotOfOldX] = y + 1;
      index[slotOfOldY] = x + 1;
    }
  }

  /** The index slot that holds `value`, searched along the probe chain of the key stored in record r. */
  #slotOf(index: Int32Array, r: number, value: number): number {
    const mask = index.length - 1;
    let slot = this.#hashRecord(r) & mask;
    for (let i = 0; i <= mask; i++, slot = (slot + 1) & mask) {
      if (index[slot] === value) return slot;
    }
    throw new Error("peer index out of sync"); // a bug, not bad input: fail loudly in tests
  }

  #hashRecord(r: number): number {
    return hashKey(this.#data, this.#start + r * this.stride, this.addrLen, -1);
  }

  #indexAdd(index: Int32Array, r: number): void {
    const mask = index.length - 1;
    let slot = this.#hashRecord(r) & mask;
    while (index[slot] !== 0) slot = (slot + 1) & mask;
    index[slot] = r + 1;
  }

  #indexDelete(index: Int32Array, r: number): void {
    const mask = index.length - 1;
    deleteSlot(index, this.#slotOf(index, r, r + 1), (v) => this.#hashRecord(v - 1) & mask);
  }

  #rebuildIndex(id: number): void {
    const n = this.#count[id];
    const index = new Int32Array(indexSize(n));
    this.#indexes.set(id, index);
    this.#at(id);
    for (let r = 0; r < n; r++) this.#indexAdd(index, r);
  }
}

/** Index slots for n records: a power of two at least 2n (load at most 1/2), and at least 64. */
function indexSize(n: number): number {
  let size = 64;
  while (size < n * 2) size *= 2;
  return size;
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
    h = mix(h, src[off + i] | (src[off + i + 1] << 8) | (src[off + i + 2] << 16) | (src[off + i + 3] << 24));
  }
  const p = port >= 0 ? port : (src[off + len + PORT] << 8) | src[off + len + PORT + 1];
  return finish(h ^ Math.imul(p, 0x85ebca6b));
}
