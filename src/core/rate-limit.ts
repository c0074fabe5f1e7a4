// Per-address request budgets (token buckets) in fixed memory, whatever the number of sources.
//
// Keys are an IPv4 address or an IPv6 /64 (one subscriber usually owns a whole /64, so limiting single
// IPv6 addresses would limit nothing). Buckets live in two fixed tables indexed by two independent hashes
// of the key, so spoofed sources cannot grow memory. A request is allowed when either of its two buckets
// has a token, and takes one from each that has: an abuser drains both of its own buckets and is held back,
// while an innocent client sharing one bucket with it still has its other, full one.
// Pure: the caller passes the time in.

export interface RateLimitOptions {
  /** Sustained requests per second per key; 0 turns limiting off. */
  perSecond: number;
  /** Bucket size: requests allowed in a burst. */
  burst: number;
  /** Buckets per table (rounded up to a power of two; default 2^18). Memory: 2 tables x slots x 8 bytes. */
  slots?: number;
  /** Hash seed (random per process, so nobody can aim collisions at a victim). */
  seed: number;
}

export class RateLimiter {
  readonly perSecond: number;
  readonly burst: number;
  readonly #mask: number;
  readonly #tokens: Float32Array; // both tables, back to back
  readonly #stamp: Uint32Array; // last refill time (whole unix seconds) per bucket
  readonly #seed: number;
  /** Requests refused since start. */
  refused = 0;

  constructor(o: RateLimitOptions) {
    this.perSecond = o.perSecond;
    this.burst = Math.max(1, o.burst);
    let slots = 1024;
    while (slots < (o.slots ?? 1 << 18)) slots *= 2;
    this.#mask = slots - 1;
    this.#tokens = new Float32Array(2 * slots).fill(this.burst);
    this.#stamp = new Uint32Array(2 * slots);
    this.#seed = o.seed | 0;
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
    const a = this.#take(h1, now);
    const b = this.#take(h2, now);
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
    this.#stamp[i] = now;
    const t = Math.min(this.burst, this.#tokens[i] + Math.max(0, elapsed) * this.perSecond);
    if (t >= 1) {
      this.#tokens[i] = t - 1;
      return true;
    }
    this.#tokens[i] = t;
    return false;
  }
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
