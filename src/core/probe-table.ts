// Shared by the two open-addressing tables (torrent-table.ts, peer-lists.ts): both store value + 1 in an
// Int32Array with linear probing, 0 meaning empty.

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
