// Per-address request budgets (token buckets) in fixed memory, whatever the number of sources.
//
// Keys are an IPv4 address or an IPv6 /64 (one subscriber usually owns a whole /64, so limiting single
// IPv6 addresses would limit nothing). Buckets live in two fixed tables indexed by two independent hashes
// of the key, so spoofed sources cannot grow memory. A request is allowed when either of its two buckets
// has a token, and takes one from each that has: an abuser drains both of its own buckets and is held back,
// while an innocent client sharing one bucket with it still has its other, full one.
// Pure: the caller passes the time in.
//
// Threads (--workers) share one budget per source by building their limiters over the same memory
// (`RateLimiter.sharedMemory`, made once and posted to every thread) with the same options. A shared request
// holds the locks of its two buckets (shared-lock.ts; taken in index order, so two requests never wait on
// each other in a cycle) while it refills and takes: the two buckets of a source then stay in step as they do
// in one thread, where lock-free updates let them drift apart and let through up to twice the budget. A
// limiter of its own takes no lock (a branch on a constant field is all the sharing costs it).

import { lock, unlock } from "./shared-lock.ts";

export interface RateLimitOptions {
  /** Sustained requests per second per key; 0 turns limiting off. */
  perSecond: number;
  /** Bucket size: requests allowed in a burst. */
  burst: number;
  /** Buckets per table (rounded up to a power of two; default 2^18). Memory: 2 x slots x 8 bytes (shared: 12). */
  slots?: number;
  /** Hash seed (random per process, so nobody can aim collisions at a victim; the same in threads sharing). */
  seed: number;
  /**
   * Memory from `RateLimiter.sharedMemory(options)`: limiters over the same memory (and with the same options,
   * which it records and checks) share every bucket.
   */
  shared?: SharedArrayBuffer;
}

/** Bytes per bucket in shared memory: Float32 tokens, Uint32 stamp, Int32 lock. */
const SHARED_BUCKET_BYTES = 12;
/** After the buckets: the options the memory was made for (perSecond, burst, seed), as Float64s. */
const SHARED_OPTIONS = 3;
const sharedBytes = (slots: number) => 2 * slots * SHARED_BUCKET_BYTES + SHARED_OPTIONS * 8;
/**
 * Milliseconds a thread waits for a bucket lock before going on without it: a worker terminated while holding
 * one costs a possibly lost update, never a hang.
 */
const LOCK_PATIENCE_MS = 50;
/**
 * Seconds a clock may lag behind a bucket's stamp and be taken for a thread's clock a moment behind another's
 * (the stamp stays, or that second would be earned twice); further back, the clock was set back, and the
 * stamp follows it (or the bucket would earn nothing until the clock caught up again).
 */
const MAX_SKEW_S = 2;

export class RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  readonly #mask: number;
  readonly #tokens: Float32Array; // both tables, back to back
  readonly #stamp: Uint32Array; // last refill time (whole unix seconds) per bucket
  readonly #seed: number;
  /** Shared memory only: each bucket's lock (shared-lock.ts). */
  readonly #locks: Int32Array | null = null;
  /** Requests refused since start (by this thread). */
  refused = 0;

  /**
   * Memory for limiters shared by threads, made for `options` as every thread will pass them: it is sized by
   * `slots`, filled to `burst`, and records the rest (a limiter given other options over it throws).
   */
  static sharedMemory(o: Omit<RateLimitOptions, "shared">): SharedArrayBuffer {
    const slots = tableSize(o.slots);
    const memory = new SharedArrayBuffer(sharedBytes(slots));
    new Float32Array(memory, 0, 2 * slots).fill(Math.max(1, o.burst));
    new Float64Array(memory, 24 * slots, SHARED_OPTIONS).set([o.perSecond, o.burst, o.seed | 0]);
    return memory;
  }

  constructor(o: RateLimitOptions) {
    this.perSecond = o.perSecond;
    this.burst = Math.max(1, o.burst);
    const slots = tableSize(o.slots);
    this.#mask = slots - 1;
    this.#seed = o.seed | 0;
    const memory = o.shared;
    if (memory === undefined) {
      this.#tokens = new Float32Array(2 * slots).fill(this.burst);
      this.#stamp = new Uint32Array(2 * slots);
      return;
    }
    const made = memory.byteLength === sharedBytes(slots) ? new Float64Array(memory, 24 * slots, SHARED_OPTIONS) : [];
    if (made[0] !== o.perSecond || made[1] !== o.burst || made[2] !== this.#seed) {
      throw new RangeError("the shared memory was made for other rate limit options");
    }
    this.#tokens = new Float32Array(memory, 0, 2 * slots);
    this.#stamp = new Uint32Array(memory, 8 * slots, 2 * slots);
    this.#locks = new Int32Array(memory, 16 * slots, 2 * slots);
  }

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes a token for the source ip[0..len) at time `now` (whole unix seconds). */
  allow(ip: Uint8Array, len: 4 | 16, now: number): boolean {
    if (this.perSecond <= 0) return true;
    const keyLen = len === 4 ? 4 : 8; // IPv6: the /64 prefix
    const h1 = mix(ip, keyLen, this.#seed) & this.#mask;
    const h2 = (mix(ip, keyLen, this.#seed ^ 0x5bd1e995) & this.#mask) + this.#mask + 1;
    let a: boolean;
    let b: boolean;
    if (this.#locks === null) {
      a = this.#take(h1, now);
      b = this.#take(h2, now);
    } else {
      const locks = this.#locks;
      const locked1 = lock(locks, h1, LOCK_PATIENCE_MS); // h1 < h2 always: the first table's index is the lower
      const locked2 = lock(locks, h2, LOCK_PATIENCE_MS);
      a = this.#take(h1, now);
      b = this.#take(h2, now);
      if (locked2) unlock(locks, h2);
      if (locked1) unlock(locks, h1);
    }
    if (a || b) return true;
    this.refused++;
    return false;
  }

  /**
   * Seconds until the source ip[0..len) has a token again: 0 when it has one now. Takes nothing (a caller
   * that charges only some requests, such as failed logins, asks first and calls `allow` to charge).
   */
  wait(ip: Uint8Array, len: 4 | 16, now: number): number {
    if (this.perSecond <= 0) return 0;
    const keyLen = len === 4 ? 4 : 8;
    const h1 = mix(ip, keyLen, this.#seed) & this.#mask;
    const h2 = (mix(ip, keyLen, this.#seed ^ 0x5bd1e995) & this.#mask) + this.#mask + 1;
    const t = Math.max(this.#refilled(h1, now), this.#refilled(h2, now));
    return t >= 1 ? 0 : Math.ceil((1 - t) / this.perSecond - 1e-3); // (tokens are float32)
  }

  #refilled(i: number, now: number): number {
    return Math.min(this.burst, this.#tokens[i] + Math.max(0, now - this.#stamp[i]) * this.perSecond);
  }

  #take(i: number, now: number): boolean {
    const elapsed = now - this.#stamp[i];
    if (elapsed > 0 || elapsed < -MAX_SKEW_S) this.#stamp[i] = now;
    const t = Math.min(this.burst, this.#tokens[i] + Math.max(0, elapsed) * this.perSecond);
    if (t >= 1) {
      this.#tokens[i] = t - 1;
      return true;
    }
    this.#tokens[i] = t;
    return false;
  }
}

/** Buckets per table: `slots` rounded up to a power of two, at least 1024 (default 2^18). */
function tableSize(slots = 1 << 18): number {
  let n = 1024;
  while (n < slots) n *= 2;
  return n;
}

function mix(b: Uint8Array, len: number, seed: number): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < len; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}
