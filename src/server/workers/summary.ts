// What a thread tells the main thread about its share, for the statistics API, /metrics, the dashboard and
// the trends (pool.ask("summary"), about once a second): its store's totals, its request counters, its expiry
// sweep, its caught faults, its mesh counters, and when asked its top-torrent candidates. Plain data: it
// crosses threads by structured clone (a Store's totals are getters, and getters do not cross). The main
// thread adds its own share to the others' (`combine`): the statistics code reads one set of totals.

import { CLIENT_NAMES } from "../../core/clients.ts";
import { FAILURE_CODES } from "../../core/failure.ts";
import { Counters, type Protocol } from "../../frontend/counters.ts";
import type { Rankings } from "../../stats/top-torrents.ts";
import { SweepStats } from "../sweeper.ts";

const TOTAL_KEYS = [
  "torrents",
  "dormant",
  "peers4",
  "peers6",
  "peersRtc",
  "seeders",
  "completed",
  "refusedTorrents",
  "refusedPeers",
  "refusedSource",
  "evictedPeers",
  "earlyAnnounces",
] as const;
type TotalKey = (typeof TOTAL_KEYS)[number];

/** The totals of a store the statistics read (a Store fits; so does a sum of several threads' Totals). */
export type StoreTotals = Readonly<Record<TotalKey, number>> & {
  readonly peers: number;
  readonly leechers: number;
  readonly peersByClient: ArrayLike<number>;
};

/** Store totals as plain numbers. */
export class Totals implements StoreTotals {
  torrents = 0;
  dormant = 0;
  peers4 = 0;
  peers6 = 0;
  peersRtc = 0;
  seeders = 0;
  completed = 0;
  refusedTorrents = 0;
  refusedPeers = 0;
  refusedSource = 0;
  evictedPeers = 0;
  earlyAnnounces = 0;
  peersByClient: number[] = new Array(CLIENT_NAMES.length).fill(0);

  get peers(): number {
    return this.peers4 + this.peers6 + this.peersRtc;
  }

  get leechers(): number {
    return this.peers - this.seeders;
  }

  add(s: StoreTotals): this {
    for (const k of TOTAL_KEYS) this[k] += s[k];
    const by = s.peersByClient;
    for (let tag = 0; tag < this.peersByClient.length; tag++) this.peersByClient[tag] += by[tag] ?? 0;
    return this;
  }
}

/** Per-thread figures /metrics lists with a `worker` label. */
export interface MeshCounts {
  handed: number;
  answered: number;
  dropped: number;
}

export interface ThreadSummary {
  /** Different for each start of a thread: a change means it died and was started again, from zero. */
  incarnation: number;
  totals: Totals;
  /** A Counters as it arrives from another thread: its fields, without the class's getters. */
  counters: Counters;
  sweep: SweepStats;
  faults: [string, number][];
  mesh: MeshCounts;
  wsConnections: number;
  /** The thread's own rankings (access list applied), when asked for them; else null. */
  top: Rankings | null;
}

/** One thread's share, summed with the others' by `combine`. */
export interface Share {
  totals: StoreTotals;
  counters: Counters;
  sweep: SweepStats;
  faults: ReadonlyMap<string, number> | [string, number][];
  wsConnections: number;
}

/** Every thread's shares added up. */
export interface Combined {
  totals: Totals;
  counters: Counters;
  sweep: SweepStats;
  faults: Map<string, number>;
  wsConnections: number;
}

/**
 * What a thread counted before it died (its last summary): its counters, sweep figures and faults, kept so
 * that every thread's sums never go back; no totals (its swarms are its new start's).
 */
export function pastOf(s: ThreadSummary): Share {
  return { totals: new Totals(), counters: s.counters, sweep: s.sweep, faults: s.faults, wsConnections: 0 };
}

export function combine(shares: Share[]): Combined {
  const totals = new Totals();
  const counters = new Counters();
  const sweep = new SweepStats();
  const faults = new Map<string, number>();
  let wsConnections = 0;
  for (const s of shares) {
    totals.add(s.totals);
    addCounters(counters, s.counters);
    sweep.runs += s.sweep.runs;
    sweep.seconds += s.sweep.seconds;
    sweep.lastSeconds = Math.max(sweep.lastSeconds, s.sweep.lastSeconds);
    sweep.peersExpired += s.sweep.peersExpired;
    sweep.torrentsDropped += s.sweep.torrentsDropped;
    for (const [where, n] of s.faults) faults.set(where, (faults.get(where) ?? 0) + n);
    wsConnections += s.wsConnections;
  }
  return { totals, counters, sweep, faults, wsConnections };
}

const PROTOCOLS: Protocol[] = ["http", "udp", "websocket"];

function addCounters(into: Counters, c: Counters): void {
  const to = into as unknown as Record<string, number>;
  const from = c as unknown as Record<string, unknown>;
  for (const k of Object.keys(into)) {
    const v = from[k];
    if (typeof v === "number") to[k] += v;
  }
  for (const p of PROTOCOLS) for (const code of FAILURE_CODES) into.failures[p][code] += c.failures[p][code];
}
