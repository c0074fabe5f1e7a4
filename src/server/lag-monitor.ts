// Event-loop lag in every interval mode: how much later than LAG_TICK_MS after the last tick each tick fires.
// The admin /healthz (health.ts) reads the worst lag of the last few seconds, so one stall shows for a while
// instead of only in the instant it ends.

import type { Faults } from "./faults.ts";

export const LAG_TICK_MS = 500;
/** Ticks remembered: about 5 seconds. */
const WINDOW_TICKS = 10;

export class LagMonitor {
  readonly #recent = new Float64Array(WINDOW_TICKS);
  #next = 0;
  #lastMs = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  start(faults: Faults): void {
    this.#lastMs = performance.now();
    this.#timer = faults.every("lag monitor", LAG_TICK_MS, () => {
      const now = performance.now();
      this.record(Math.max(0, now - this.#lastMs - LAG_TICK_MS));
      this.#lastMs = now;
    });
  }

  /** One measured lag, ms (the timer records them; tests inject one). */
  record(lagMs: number): void {
    this.#recent[this.#next] = lagMs;
    this.#next = (this.#next + 1) % WINDOW_TICKS;
  }

  /** The worst lag of the last WINDOW_TICKS ticks, ms. */
  get worstMs(): number {
    let worst = 0;
    for (const lag of this.#recent) if (lag > worst) worst = lag;
    return worst;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
