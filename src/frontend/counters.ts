// Request counters by protocol, action and outcome. Plain fields: incrementing one costs nothing, and the
// statistics and metrics endpoints read them.

export class Counters {
  httpAnnounce = 0;
  /** HTTP announces answered with a `failure reason`. */
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
  /** Requests refused by the per-source rate limit. */
  httpRateLimited = 0;
  udpRateLimited = 0;
  fullScrapes = 0;
  wsAnnounce = 0;
  /** WebSocket messages other than scrapes answered with a `failure reason` (unreadable ones included). */
  wsAnnounceFailure = 0;
  wsScrape = 0;
  wsScrapeFailure = 0;
  wsRateLimited = 0;
  wsOffersRelayed = 0;
  wsAnswersRelayed = 0;
  /** Answers not passed on: the sender or the addressee is not (or no longer) in the torrent. */
  wsAnswersDropped = 0;
  /** WebSocket connections refused because their source had too many open. */
  wsRefusedConnections = 0;
}
