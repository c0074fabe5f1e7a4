// Trend history: swarm totals and per-client peer counts, one sample per 10-minute bucket, kept 7 days.
// Pure: the caller decides when to sample (a timer, never an API read) and passes the time in.

export const TREND_INTERVAL_S = 600;
export const TREND_RETENTION_S = 7 * 86400;

export interface TrendSample {
  /** Unix seconds when the sample was taken. */
  t: number;
  torrents: number;
  peers: number;
  seeders: number;
  leechers: number;
  /** Live peers per client name (only clients with peers). */
  clients: Record<string, number>;
}

export class TrendStore {
  #samples: TrendSample[] = [];

  get size(): number {
    return this.#samples.length;
  }

  /** Adds a sample; a later sample in the same 10-minute bucket replaces the earlier one. */
  add(sample: TrendSample): void {
    const s = this.#samples;
    const last = s[s.length - 1];
    if (last !== undefined && bucket(last.t) === bucket(sample.t)) s[s.length - 1] = sample;
    else if (last === undefined || sample.t > last.t) s.push(sample);
    else this.load([...s, sample], sample.t); // out of order (clock stepped back): rebuild
    this.prune(sample.t);
  }

  /** Replaces the history (e.g. from the trends file): sorted, one sample per bucket, within retention. */
  load(samples: readonly TrendSample[], now: number): void {
    const byBucket = new Map<number, TrendSample>();
    for (const x of samples) byBucket.set(bucket(x.t), x);
    this.#samples = [...byBucket.values()].sort((a, b) => a.t - b.t);
    this.prune(now);
  }

  /** True if the latest sample lies in the same 10-minute bucket as `t`. */
  hasBucketOf(t: number): boolean {
    const last = this.#samples[this.#samples.length - 1];
    return last !== undefined && bucket(last.t) === bucket(t);
  }

  prune(now: number): void {
    const oldest = now - TREND_RETENTION_S;
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop].t < oldest) drop++;
    if (drop > 0) this.#samples.splice(0, drop);
  }

  /** Samples taken at or after `from`, oldest first. */
  since(from: number): TrendSample[] {
    return this.#samples.filter((x) => x.t >= from);
  }

  all(): readonly TrendSample[] {
    return this.#samples;
  }
}

function bucket(t: number): number {
  return Math.floor(t / TREND_INTERVAL_S);
}
