// A small hash table in a SharedArrayBuffer that every thread of the tracker reads and writes under one lock:
// for facts that must hold across threads but change rarely (a WebSocket connection opening or closing, a
// peer id taken or freed; see ws-claims.ts), never on the announce path. The lock is a word taken with
// compareExchange and spun on: it is held for a few probes only. It names its holder (thread + 1), so that a
// thread started again after its predecessor died holding it takes it over at once; any other thread takes it
// over after STALE_LOCK_MS (a holder cannot be inside that long unless it is gone).
//
// Layout (Int32 words): lock, entries, seed, spare; then `slots` slots of one value word and `keyWords` key
// words. A value of 0 marks an empty slot, so stored values are never 0. Open addressing with linear probing;
// removal shifts the rest of the cluster back (no tombstones), so the table never needs rebuilding. The hash
// is seeded at random when the memory is made: clients pick the keys (peer ids), not where they land.

const LOCK = 0;
const ENTRIES = 1;
const SEED = 2;
const HEADER = 4;
const STALE_LOCK_MS = 1000;
/** Past this share of slots in use an insert is refused, so that probes stay short. */
const MAX_LOAD = 0.75;

export class SharedTable {
  /** The key of the next operation: fill it, then call find/get/set/remove. */
  readonly key: Int32Array;
  readonly #w: Int32Array;
  readonly #keyWords: number;
  readonly #stride: number;
  readonly #slots: number;
  readonly #mask: number;
  readonly #seed: number;
  /** What the lock word holds while this thread has it. */
  readonly #holder: number;

  /** `slots`: a power of two. */
  static memory(slots: number, keyWords: number): SharedArrayBuffer {
    if ((slots & (slots - 1)) !== 0) throw new RangeError("shared table slots: a power of two");
    const memory = new SharedArrayBuffer(4 * (HEADER + slots * (1 + keyWords)));
    new Int32Array(memory)[SEED] = crypto.getRandomValues(new Int32Array(1))[0];
    return memory;
  }

  /** `thread`: this thread's number (see the lock). */
  constructor(memory: SharedArrayBuffer, keyWords: number, thread: number) {
    this.#holder = thread + 1;
    this.#w = new Int32Array(memory);
    this.#keyWords = keyWords;
    this.#stride = 1 + keyWords;
    this.#slots = (this.#w.length - HEADER) / this.#stride;
    this.#mask = this.#slots - 1;
    this.#seed = this.#w[SEED];
    this.key = new Int32Array(keyWords);
  }

  /** Runs `fn` holding the table's lock (every other method must be called inside). */
  locked<T>(fn: () => T): T {
    const w = this.#w;
    const me = this.#holder;
    let since = 0;
    for (let spins = 1; ; spins++) {
      const holder = Atomics.compareExchange(w, LOCK, 0, me);
      if (holder === 0) break;
      // Spin: the holder is another thread doing a few probes; unless it is gone (see the header).
      if (holder !== me && (spins & 1023) !== 0) continue;
      const now = Date.now();
      if (since === 0) since = now;
      if (holder !== me && now - since < STALE_LOCK_MS) continue;
      if (Atomics.compareExchange(w, LOCK, holder, me) === holder) break;
    }
    try {
      return fn();
    } finally {
      Atomics.store(w, LOCK, 0);
    }
  }

  /** Entries stored. */
  get size(): number {
    return Atomics.load(this.#w, ENTRIES);
  }

  /** The value stored under `key`, or 0. */
  get(): number {
    const at = this.#find();
    return at < 0 ? 0 : this.#w[at];
  }

  /** Stores `value` (non-zero) under `key`; false when the table is too full for a new key. */
  set(value: number): boolean {
    const w = this.#w;
    let at = this.#find();
    if (at < 0) {
      if (w[ENTRIES] + 1 > this.#slots * MAX_LOAD) return false;
      at = this.#empty();
      for (let i = 0; i < this.#keyWords; i++) w[at + 1 + i] = this.key[i];
      w[ENTRIES]++;
    }
    w[at] = value;
    return true;
  }

  /** Removes `key` (if there). */
  remove(): void {
    const at = this.#find();
    if (at >= 0) this.#removeAt((at - HEADER) / this.#stride);
  }

  /** Removes every entry `drop` picks (it sees the value and the key words at w[at + 1 ..]). */
  purge(drop: (value: number, w: Int32Array, at: number) => boolean): void {
    const w = this.#w;
    for (let slot = 0; slot < this.#slots; ) {
      const at = HEADER + slot * this.#stride;
      if (w[at] !== 0 && drop(w[at], w, at + 1)) this.#removeAt(slot);
      else slot++; // (after a removal the slot holds what shifted back into it: look again)
    }
  }

  #home(k: Int32Array): number {
    let h = this.#seed;
    for (let i = 0; i < k.length; i++) {
      h = Math.imul(h ^ k[i], 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
    return (h ^ (h >>> 16)) & this.#mask;
  }

  /** The slot word offset of `key`, or -1. */
  #find(): number {
    const w = this.#w;
    const k = this.key;
    for (let slot = this.#home(k); ; slot = (slot + 1) & this.#mask) {
      const at = HEADER + slot * this.#stride;
      if (w[at] === 0) return -1;
      let i = 0;
      while (i < k.length && w[at + 1 + i] === k[i]) i++;
      if (i === k.length) return at;
    }
  }

  /** The first empty slot from `key`'s home (the table is never full: see MAX_LOAD). */
  #empty(): number {
    for (let slot = this.#home(this.key); ; slot = (slot + 1) & this.#mask) {
      const at = HEADER + slot * this.#stride;
      if (this.#w[at] === 0) return at;
    }
  }

  /** Empties `slot` and moves back the entries after it that would no longer be found. */
  #removeAt(slot: number): void {
    const w = this.#w;
    const stride = this.#stride;
    const k = new Int32Array(this.#keyWords);
    let hole = slot;
    for (let next = (slot + 1) & this.#mask; ; next = (next + 1) & this.#mask) {
      const at = HEADER + next * stride;
      if (w[at] === 0) break;
      for (let i = 0; i < k.length; i++) k[i] = w[at + 1 + i];
      const home = this.#home(k);
      // The entry stays unless its home is cyclically outside (hole, next].
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (stays) continue;
      w.copyWithin(HEADER + hole * stride, at, at + stride);
      hole = next;
    }
    w.fill(0, HEADER + hole * stride, HEADER + (hole + 1) * stride);
    w[ENTRIES]--;
  }
}
