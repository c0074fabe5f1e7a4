// How many stored peers each source holds, so one source cannot claim the whole store (README "Limits").
//
// A source is an IPv4 address or an IPv6 /48 (a subscriber gets a /48 to /64, and /64s come by the
// thousand: counting /64s would let one host take the store from many of them). Counts are exact: one up when
// a peer record is made, one down whenever one goes (stopped, expired, evicted, torrent dropped). A key is a
// plain number, so the map is keyed without making strings: an IPv6 /48 is its 48 bits, an IPv4 address is
// 2^48 above that (both below 2^53). Only sources with peers have an entry, so the map is bounded by the
// peers, and addresses cannot be spoofed on TCP or past the UDP connection id.

import { readU32 } from "./bytes.ts";

const V4_BASE = 2 ** 48;

/** The source key of the address at b[off, off + len) (len 4 or 16). */
export function sourceKeyAt(b: Uint8Array, off: number, len: number): number {
  if (len === 4) return V4_BASE + readU32(b, off);
  return ((b[off] << 8) | b[off + 1]) * 2 ** 32 + readU32(b, off + 2);
}

export class SourceCounts implements SourceCounter {
  readonly #counts = new Map<number, number>();

  /** Stored peers of source `key`. */
  get(key: number): number {
    return this.#counts.get(key) ?? 0;
  }

  tryAdd(key: number, limit: number): boolean {
    const n = this.#counts.get(key) ?? 0;
    if (n >= limit) return false;
    this.#counts.set(key, n + 1);
    return true;
  }

  add(key: number): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  remove(key: number): void {
    const n = this.#counts.get(key);
    if (n === undefined) return;
    if (n > 1) this.#counts.set(key, n - 1);
    else this.#counts.delete(key);
  }

  /** Sources holding peers. */
  get size(): number {
    return this.#counts.size;
  }
}

/** What a store counts its sources' peers with: SourceCounts alone, SharedSourceCounts with other stores. */
export interface SourceCounter {
  /** Stored peers of source `key`. */
  get(key: number): number;
  /** Counts one more peer of source `key` if it holds fewer than `limit`; false (nothing counted) if not. */
  tryAdd(key: number, limit: number): boolean;
  add(key: number): void;
  remove(key: number): void;
  /** Sources holding peers. */
  readonly size: number;
}
