// Which thread owns an info hash when the tracker runs several (--workers): each thread keeps the swarms of
// the hashes it owns, and the others hand it their requests for them (see server/workers). Info hashes are
// SHA-1 (or SHA-256) digests, so their bytes are already uniform: the last four, modulo the thread count.
// A crafted set of hashes can land on one thread, as a crowd on one torrent can: that costs the attacker the
// same requests it would cost anyway, and no more.

/** The owner of the 20 bytes at b[at, at + 20), among `count` threads. */
export function ownerAt(b: Uint8Array, at: number, count: number): number {
  return (((b[at + 16] << 24) | (b[at + 17] << 16) | (b[at + 18] << 8) | b[at + 19]) >>> 0) % count;
}

/** The same for an info hash held as a 20-character latin1 string (one character per byte). */
export function ownerOf(hash: string, count: number): number {
  const v =
    (hash.charCodeAt(16) << 24) | (hash.charCodeAt(17) << 16) | (hash.charCodeAt(18) << 8) | hash.charCodeAt(19);
  return (v >>> 0) % count;
}

/** A thread's place among the threads of one tracker; { self: 0, count: 1 } for a tracker of one thread. */
export interface Ownership {
  readonly self: number;
  readonly count: number;
}

export const SOLE_OWNER: Ownership = { self: 0, count: 1 };
