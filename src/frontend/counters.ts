// Request counters by protocol, action and outcome, and failures by protocol and code. Plain fields:
// incrementing one costs nothing, and the statistics and metrics endpoints read them.

import { FAILURE_CODES, type FailureCode } from "../core/failure.ts";

export type Protocol = "http" | "udp" | "websocket";

/** Failures of one protocol by code: every code a field from the start (one shape, counted in place). */
export type FailureCounts = Record<FailureCode, number>;

function noFailures(): FailureCounts {
  const counts = {} as FailureCounts;
  for (const code of FAILURE_CODES) counts[code] = 0;
  return counts;
}

export class Counters {
  httpAnnounce = 0;
  /** HTTP announces answered with a `failure reason` (not those over the rate limit). */
  httpAnnounceFailure = 0;
  httpScrape = 0;
  httpScrapeFailure = 0;
  udpConnect = 0;
  udpAnnounce = 0;
  /** UDP announces answered with an error packet. */
  udpAnnounceError = 0;
  udpScrape = 0;
  udpScrapeError = 0;
  /** UDP datagrams dropped without a reply (too short, unknown action, bad magic, bad connection id). */
  udpDropped = 0;
  udpBadConnectionId = 0;
  fullScrapes = 0;
  wsAnnounce = 0;
  /** WebSocket messages other than scrapes answered with a `failure reason` (unreadable ones included). */
  wsAnnounceFailure = 0;
  wsScrape = 0;
  wsScrapeFailure = 0;
  wsOffersRelayed = 0;
  wsAnswersRelayed = 0;
  /** Answers not passed on: the sender or the addressee is not (or no longer) in the torrent. */
  wsAnswersDropped = 0;
  /** Every refusal by protocol and code (core/failure.ts), rate_limited included; each front end counts its own. */
  readonly failures: Record<Protocol, FailureCounts> = {
    http: noFailures(),
    udp: noFailures(),
    websocket: noFailures(),
  };

  /** Requests refused by the per-source rate limit. */
  get httpRateLimited(): number {
    return this.failures.http.rate_limited;
  }

  get udpRateLimited(): number {
    return this.failures.udp.rate_limited;
  }

  get wsRateLimited(): number {
    return this.failures.websocket.rate_limited;
  }

  /** WebSocket connections refused because their source had too many open. */
  get wsRefusedConnections(): number {
    return this.failures.websocket.too_many_connections;
  }
}
