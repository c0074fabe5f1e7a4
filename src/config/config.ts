// The one Config type: every tunable, with its unit. Flags, environment names, ranges and defaults are in
// options.ts.

import type { AccessMode } from "../core/access.ts";
import type { IntervalMode } from "../core/adaptive-interval.ts";
import type { CidrSet } from "../core/cidr.ts";

export interface ListenAddress {
  host: string;
  port: number;
}

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface Config {
  /** HTTP (announce, scrape, health) listener. */
  listen: ListenAddress;
  /** UDP (BEP 15) listener; null when off. */
  udpListen: ListenAddress | null;
  /** Announce interval sent to clients, seconds (the high bound in adaptive mode). */
  intervalS: number;
  /** fixed: always intervalS; adaptive: between minIntervalS and intervalS with the load. */
  intervalMode: IntervalMode;
  /** Requests per second (all protocols) at which the adaptive interval reaches intervalS. */
  adaptiveBusyRate: number;
  /** `min interval` sent to clients, seconds: clients should not announce more often. */
  minIntervalS: number;
  /** A peer that has not announced for this long is dropped, seconds. */
  peerTimeoutS: number;
  /** Peers returned when a client does not say how many it wants. */
  defaultNumWant: number;
  /** Most peers returned in one reply (UDP replies are further capped to fit one unfragmented datagram). */
  maxNumWant: number;
  logLevel: LogLevel;
  /** Log to this file (size-capped, reopened on SIGHUP) instead of stdout; null: stdout. */
  logFile: string | null;
  /** Trend history file (JSONL); null keeps the history in memory only. */
  trendsFile: string | null;
  /** Rustracker's trends.jsonl (its top_clients.jsonl beside it), imported when the history is empty; null: none. */
  importRustrackerTrends: string | null;
  accessMode: AccessMode;
  /** Deny or allow list file; null when accessMode is off. */
  accessList: string | null;
  /** Admin API token given inline, or the file holding it (read at start); both null: no admin API. */
  adminToken: string | null;
  adminTokenFile: string | null;
  /** Reverse proxies whose forwarding headers are believed; null: none. */
  trustProxy: CidrSet | null;
  /** Store limits (see core/store.ts for what happens at each). */
  maxTorrents: number;
  maxPeersPerTorrent: number;
  maxPeers: number;
  /** Percent of maxPeers one IPv4 address or IPv6 /48 may hold (and of maxTorrents it may start); 100 = no bound. */
  sourceShare: number;
  /** Requests per second per IPv4 address or IPv6 /64; 0 = off. */
  rateLimit: number;
  rateBurst: number;
  /** Sources never rate limited; null: none. */
  rateLimitExempt: CidrSet | null;
  /** Answer scrapes without info_hash with every torrent. */
  fullScrape: boolean;
  /**
   * Certificate chain and key (PEM files) for HTTPS and WSS; both null: plain HTTP only. Without tlsListen
   * the main listener speaks TLS; with it, the main listener stays plain and tlsListen serves TLS.
   */
  tlsCert: string | null;
  tlsKey: string | null;
  tlsListen: ListenAddress | null;
  /**
   * Private listener for operators (plain HTTP): the admin API, /metrics, the deep /healthz and the dashboard;
   * when set, the admin API and /metrics are no longer on the public listeners. null: none.
   */
  adminListen: ListenAddress | null;
  /** Serve the dashboard and its read-only JSON (/api/*) on the public listeners. */
  publicStats: boolean;
  /** Serve WebTorrent (WebSocket) on the HTTP port. */
  websocket: boolean;
  /** Threads serving the port, each owning a share of the swarms (see server/workers); "auto": one per CPU. */
  workers: number | "auto";
  /** With workers: the kernel delivers UDP announces to their owner's thread (server/workers/udp-steering.ts). */
  udpSteering: boolean;
  /** Announce interval sent to WebTorrent clients, seconds. */
  wsIntervalS: number;
  /** Open WebSocket connections per IPv4 address or IPv6 /64. */
  wsMaxSocketsPerIp: number;
  /** Swarm snapshot file; null: swarms start empty after a restart. */
  stateFile: string | null;
  /** Cluster mode: engine (Redis/Valkey) URLs, info hashes split across them; null: standalone. */
  redis: string[] | null;
  /** Cluster mode: how often changes are published and other instances' peers read, milliseconds. */
  clusterSyncMs: number;
  /** Cluster mode: this instance's name in the engine (its completion totals are kept under it). */
  clusterInstanceId: string;
  /** Cluster mode: the prefix of every engine key (several clusters can share one engine). */
  clusterKeyPrefix: string;
}
