// The latest /api/stats reply, shared by the overview counters, the about page and the footer.

import type { Stats } from "./api.ts";

let latest: Stats | null = null;
let receivedAt = 0;
const listeners = new Set<(s: Stats) => void>();

export function latestStats(): Stats | null {
  return latest;
}

/** Seconds of uptime now, counting on from the last reply between polls. */
export function uptimeNow(): number | null {
  if (!latest) return null;
  return latest.uptime_secs + Math.floor((Date.now() - receivedAt) / 1000);
}

export function publishStats(s: Stats): void {
  latest = s;
  receivedAt = Date.now();
  for (const fn of listeners) fn(s);
}

/** Calls `fn` with every new reply (and at once with the current one); returns the unsubscribe function. */
export function onStats(fn: (s: Stats) => void): () => void {
  listeners.add(fn);
  if (latest) fn(latest);
  return () => listeners.delete(fn);
}
