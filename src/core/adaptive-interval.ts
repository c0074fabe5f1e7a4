// The announce interval: fixed, or adapted to load so that clients announce less often when the tracker is
// busy, plus the per-reply jitter that keeps clients from announcing in lock-step.
//
// Adaptive mode, once per tick (the caller measures; this file only decides):
//   load    = max(rate / busyRate, lag / busyLagMs), capped at LOAD_CAP
//               1.0 means "fully busy" by either measure; lag catches overload the rate alone does not show
//               (a slower machine, a busy neighbour process, costly requests such as full scrapes).
//   smooth  = exponentially weighted moving average of load, time constant smoothingS (default maxS / 2),
//               weighted by the real time between ticks, so the tick rate does not change the behaviour.
//   target  = minS + (maxS - minS) * clamp((smooth - quietLoad) / (1 - quietLoad), 0, 1)
//               idle up to quietLoad (0.25), linear up to the high bound at load 1.
//   current follows target with hysteresis and a bounded speed:
//               at rest it moves only once target is more than deadBand (10% of the range) away; it then heads
//               for target at most (maxS - minS) / slewS per second (a full sweep takes at least 5 minutes),
//               keeps following it while it goes the same way, and comes to rest as soon as target turns
//               back past it. So noise smaller than the dead band never moves it, every movement is one-way,
//               and it never passes its target.
//
// Why the smoothing is that slow. The load answers a new interval only as clients come back for their next
// announce, one whole interval later, and unevenly: after a raise from 900 to 1800 s, every client that
// announces in the next 900 s is told to come back in 1800, so for 900 s almost nobody comes at all. A
// controller that averages over a minute reads that hole as "idle", drops the interval, causes a surge, and
// rings between the bounds for hours (simulated with 8,437 clients: period about 9 h, full swing, for a 60 s
// time constant). Averaging over half the high bound spans most of a client cycle: the same simulation then
// settles within 5 s of the mapping's equilibrium (1,355 s against 1,350) and stays there, for bounds 2:1 and
// 6:1 apart alike. Very wide bounds (30:1) still wander within about the dead band. Reacting in a quarter of
// an hour is still as fast as clients can follow. The dead band equals the jitter (±10%): a change smaller
// than the jitter is noise to clients. Loads above LOAD_CAP are cut to it, so that one long stall (a 10 s
// pause is load 100 by lag) cannot hold the interval up for long after it.
//
// Fixed mode is the configured interval, always. Jitter applies in both modes (see `jittered`).
// Pure: time, measurements and randomness come from the caller.

import type { Random } from "./select.ts";

export type IntervalMode = "fixed" | "adaptive";

/** Jitter and dead band, as a fraction: ±10% of the interval. */
export const JITTER_FRACTION = 0.1;
/** Load readings above this are cut to it before smoothing (see the header). */
export const LOAD_CAP = 2;

export interface AdaptiveIntervalOptions {
  /** Low bound, seconds: the interval of an idle tracker. */
  minS: number;
  /** High bound, seconds: the interval of a fully busy tracker. */
  maxS: number;
  /** Requests per second (announces and scrapes, all protocols) that count as fully busy (load 1). */
  busyRate: number;
  /** Event-loop lag, ms, that counts as fully busy (load 1). */
  busyLagMs: number;
  /** Load up to which the interval stays at minS. Default 0.25. */
  quietLoad?: number;
  /** Time constant of the load average, seconds. Default maxS / 2 (see the header). */
  smoothingS?: number;
  /** Shortest time the interval takes to cross the whole range, seconds. Default 300. */
  slewS?: number;
  /** The dead band, as a fraction of the range. Default JITTER_FRACTION. */
  deadBand?: number;
  /** Starting interval, seconds. Default minS (a fresh tracker is idle). */
  initialS?: number;
}

export class AdaptiveInterval {
  readonly mode: IntervalMode = "adaptive";
  readonly minS: number;
  readonly maxS: number;
  readonly #busyRate: number;
  readonly #busyLagMs: number;
  readonly #quietLoad: number;
  readonly #smoothingS: number;
  readonly #slewPerS: number;
  readonly #band: number;
  #current: number;
  #smooth = 0;
  #last: number;
  /** 0 at rest, +1 rising, -1 falling. */
  #moving = 0;

  constructor(o: AdaptiveIntervalOptions, now: number) {
    if (!(o.minS > 0 && o.maxS >= o.minS))
      throw new RangeError(`interval bounds must satisfy 0 < min <= max (got ${o.minS}, ${o.maxS})`);
    if (!(o.busyRate > 0 && o.busyLagMs > 0)) throw new RangeError("busyRate and busyLagMs must be positive");
    this.minS = o.minS;
    this.maxS = o.maxS;
    this.#busyRate = o.busyRate;
    this.#busyLagMs = o.busyLagMs;
    this.#quietLoad = Math.min(0.9, Math.max(0, o.quietLoad ?? 0.25));
    this.#smoothingS = Math.max(1e-3, o.smoothingS ?? o.maxS / 2);
    const range = o.maxS - o.minS;
    this.#slewPerS = range / Math.max(1e-3, o.slewS ?? 300);
    this.#band = range * (o.deadBand ?? JITTER_FRACTION);
    this.#current = clamp(o.initialS ?? o.minS, o.minS, o.maxS);
    this.#last = now;
  }

  /** The current base interval, seconds (not rounded, no jitter). */
  get intervalS(): number {
    return this.#current;
  }

  /** The smoothed load factor (1 = fully busy), for statistics. */
  get load(): number {
    return this.#smooth;
  }

  /**
   * One control step at time `now` (seconds), given the request rate (per second) and the event-loop lag (ms)
   * measured since the last tick. Returns the new base interval. A clock that goes backwards counts as no time.
   */
  tick(now: number, ratePerS: number, lagMs: number): number {
    const dt = Math.max(0, now - this.#last);
    this.#last = now;
    if (dt === 0) return this.#current;
    const raw = Math.min(LOAD_CAP, Math.max(ratePerS / this.#busyRate, lagMs / this.#busyLagMs, 0) || 0);
    this.#smooth += (raw - this.#smooth) * (1 - Math.exp(-dt / this.#smoothingS));
    const target = this.targetFor(this.#smooth);
    const diff = target - this.#current;
    if (this.#moving === 0 && Math.abs(diff) > this.#band) this.#moving = Math.sign(diff);
    if (this.#moving !== 0) {
      if (Math.sign(diff) === -this.#moving) {
        this.#moving = 0; // target turned back past us: rest here rather than chase noise
      } else {
        // Catching up does not end the move: the average approaches its level gradually, and stopping
        // at the first catch-up would leave the interval short of it (or of a bound) by up to the dead band.
        this.#current = clamp(
          this.#current + this.#moving * Math.min(Math.abs(diff), this.#slewPerS * dt),
          this.minS,
          this.maxS,
        );
      }
    }
    return this.#current;
  }

  /** The interval the mapping asks for at a (smoothed) load, before hysteresis and slew limiting. */
  targetFor(load: number): number {
    const f = clamp((load - this.#quietLoad) / (1 - this.#quietLoad), 0, 1);
    return this.minS + (this.maxS - this.minS) * f;
  }
}

/** Fixed mode behind the same face as AdaptiveInterval, so the caller ticks either without caring which. */
export class FixedInterval {
  readonly mode: IntervalMode = "fixed";
  readonly intervalS: number;
  readonly load = 0;

  constructor(intervalS: number) {
    this.intervalS = intervalS;
  }

  tick(_now: number, _ratePerS: number, _lagMs: number): number {
    return this.intervalS;
  }
}

export type IntervalController = AdaptiveInterval | FixedInterval;

/**
 * The interval to put in one reply: `interval` ± `fraction` (uniform, from `random`), whole seconds, inside
 * [lo, hi]. Near a bound the window is shifted inside rather than cut off, so replies still spread over the
 * full width instead of piling up on the bound (a pile-up is exactly the lock-step jitter is meant to break).
 *
 * lo is the `min interval` sent to clients (an interval below it would contradict it). hi is the longest
 * interval that is safe to hand out: the peer timeout, so that jitter never makes a client miss it.
 * Applied in fixed mode too: clients that start together (after a tracker restart or an outage) otherwise
 * keep announcing together, every interval, for as long as they run.
 */
export function jittered(
  interval: number,
  random: Random,
  lo: number,
  hi = Infinity,
  fraction = JITTER_FRACTION,
): number {
  const low = Math.ceil(lo);
  const high = Math.max(low, Math.floor(hi));
  const half = Math.max(0, interval * fraction);
  let a = interval - half;
  let b = interval + half;
  if (b - a >= high - low) {
    a = low;
    b = high;
  } else if (a < low) {
    b += low - a;
    a = low;
  } else if (b > high) {
    a -= b - high;
    b = high;
  }
  return clamp(Math.round(a + random() * (b - a)), low, high);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : Math.min(x, hi);
}
