// What the front ends need to know to answer announces, derived once from Config.

import { EVENT_STOPPED } from "../core/announce.ts";

export interface AnnounceSettings {
  intervalS: number;
  minIntervalS: number;
  defaultNumWant: number;
  maxNumWant: number;
}

/** The answer (failure reason, UDP error) for a torrent the access list refuses. */
export const NOT_ALLOWED = "torrent not allowed on this tracker";

/** Failure reasons for announces a store limit refused (see REFUSED_* in core/store.ts), by code. */
export const REFUSED_REASON = ["", "tracker is full: no room for another torrent", "tracker is full: no room for another peer"];

/** How many peers to return: a negative or missing ask means the default; `stopped` gets none. */
export function resolveNumWant(asked: number | null, event: number, s: AnnounceSettings, cap: number): number {
  if (event === EVENT_STOPPED) return 0;
  const n = asked === null || asked < 0 ? s.defaultNumWant : asked;
  return Math.min(n, s.maxNumWant, cap);
}
