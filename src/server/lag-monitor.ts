// Event-loop lag in every interval mode: how much later than LAG_TICK_MS after the last tick each tick fires.
// The one source of it: /metrics and the admin /healthz read the worst lag of the last few seconds (so one stall
// shows for a while instead of only in the instant it ends), and in adaptive mode the interval control steps on
// the same tick (app.ts), so the process runs one lag timer.

import type { Faults } from "./faults.ts";

export const LAG_TICK_MS = 1000;
/** Ticks remembered: about 5 seconds. */
export const WINDOW_TICKS = 5;

export class LagMonitor {
  readonly #recent = new Float64Array(WINDOW_TICKS);
  #next = 0;
  #lastMs = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Called on every tick after the lag is recorded, with its performance.now() time and lag (ms). */
  onTick: ((nowMs: number, lagMs: number) => void) | null = null;

  start(faults: Faults): void {
    this.#lastMs = performance.now();
    this.#timer = faults.every("lag monitor", LAG_TICK_MS, () => {
      const now = performance.now();
      const lag = Math.max(0, now - this.#lastMs - LAG_TICK_MS);
      this.record(lag);
      this.#lastMs = now;
      this.onTick?.(now, lag);
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
