// Drives the announce interval controller (core/adaptive-interval.ts) once a second: measures the request
// rate (every protocol, from the counters) and the event-loop lag (how late this very timer fires), and ticks
// the controller whose interval HTTP and UDP replies hand out (through an IntervalSource, frontend/settings.ts,
// which adds the per-reply jitter). In fixed mode nothing moves.

import { AdaptiveInterval, FixedInterval, type IntervalController, type IntervalMode } from "../core/adaptive-interval.ts";
import type { Counters } from "../frontend/counters.ts";
import { rateTotals } from "./api.ts";
import type { Faults } from "./faults.ts";

/** Event-loop lag (ms) that counts as fully busy: replies that late are felt by every client. */
export const BUSY_LAG_MS = 100;
export const TICK_MS = 1000;

export interface IntervalControlOptions {
  mode: IntervalMode;
  minS: number;
  maxS: number;
  busyRate: number;
  counters: Counters;
  /** The clock at construction, ms (performance.now() time; tests pass a simulated one). */
  nowMs?: number;
}

export class IntervalControl {
  readonly controller: IntervalController;
  readonly #o: IntervalControlOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastMs = 0;
  #lastTotal = 0;

  constructor(o: IntervalControlOptions) {
    this.#o = o;
    this.controller =
      o.mode === "fixed"
        ? new FixedInterval(o.maxS)
        : new AdaptiveInterval({ minS: o.minS, maxS: o.maxS, busyRate: o.busyRate, busyLagMs: BUSY_LAG_MS }, (o.nowMs ?? performance.now()) / 1000);
  }

  start(faults: Faults): void {
    if (this.controller.mode === "fixed") return;
    this.#lastMs = performance.now();
    this.#lastTotal = total(this.#o.counters);
    this.#timer = faults.every("interval control", TICK_MS, () => this.step(performance.now()));
  }

  /**
   * One control step at `nowMs` (performance.now() time): the rate since the last step, and the lag as how
   * much later than TICK_MS after it this step came. The timer calls it; tests call it with a simulated clock.
   */
  step(nowMs: number): void {
    const elapsed = nowMs - this.#lastMs;
    if (elapsed <= 0) return;
    const requests = total(this.#o.counters);
    const rate = (requests - this.#lastTotal) / (elapsed / 1000);
    this.#lastMs = nowMs;
    this.#lastTotal = requests;
    this.controller.tick(nowMs / 1000, rate, Math.max(0, elapsed - TICK_MS));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

function total(c: Counters): number {
  return rateTotals(c).reduce((a, b) => a + b, 0);
}
