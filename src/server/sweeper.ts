// Peer expiry: each tick sweeps the next slice of torrent ids, sized so a whole pass over the store takes
// PASS_MS. A big store gets bigger slices, never a pause of the whole store. A tick runs behind the fault
// boundary: a throw from the store is logged and counted, and the next tick goes on with the next slice.

import type { Store } from "../core/store.ts";
import type { Faults } from "./faults.ts";
import type { Logger } from "./logger.ts";

/** One full expiry pass over all torrents takes about this long, a slice of ids every TICK_MS. */
const PASS_MS = 60_000;
const TICK_MS = 100;
const MIN_SLICE_IDS = 256;

/** Expiry sweep timing, for /metrics. */
export class SweepStats {
  runs = 0;
  seconds = 0;
  lastSeconds = 0;
  peersExpired = 0;
  torrentsDropped = 0;
}

export class Sweeper {
  readonly stats = new SweepStats();
  readonly #store: Store;
  readonly #log: Logger;
  readonly #now: () => number;
  #nextId = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(store: Store, log: Logger, now: () => number) {
    this.#store = store;
    this.#log = log;
    this.#now = now;
  }

  start(faults: Faults): void {
    this.#timer ??= faults.every("sweep", TICK_MS, () => this.tick());
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sweeps the next slice of ids (the timer calls it; tests may too). */
  tick(): void {
    const store = this.#store;
    const started = performance.now();
    const from = this.#nextId >= store.idLimit ? 0 : this.#nextId;
    const to = from + Math.max(MIN_SLICE_IDS, Math.ceil((store.idLimit * TICK_MS) / PASS_MS));
    this.#nextId = to; // first: a slice that throws is skipped, not retried forever
    const r = store.sweepIds(from, to, this.#now());
    const seconds = (performance.now() - started) / 1000;
    const s = this.stats;
    s.runs++;
    s.seconds += seconds;
    s.lastSeconds = seconds;
    s.peersExpired += r.peersRemoved;
    s.torrentsDropped += r.torrentsRemoved;
    if (r.peersRemoved > 0 || r.torrentsRemoved > 0) {
      this.#log.debug("expired", { ids: `${from}-${to}`, ...r, ms: +(seconds * 1000).toFixed(2) });
    }
  }
}
