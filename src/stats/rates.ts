// Requests per second over a sliding window, from running totals sampled once a second by the caller.
// Nothing on the request path: handlers only bump plain counters.

export class RateWindow {
  readonly #windowS: number;
  readonly #snapshots: { t: number; totals: readonly number[] }[] = [];

  constructor(windowS = 10) {
    this.#windowS = windowS;
  }

  /** Records the running totals at time `t` (seconds, may be fractional). */
  record(t: number, totals: readonly number[]): void {
    this.#snapshots.push({ t, totals: [...totals] });
    while (this.#snapshots.length > 2 && t - this.#snapshots[1].t >= this.#windowS) this.#snapshots.shift();
  }

  /** Per-second rate of each total over the window (zeros until two snapshots exist). */
  perSecond(): number[] {
    const s = this.#snapshots;
    if (s.length < 2) return s.length === 1 ? s[0].totals.map(() => 0) : [];
    const first = s[0];
    const last = s[s.length - 1];
    const dt = last.t - first.t;
    return last.totals.map((v, i) => (dt > 0 ? (v - first.totals[i]) / dt : 0));
  }
}
