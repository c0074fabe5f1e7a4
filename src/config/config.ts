// The one Config type and its defaults. Every tunable is named here once, with its unit.

import type { AccessMode } from "../core/access.ts";
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
  /** Announce interval sent to clients, seconds. */
  intervalS: number;
  /** `min interval` sent to clients, seconds: clients should not announce more often. */
  minIntervalS: number;
  /** A peer that has not announced for this long is dropped, seconds. */
  peerTimeoutS: number;
  /** Peers returned when a client does not say how many it wants. */
  defaultNumWant: number;
  /** Most peers returned in one reply (UDP replies are further capped to fit one unfragmented datagram). */
  maxNumWant: number;
  logLevel: LogLevel;
  /** Trend history file (JSONL); null keeps the history in memory only. */
  trendsFile: string | null;
  accessMode: AccessMode;
  /** Deny or allow list file; null when accessMode is off. */
  accessList: string | null;
  /** Admin API token given inline, or the file holding it (read at start); both null: no admin API. */
  adminToken: string | null;
  adminTokenFile: string | null;
  /** Reverse proxies whose forwarding headers are believed; null: none. */
  trustProxy: CidrSet | null;
}

export const DEFAULTS = {
  listen: { host: "::", port: 6969 },
  intervalS: 1800,
  peerTimeoutS: 3000,
  defaultNumWant: 50,
  maxNumWant: 200,
  logLevel: "info",
} as const;
