// Request counters by protocol, action and outcome. Plain fields: incrementing one costs nothing, and the
// statistics and metrics endpoints read them.

export class Counters {
  httpAnnounce = 0;
  httpScrape = 0;
  /** HTTP tracker requests answered with a `failure reason`. */
  httpFailure = 0;
  udpConnect = 0;
  udpAnnounce = 0;
  udpScrape = 0;
  /** UDP requests answered with an error packet. */
  udpError = 0;
  /** UDP datagrams dropped without a reply (too short, unknown action, bad magic, bad connection id). */
  udpDropped = 0;
  udpBadConnectionId = 0;
}
