// What the page itself has polled, kept in memory for the last hour. The tracker records a trend sample only
// every 10 minutes, so for a tracker that just started the charts draw these instead (see overview.ts).

import type { TrendSample } from "./api.ts";
import { onStats } from "./store.ts";

const KEEP_SECS = 3600;

export class LiveSamples<S extends { t: number }> {
  #samples: S[] = [];

  /** Adds a sample stamped later than the last one (a repeat of the same second replaces it). */
  add(sample: S): void {
    const last = this.#samples.at(-1);
    if (last && sample.t < last.t) return;
    if (last && sample.t === last.t) this.#samples.pop();
    this.#samples.push(sample);
    const cut = this.#samples.findIndex((s) => s.t >= sample.t - KEEP_SECS);
    if (cut > 0) this.#samples.splice(0, cut);
  }

  all(): readonly S[] {
    return this.#samples;
  }
}

/** Every /api/stats reply the page got (the header polls it every 5 seconds on every page). */
export const liveTrend = new LiveSamples<TrendSample>();
onStats((s) =>
  liveTrend.add({
    t: s.started_at + s.uptime_secs,
    peers: s.peers,
    seeders: s.seeders,
    leechers: s.leechers,
    torrents: s.torrents,
  }),
);

/** Peers per client from every client list the overview fetched. */
export const liveClients = new LiveSamples<{ t: number; peers: ReadonlyMap<string, number> }>();
