// Drives the announce interval controller (core/adaptive-interval.ts) once a second, on the lag monitor's tick
// (lag-monitor.ts: one timer measures the event-loop lag for everyone): measures the request rate (every
// protocol, from the counters), takes the lag (how late that tick fired), and ticks
// the controller whose interval HTTP and UDP replies hand out (through an IntervalSource, frontend/settings.ts,
// which adds the per-reply jitter). In fixed mode nothing moves.
//
// --workers N: each thread counts the requests it reads, about 1/N of the load. So each thread publishes its
// count in a slot of a shared array and steps on the sum of every slot: every thread's controller sees the
// tracker's whole request rate (and its own event-loop lag), and they hand out the same interval.

import {
  AdaptiveInterval,
  FixedInterval,
  type IntervalController,
  type IntervalMode,
} from "../core/adaptive-interval.ts";
import type { Counters } from "../frontend/counters.ts";
import { rateTotals } from "./api.ts";
import { LAG_TICK_MS, type LagMonitor } from "./lag-monitor.ts";

/** Event-loop lag (ms) that counts as fully busy: replies that late are felt by every client. */
export const BUSY_LAG_MS = 100;
export const TICK_MS = LAG_TICK_MS;

export interface IntervalControlOptions {
  mode: IntervalMode;
  minS: number;
  maxS: number;
  busyRate: number;
  counters: Counters;
  /** --workers: this thread's slot in the request totals every thread publishes (one slot per thread). */
  shared?: { self: number; totals: BigInt64Array } | null;
  /** The clock at construction, ms (performance.now() time; tests pass a simulated one). */
  nowMs?: number;
}

export class IntervalControl {
  readonly controller: IntervalController;
  readonly #o: IntervalControlOptions;
  #lag: LagMonitor | null = null;
  #lastMs = 0;
  #lastTotal = 0;

  constructor(o: IntervalControlOptions) {
    this.#o = o;
    this.controller =
      o.mode === "fixed"
        ? new FixedInterval(o.maxS)
        : new AdaptiveInterval(
            { minS: o.minS, maxS: o.maxS, busyRate: o.busyRate, busyLagMs: BUSY_LAG_MS },
            (o.nowMs ?? performance.now()) / 1000,
          );
  }

  /** Steps on every tick of the (started) lag monitor from now on; in fixed mode nothing moves. */
  start(lag: LagMonitor): void {
    if (this.controller.mode === "fixed") return;
    this.#lastMs = performance.now();
    this.#lastTotal = this.#total();
    this.#lag = lag;
    lag.onTick = (nowMs, lagMs) => this.step(nowMs, lagMs);
  }

  /**
   * One control step at `nowMs` (performance.now() time): the rate since the last step, and the lag, by default
   * how much later than TICK_MS after it this step came. The lag monitor's tick calls it with the lag it
   * measured (the same figure); tests call it with a simulated clock.
   */
  step(nowMs: number, lagMs?: number): void {
    const elapsed = nowMs - this.#lastMs;
    if (elapsed <= 0) return;
    const requests = this.#total();
    // (A thread started again after dying counts from zero again: no negative rates.)
    const rate = Math.max(0, requests - this.#lastTotal) / (elapsed / 1000);
    this.#lastMs = nowMs;
    this.#lastTotal = requests;
    this.controller.tick(nowMs / 1000, rate, lagMs ?? Math.max(0, elapsed - TICK_MS));
  }

  stop(): void {
    if (this.#lag !== null) this.#lag.onTick = null;
  }

  /** Requests so far: this thread's, or with --workers every thread's (as each published them last). */
  #total(): number {
    const own = total(this.#o.counters);
    const shared = this.#o.shared;
    if (shared === undefined || shared === null) return own;
    Atomics.store(shared.totals, shared.self, BigInt(own));
    let sum = 0;
    for (let i = 0; i < shared.totals.length; i++) sum += Number(Atomics.load(shared.totals, i));
    return sum;
  }
}

function total(c: Counters): number {
  return rateTotals(c).reduce((a, b) => a + b, 0);
}
