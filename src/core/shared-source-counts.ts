// SourceCounts (source-quota.ts) in shared memory, so that the stores of several threads (--workers) bound
// each source's peers together: a source's peers spread over every thread's store, by info hash.
//
// An open-addressing table (linear probing) of (key, count) in a growable SharedArrayBuffer, made once in
// the main thread (`SharedSourceCounts.memory`) and posted to every thread. Every operation holds the
// table's one lock (shared-lock.ts): they are a few probes long and run only when a peer record is made or
// goes, never on a re-announce. `tryAdd` checks and counts under one hold, so concurrent stores cannot take a
// source past its share between a check and a count. A count dropping to 0 frees its slot at once by backward
// shift (no tombstones to pile up), so the table holds only sources with peers: at most --max-peers of them,
// kept at most half full; it starts small and doubles in place within the room `memory` reserved (address
// space, not memory, until used).

import { finish, mix } from "./probe-table.ts";
import { lock, unlock } from "./shared-lock.ts";
import type { SourceCounter } from "./source-quota.ts";

// Header Int32s.
const LOCK = 0;
/** Slots in the table (a power of two). */
const SLOTS = 1;
/** Sources with peers. */
const SIZE = 2;
const SEED = 3;
const HEADER = 8;
/** Int32s per slot: the key's high and low 32 bits (keys are below 2^49), its count (0: empty slot). */
const SLOT = 3;
const MIN_SLOTS = 4096;
/** Most slots room is reserved for (67M sources, 1.6 GB of address space). */
const MAX_SLOTS = 1 << 27;
/**
 * Milliseconds to wait for the lock (a table doubling holds it for a while) before doing without: only a
 * worker terminated while holding it keeps it that long, and skipping the operation then lets a count drift
 * by one rather than hang every thread.
 */
const LOCK_PATIENCE_MS = 5000;

const bytesFor = (slots: number) => (HEADER + slots * SLOT) * 4;

export class SharedSourceCounts implements SourceCounter {
  readonly #memory: SharedArrayBuffer;
  /** The whole memory; tracks its length as any thread grows it. */
  readonly #a: Int32Array;
  readonly #seed: number;

  /**
   * Memory for the sources of stores holding at most `maxPeers` peers together (each source counted holds
   * one at least); `seed` keys the slot hash (random: sources must not be able to aim at one probe chain).
   */
  static memory(maxPeers: number, seed: number): SharedArrayBuffer {
    let max = MIN_SLOTS;
    while (max < 2 * maxPeers && max < MAX_SLOTS) max *= 2;
    const memory = new SharedArrayBuffer(bytesFor(MIN_SLOTS), { maxByteLength: bytesFor(max) });
    const a = new Int32Array(memory);
    a[SLOTS] = MIN_SLOTS;
    a[SEED] = seed;
    return memory;
  }

  constructor(memory: SharedArrayBuffer) {
    if (!memory.growable || memory.byteLength < bytesFor(MIN_SLOTS)) {
      throw new RangeError("not the memory of SharedSourceCounts.memory()");
    }
    this.#memory = memory;
    this.#a = new Int32Array(memory);
    this.#seed = this.#a[SEED];
  }

  get size(): number {
    return Atomics.load(this.#a, SIZE);
  }

  get(key: number): number {
    if (key < 0 || !lock(this.#a, LOCK, LOCK_PATIENCE_MS)) return 0;
    try {
      return this.#a[this.#slotOf(key) + 2];
    } finally {
      unlock(this.#a, LOCK);
    }
  }

  add(key: number): void {
    this.tryAdd(key, Infinity);
  }

  tryAdd(key: number, limit: number): boolean {
    if (key < 0 || !lock(this.#a, LOCK, LOCK_PATIENCE_MS)) return true; // (uncounted: see LOCK_PATIENCE_MS)
    try {
      const a = this.#a;
      let o = this.#slotOf(key);
      const n = a[o + 2];
      if (n >= limit) return false;
      if (n === 0) {
        // A new source: keep the table at most half full (it cannot fill past --max-peers sources).
        if ((a[SIZE] + 1) * 2 > a[SLOTS]) {
          if (!this.#grow() && a[SIZE] + 1 >= a[SLOTS]) return true; // full: left uncounted, never reached
          o = this.#slotOf(key);
        }
        a[o] = Math.floor(key / 2 ** 32);
        a[o + 1] = key | 0;
        a[SIZE]++;
      }
      a[o + 2] = n + 1;
      return true;
    } finally {
      unlock(this.#a, LOCK);
    }
  }

  remove(key: number): void {
    if (key < 0 || !lock(this.#a, LOCK, LOCK_PATIENCE_MS)) return;
    try {
      const a = this.#a;
      const o = this.#slotOf(key);
      const n = a[o + 2];
      if (n > 1) a[o + 2] = n - 1;
      else if (n === 1) {
        this.#free(o);
        a[SIZE]--;
      }
    } finally {
      unlock(this.#a, LOCK);
    }
  }

  /** The offset of `key`'s slot, or of the empty slot where it would go. */
  #slotOf(key: number): number {
    const a = this.#a;
    const hi = Math.floor(key / 2 ** 32);
    const lo = key | 0;
    const mask = a[SLOTS] - 1;
    for (let s = this.#hash(hi, lo) & mask; ; s = (s + 1) & mask) {
      const o = HEADER + s * SLOT;
      if (a[o + 2] === 0 || (a[o] === hi && a[o + 1] === lo)) return o;
    }
  }

  #hash(hi: number, lo: number): number {
    return finish(mix(mix(this.#seed, lo), hi));
  }

  /** Empties the slot at offset `o`, moving later entries of its chain back (see probe-table.ts deleteSlot). */
  #free(o: number): void {
    const a = this.#a;
    const mask = a[SLOTS] - 1;
    let hole = (o - HEADER) / SLOT;
    a[o + 2] = 0;
    for (let j = (hole + 1) & mask; a[HEADER + j * SLOT + 2] !== 0; j = (j + 1) & mask) {
      const oj = HEADER + j * SLOT;
      const home = this.#hash(a[oj], a[oj + 1]) & mask;
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        const oh = HEADER + hole * SLOT;
        a[oh] = a[oj];
        a[oh + 1] = a[oj + 1];
        a[oh + 2] = a[oj + 2];
        a[oj + 2] = 0;
        hole = j;
      }
    }
  }

  /** Doubles the table in place (under the lock); false when the reserved room is used up. */
  #grow(): boolean {
    const a = this.#a;
    const slots = a[SLOTS];
    const bytes = bytesFor(slots * 2);
    if (bytes > this.#memory.maxByteLength) return false;
    const old = a.slice(HEADER, HEADER + slots * SLOT);
    this.#memory.grow(bytes);
    a.fill(0, HEADER);
    a[SLOTS] = slots * 2;
    for (let o = 0; o < old.length; o += SLOT) {
      if (old[o + 2] === 0) continue;
      const to = this.#slotOf(old[o] * 2 ** 32 + (old[o + 1] >>> 0));
      a[to] = old[o];
      a[to + 1] = old[o + 1];
      a[to + 2] = old[o + 2];
    }
    return true;
  }
}
