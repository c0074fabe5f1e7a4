// A set of info hashes for lists that run to millions (public trackers keep DMCA deny lists of 1M+ lines):
// the hashes sit packed in a TorrentTable (20 bytes each plus 8-16 bytes of slots) instead of a Set of
// 20-char strings (100+ bytes each), and lookups work from a key string or straight from packet bytes. A
// sorted order of the ids (4 bytes each) serves the admin API's paged listing without sorting per request;
// it is built once per load, by a radix pass on the first two bytes, and kept up to date by single edits.

import { type FrozenTable, TorrentTable } from "./torrent-table.ts";

/** Units of work between yields of the step generators: callers run them a few milliseconds at a time. */
const STEP = 1024;

export class HashList {
  readonly #table: TorrentTable;
  /** Live ids in bytewise order of their hashes; valid in [0, size) once `sortSteps` has run. */
  #sorted = new Int32Array(0);
  /**
   * A list over another thread's frozen table (fromShared): the hashes added and removed since, in small tables
   * of their own (so a lookup from packet bytes still makes no string). Null for a list of its own.
   */
  readonly #edits: { added: TorrentTable; removed: TorrentTable } | null;

  /** `seed0`, `seed1`: secret hash seeds (see TorrentTable); `expected`: entries to reserve room for. */
  constructor(seed0: number, seed1: number, expected = 0, shared: FrozenTable | null = null) {
    this.#table =
      shared === null ? new TorrentTable(seed0, seed1, () => {}, expected, expected) : TorrentTable.frozen(shared);
    this.#edits =
      shared === null
        ? null
        : {
            added: new TorrentTable(shared.seed0, shared.seed1, () => {}),
            removed: new TorrentTable(shared.seed0, shared.seed1, () => {}),
          };
  }

  /**
   * --workers: one copy of a big list for every thread. The lookup arrays go to shared memory once; the other
   * threads make a list over them (fromShared) and keep their later edits beside it (see add and delete).
   */
  share(): FrozenTable {
    return this.#table.freeze();
  }

  /** A list over a shared copy: lookups read it; add and delete are kept here; no sorted order (no listing). */
  static fromShared(shared: FrozenTable): HashList {
    return new HashList(0, 0, 0, shared);
  }

  get size(): number {
    const e = this.#edits;
    return e === null ? this.#table.size : this.#table.size + e.added.size - e.removed.size;
  }

  has(key: string): boolean {
    const e = this.#edits;
    if (e === null || e.added.size + e.removed.size === 0) return this.#table.find(key) >= 0;
    if (e.removed.find(key) >= 0) return false;
    return e.added.find(key) >= 0 || this.#table.find(key) >= 0;
  }

  hasBytes(b: Uint8Array, off: number): boolean {
    const e = this.#edits;
    if (e === null || e.added.size + e.removed.size === 0) return this.#table.findBytes(b, off) >= 0;
    if (e.removed.findBytes(b, off) >= 0) return false;
    return e.added.findBytes(b, off) >= 0 || this.#table.findBytes(b, off) >= 0;
  }

  /** Loading: adds the hash at b[off, off + 20) unless present, without keeping the order (see sortSteps). */
  addUnsorted(b: Uint8Array, off: number): void {
    if (this.#table.findBytes(b, off) < 0) this.#table.insertBytes(b, off);
  }

  /** Builds the sorted order after the `addUnsorted` calls of a load, yielding every few thousand steps. */
  *sortSteps(): Generator<void, void> {
    const t = this.#table;
    const n = t.size; // ids 0..n-1: a load only ever inserts
    const ends = new Int32Array(65536); // per 2-byte prefix: first its count, then where its bucket ends
    for (let id = 0; id < n; id++) {
      ends[t.sortWord(id, 0) >>> 16]++;
      if ((id & (STEP * 4 - 1)) === 0) yield;
    }
    for (let b = 0, sum = 0; b < 65536; b++) {
      const c = ends[b];
      ends[b] = sum; // now: where the bucket starts; the placing below moves it to where it ends
      sum += c;
    }
    const sorted = new Int32Array(n);
    for (let id = 0; id < n; id++) {
      sorted[ends[t.sortWord(id, 0) >>> 16]++] = id;
      if ((id & (STEP * 4 - 1)) === 0) yield;
    }
    // Each bucket holds n / 65536 ids on average: an insertion sort each.
    for (let b = 0, start = 0; b < 65536; start = ends[b], b++) {
      for (let i = start + 1; i < ends[b]; i++) {
        const id = sorted[i];
        let j = i - 1;
        while (j >= start && this.#compare(sorted[j], id) > 0) {
          sorted[j + 1] = sorted[j];
          j--;
        }
        sorted[j + 1] = id;
      }
      if ((b & 63) === 0) yield;
    }
    this.#sorted = sorted;
  }

  /** Adds `key` (20 latin1 chars) in place, order kept. False if it was there already. */
  add(key: string): boolean {
    if (this.#edits !== null) return this.#edit(key, true);
    if (this.#table.find(key) >= 0) return false;
    const id = this.#table.insert(key);
    const n = this.#table.size - 1; // sorted entries before this one
    if (this.#sorted.length === n) {
      const next = new Int32Array(Math.max(16, Math.ceil(n * 1.25)));
      next.set(this.#sorted);
      this.#sorted = next;
    }
    const at = this.#position(id, n);
    this.#sorted.copyWithin(at + 1, at, n);
    this.#sorted[at] = id;
    return true;
  }

  /** Removes `key` in place, order kept. False if it was not there. */
  delete(key: string): boolean {
    if (this.#edits !== null) return this.#edit(key, false);
    const id = this.#table.find(key);
    if (id < 0) return false;
    const n = this.#table.size;
    const at = this.#position(id, n);
    this.#sorted.copyWithin(at, at + 1, n);
    this.#table.remove(id);
    return true;
  }

  /** An edit of a list over a shared table: undoes the opposite edit, or records this one. */
  #edit(key: string, listed: boolean): boolean {
    if (this.has(key) === listed) return false;
    const { added, removed } = this.#edits!;
    const [undo, record] = listed ? [removed, added] : [added, removed];
    const id = undo.find(key);
    if (id >= 0) undo.remove(id);
    else record.insert(key);
    return true;
  }

  /** The i-th hash in sorted order (0 <= i < size), as a key. */
  keyAt(i: number): string {
    return this.#table.keyOf(this.#sorted[i]);
  }

  /** Writes the i-th hash in sorted order to out[at, at + 20). */
  copyAt(i: number, out: Uint8Array, at: number): void {
    this.#table.copyKey(this.#sorted[i], out, at);
  }

  /** Where `id` goes (or is) among the first n sorted ids: binary search by its hash. */
  #position(id: number, n: number): number {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(this.#sorted[mid], id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #compare(a: number, b: number): number {
    const t = this.#table;
    for (let i = 0; i < 5; i++) {
      const x = t.sortWord(a, i);
      const y = t.sortWord(b, i);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }
}
