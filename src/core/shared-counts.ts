// Totals that several stores keep within one limit together: with --workers each thread has a store of its
// own (the info hashes it owns), and --max-peers and --max-torrents bound them all. The memory is made once
// (`SharedTotals.memory()`, in the main thread) and posted to every thread, which wraps it in a SharedTotals
// and passes that to its store. A store takes a unit before it adds a peer or a live torrent and gives it back
// whenever one goes, so the stores together never hold more than the limit: a take is a compare-and-swap
// that fails at the limit, never an add undone after the fact (which could refuse another thread for a
// moment below it).

/** Int32 slots, a cache line apart (threads taking peers do not slow those taking torrents). */
const PEERS = 0;
const TORRENTS = 16;
const BYTES = 128;

export class SharedTotals {
  readonly #counts: Int32Array;

  /** Memory for one set of totals shared by threads. */
  static memory(): SharedArrayBuffer {
    return new SharedArrayBuffer(BYTES);
  }

  constructor(memory: SharedArrayBuffer) {
    if (memory.byteLength !== BYTES) throw new RangeError("not the memory of SharedTotals.memory()");
    this.#counts = new Int32Array(memory);
  }

  /** Peers the stores hold. */
  get peers(): number {
    return Atomics.load(this.#counts, PEERS);
  }

  /** Live torrents the stores hold. */
  get torrents(): number {
    return Atomics.load(this.#counts, TORRENTS);
  }

  /** Takes room for one peer if the stores hold fewer than `limit`; false (nothing taken) if not. */
  takePeer(limit: number): boolean {
    return this.#take(PEERS, limit);
  }

  releasePeer(): void {
    Atomics.sub(this.#counts, PEERS, 1);
  }

  /** Takes room for one live torrent if the stores hold fewer than `limit`; false (nothing taken) if not. */
  takeTorrent(limit: number): boolean {
    return this.#take(TORRENTS, limit);
  }

  releaseTorrent(): void {
    Atomics.sub(this.#counts, TORRENTS, 1);
  }

  #take(slot: number, limit: number): boolean {
    const counts = this.#counts;
    for (let n = Atomics.load(counts, slot); n < limit; ) {
      const seen = Atomics.compareExchange(counts, slot, n, n + 1);
      if (seen === n) return true;
      n = seen;
    }
    return false;
  }
}
