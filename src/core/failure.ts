// Every reason a tracker request is refused, over any protocol: a stable code (what tests, logs and /metrics
// use) and the one text clients get for it (the HTTP and WebSocket `failure reason`, the BEP 15 error
// message). Codes never change once released; texts may be reworded. Codes are string constants: passing one
// around allocates nothing, and each front end turns it into its protocol's failure in one place.

export const FAILURE_TEXT = {
  // The request itself (client mistakes).
  missing_info_hash: "missing info_hash",
  invalid_info_hash: "invalid info_hash: must be 20 bytes",
  missing_peer_id: "missing peer_id",
  invalid_peer_id: "invalid peer_id: must be 20 bytes",
  missing_port: "missing port",
  invalid_port: "invalid port: must be 1-65535",
  invalid_left: "invalid left: must be a non-negative integer",
  invalid_uploaded: "invalid uploaded: must be a non-negative integer",
  invalid_downloaded: "invalid downloaded: must be a non-negative integer",
  invalid_event: "invalid event: must be started, completed, stopped or none",
  invalid_compact: "invalid compact: must be 0 or 1",
  invalid_numwant: "invalid numwant: must be an integer",
  announce_too_short: "announce too short: 98 bytes needed",
  too_many_info_hashes: "too many info hashes in one scrape",
  no_address: "cannot determine your address",
  // WebTorrent messages.
  invalid_message: "invalid message: expected a JSON object as text",
  invalid_action: 'invalid action: expected "announce" or "scrape"',
  invalid_answer: 'invalid answer: expected {type: "answer", sdp}, to_peer_id and offer_id (20 bytes each)',
  invalid_offers: 'invalid offers: expected a list, each with offer_id (20 bytes) and offer {type: "offer", sdp}',
  peer_id_in_use: "peer_id is in use by another connection",
  too_many_peer_ids: "too many peer ids on one connection",
  too_many_torrents: "too many torrents on one connection",
  too_many_connections: "too many WebSocket connections from your address",
  // Full scrape (HTTP only: UDP and WebSocket have none, and answer missing_info_hash).
  full_scrape_off: "missing info_hash (full scrape is off on this tracker)",
  full_scrape_too_often: "full scrape: too often from your address; try again later",
  // Policy and capacity.
  not_allowed: "torrent not allowed on this tracker",
  rate_limited: "too many requests from your address; slow down",
  torrent_limit: "tracker is full: no room for another torrent",
  peer_limit: "tracker is full: no room for another peer",
  busy: "tracker busy: try again shortly",
  source_share:
    "your network (IPv4 address or IPv6 /48) holds its full share of this tracker: no room for another peer from it",
} as const;

export type FailureCode = keyof typeof FAILURE_TEXT;

export const FAILURE_CODES = Object.keys(FAILURE_TEXT) as FailureCode[];

/** The refusals the store itself makes (AnnounceResult.refused): its limits. */
export type StoreRefusal = "torrent_limit" | "peer_limit" | "source_share";
