// Shared by the two open-addressing tables (torrent-table.ts, peer-lists.ts): both store value + 1 in an
// Int32Array with linear probing, 0 meaning empty, and hash their keys with MurmurHash3-style mixing.

/** Folds the 32-bit word `k` into the running hash `h`. */
export function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Spreads every input bit over the result (the final avalanche), as an unsigned 32-bit number. */
export function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Empties slot `hole` and keeps every probe chain unbroken without tombstones: later entries of the chain
 * move back into the hole unless their home slot (`homeOf(value)`, already masked) lies cyclically in
 * (hole, j].
 */
export function deleteSlot(slots: Int32Array, hole: number, homeOf: (value: number) => number): void {
  const mask = slots.length - 1;
  slots[hole] = 0;
  for (let j = (hole + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
    const home = homeOf(slots[j]);
    const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (!inRange) {
      slots[hole] = slots[j];
      slots[j] = 0;
      hole = j;
    }
  }
}
