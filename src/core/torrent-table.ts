// Info hash -> small dense torrent id, so everything else about a torrent can live in typed arrays indexed
// by id instead of in an object per torrent (an object, a map entry and a key string cost more than the
// peers of a typical torrent). Open addressing with linear probing over an Int32Array; the hashes themselves
// sit five 32-bit words per id in one Uint32Array. Ids of forgotten torrents are reused.
// Per-id arrays, here and wherever `onGrow` reaches, grow in place within room reserved for `reserveIds`
// (id-arrays.ts).
//
// The slot hash is keyed with seeds from the caller's random source: info hashes come from the network, and
// a fixed hash would let anyone build a run of colliding hashes that turns every lookup into a long scan.

import { grown, idArray } from "./id-arrays.ts";
import { deleteSlot, finish, mix } from "./probe-table.ts";

const MIN_IDS = 1024;
/** Most ids reserved room for (past it, per-id arrays grow by copying): 16M ids are 800 MB of address space. */
const MAX_RESERVED_IDS = 1 << 24;

/**
 * A table's lookup arrays copied into shared memory, for other threads to look up in (not to change): see
 * TorrentTable.freeze and .frozen.
 */
export interface FrozenTable {
  words: Uint32Array<SharedArrayBuffer>;
  slots: Int32Array<SharedArrayBuffer>;
  seed0: number;
  seed1: number;
  size: number;
}

export class TorrentTable {
  /** The 20 bytes of each id's info hash, as five little-endian words. */
  #words: Uint32Array;
  /** id + 1, 0 = empty. Power-of-two size, at most half full. */
  #slots: Int32Array;
  /** Ids given back, reused before new ones: a stack threaded through the first word of each free id. */
  #freeHead = -1;
  #highWater = 0;
  #seed0: number;
  #seed1: number;
  /** Called with the new id capacity (and `room`) whenever it grows, so per-id arrays elsewhere can follow. */
  readonly #onGrow: (capacity: number, room: number) => void;
  /** Ids reserved room for up front (see id-arrays.ts). */
  readonly #reserved: number;
  /** Live ids. */
  size = 0;

  /**
   * `reserveIds`: ids to reserve room for (the store passes its torrent limit; capped at MAX_RESERVED_IDS).
   * `onGrow(capacity, room)` sizes per-id arrays elsewhere with `grown(a, capacity, room)`. `expectedIds`:
   * entries a bulk load is about to insert (the slot table is made big enough for them at once).
   */
  constructor(
    seed0: number,
    seed1: number,
    onGrow: (capacity: number, room: number) => void,
    reserveIds = 0,
    expectedIds = 0,
  ) {
    this.#seed0 = seed0 | 0;
    this.#seed1 = seed1 | 0;
    this.#onGrow = onGrow;
    this.#reserved = Math.max(MIN_IDS, Math.min(reserveIds, MAX_RESERVED_IDS));
    this.#words = idArray(Uint32Array, MIN_IDS * 5, this.#reserved * 5);
    // `expectedIds` (a bulk load that knows its size) sizes the slots once instead of rehashing ~20 times.
    let slots = MIN_IDS * 2;
    while (slots < expectedIds * 2 && slots < MAX_RESERVED_IDS * 2) slots *= 2;
    this.#slots = new Int32Array(slots);
    onGrow(MIN_IDS, this.#reserved);
  }

  /** A copy of what lookups read, in shared memory (the ids past highWater are left out). */
  freeze(): FrozenTable {
    const words = new Uint32Array(new SharedArrayBuffer(this.#highWater * 5 * 4));
    words.set(this.#words.subarray(0, this.#highWater * 5));
    const slots = new Int32Array(new SharedArrayBuffer(this.#slots.byteLength));
    slots.set(this.#slots);
    return { words, slots, seed0: this.#seed0, seed1: this.#seed1, size: this.size };
  }

  /** A table over a frozen copy, for `find` and `findBytes` only: nothing may be inserted or removed. */
  static frozen(f: FrozenTable): TorrentTable {
    const t = new TorrentTable(f.seed0, f.seed1, () => {});
    t.#words = f.words;
    t.#slots = f.slots;
    t.#highWater = f.words.length / 5;
    t.size = f.size;
    return t;
  }

  /** Ids ever handed out: every live id is below this. */
  get highWater(): number {
    return this.#highWater;
  }

  get capacity(): number {
    return this.#words.length / 5;
  }

  /** Ids that per-id arrays should have room for: the reservation, or the capacity once it is past that. */
  get room(): number {
    return Math.max(this.capacity, this.#reserved);
  }

  /** The id of `key` (20 latin1 chars), or -1. */
  find(key: string): number {
    return this.#find(word(key, 0), word(key, 4), word(key, 8), word(key, 12), word(key, 16));
  }

  /** The id of the info hash at b[off, off + 20), or -1 (no string made: the UDP path reads packets so). */
  findBytes(b: Uint8Array, off: number): number {
    return this.#find(wordAt(b, off), wordAt(b, off + 4), wordAt(b, off + 8), wordAt(b, off + 12), wordAt(b, off + 16));
  }

  #find(k0: number, k1: number, k2: number, k3: number, k4: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    const w = this.#words;
    for (let s = this.#hash(k0, k1, k2, k3, k4) & mask; ; s = (s + 1) & mask) {
      const v = slots[s];
      if (v === 0) return -1;
      const o = (v - 1) * 5;
      if (w[o] === k0 && w[o + 1] === k1 && w[o + 2] === k2 && w[o + 3] === k3 && w[o + 4] === k4) return v - 1;
    }
  }

  /** Adds `key`, which must not be present. Returns its new id. */
  insert(key: string): number {
    const id = this.#newId();
    for (let i = 0; i < 5; i++) this.#words[id * 5 + i] = word(key, i * 4);
    return this.#placeNew(id);
  }

  /** Adds the info hash at b[off, off + 20), which must not be present. Returns its new id. */
  insertBytes(b: Uint8Array, off: number): number {
    const id = this.#newId();
    for (let i = 0; i < 5; i++) this.#words[id * 5 + i] = wordAt(b, off + i * 4);
    return this.#placeNew(id);
  }

  #newId(): number {
    let id: number;
    if (this.#freeHead >= 0) {
      id = this.#freeHead;
      this.#freeHead = this.#words[id * 5] - 1;
    } else {
      if (this.#highWater === this.capacity) this.#growIds();
      id = this.#highWater++;
    }
    return id;
  }

  /** Puts a new id whose words are written into the slot table. */
  #placeNew(id: number): number {
    this.size++;
    if (this.size * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    this.#place(id);
    return id;
  }

  /** Makes room for `n` more ids at once (a restore knows how many it brings): one growth, one rehash. */
  reserve(n: number): void {
    if (n <= 0) return;
    if (this.#highWater + n > this.capacity) this.#growIds(this.#highWater + n);
    const want = this.size + n;
    let slots = this.#slots.length;
    while (want * 2 > slots) slots *= 2;
    if (slots > this.#slots.length) this.#rehash(slots);
  }

  /** Forgets `id` (which must be live); the id may be handed out again. */
  remove(id: number): void {
    const mask = this.#slots.length - 1;
    deleteSlot(this.#slots, this.#slotOf(id), (v) => this.#hashOf(v - 1) & mask);
    this.#words[id * 5] = this.#freeHead + 1;
    this.#freeHead = id;
    this.size--;
  }

  /** The info hash of a live id, as 20 latin1 chars. */
  keyOf(id: number): string {
    const w = this.#words;
    let s = "";
    for (let i = 0; i < 5; i++) {
      const x = w[id * 5 + i];
      s += String.fromCharCode(x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24);
    }
    return s;
  }

  /** Writes the 20 bytes of a live id's info hash to out[at..]. */
  copyKey(id: number, out: Uint8Array, at: number): void {
    const w = this.#words;
    for (let i = 0; i < 5; i++) {
      const x = w[id * 5 + i];
      out[at + i * 4] = x & 0xff;
      out[at + i * 4 + 1] = (x >>> 8) & 0xff;
      out[at + i * 4 + 2] = (x >>> 16) & 0xff;
      out[at + i * 4 + 3] = x >>> 24;
    }
  }

  /**
   * Bytes 4i..4i+3 of a live id's info hash as one big-endian unsigned number: comparing these for i = 0..4
   * compares the hashes bytewise (the access list keeps its listing sorted so).
   */
  sortWord(id: number, i: number): number {
    const x = this.#words[id * 5 + i];
    return (((x & 0xff) << 24) | (((x >>> 8) & 0xff) << 16) | (((x >>> 16) & 0xff) << 8) | (x >>> 24)) >>> 0;
  }

  #hashOf(id: number): number {
    const w = this.#words;
    const o = id * 5;
    return this.#hash(w[o], w[o + 1], w[o + 2], w[o + 3], w[o + 4]);
  }

  /** Multiply-rotate mixing of the five words with the two secret seeds folded in at both ends. */
  #hash(a: number, b: number, c: number, d: number, e: number): number {
    let h = this.#seed0;
    h = mix(h, a ^ this.#seed1);
    h = mix(h, b);
    h = mix(h, c);
    h = mix(h, d);
    return finish(mix(h, e ^ this.#seed1));
  }

  #slotOf(id: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let s = this.#hashOf(id) & mask; ; s = (s + 1) & mask) {
      if (slots[s] === id + 1) return s;
      if (slots[s] === 0) throw new Error("torrent table out of sync"); // a bug, not bad input
    }
  }

  #place(id: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = this.#hashOf(id) & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = id + 1;
  }

  /** Moves every placed id to a table of `size` slots. */
  #rehash(size: number): void {
    const old = this.#slots;
    this.#slots = new Int32Array(size);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.#place(old[i] - 1);
  }

  #growIds(atLeast = 0): void {
    // Within the reserved room, grow at most up to it: past it the arrays are copied, and a step from 80% of
    // the room to 125% copied a million-entry table (60 ms) that the room would have held.
    let capacity = Math.ceil(this.capacity * 1.25);
    if (this.capacity < this.#reserved) capacity = Math.min(capacity, this.#reserved);
    capacity = Math.max(atLeast, capacity);
    const room = Math.max(capacity, this.#reserved);
    this.#words = grown(this.#words, capacity * 5, room * 5);
    this.#onGrow(capacity, room);
  }
}

function word(key: string, at: number): number {
  return (
    (key.charCodeAt(at) |
      (key.charCodeAt(at + 1) << 8) |
      (key.charCodeAt(at + 2) << 16) |
      (key.charCodeAt(at + 3) << 24)) >>>
    0
  );
}

function wordAt(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
