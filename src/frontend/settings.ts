// What the front ends need to know to answer announces, derived once from Config.

import { type IntervalController, jittered } from "../core/adaptive-interval.ts";
import { EVENT_STOPPED } from "../core/announce.ts";
import type { Random } from "../core/select.ts";

export interface AnnounceSettings {
  /** The `interval` of each reply. */
  interval: IntervalSource;
  minIntervalS: number;
  defaultNumWant: number;
  maxNumWant: number;
}

/**
 * The interval replies carry: the interval controller's (fixed, or moved by the load: see
 * server/interval-control.ts) with a small random jitter per reply, so clients that started together do not
 * keep announcing together.
 */
export class IntervalSource {
  readonly #base: IntervalController;
  readonly #lo: number;
  readonly #hi: number;
  readonly #random: Random;

  /** Jittered values stay within [lo, hi] (for HTTP and UDP: the min interval and the peer timeout). */
  constructor(base: IntervalController, lo: number, hi: number, random: Random) {
    this.#base = base;
    this.#lo = lo;
    this.#hi = hi;
    this.#random = random;
  }

  /** The interval before jitter, whole seconds. */
  get baseS(): number {
    return Math.round(this.#base.intervalS);
  }

  /** The interval for one reply, whole seconds. */
  next(): number {
    return jittered(this.#base.intervalS, this.#random, this.#lo, this.#hi);
  }
}

/** How many peers to return: a negative or missing ask means the default; `stopped` gets none. */
export function resolveNumWant(asked: number | null, event: number, s: AnnounceSettings, cap: number): number {
  if (event === EVENT_STOPPED) return 0;
  const n = asked === null || asked < 0 ? s.defaultNumWant : asked;
  return Math.min(n, s.maxNumWant, cap);
}
