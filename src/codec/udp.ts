// BEP 15 (UDP tracker protocol) wire format: the layout (the one source for every offset and length, for
// both sides), and the tracker's in-place decoders and encoders, which allocate nothing. Whole messages in
// both directions, for clients, tools and tests, are in udp-messages.ts. No sockets here.
// All integers are big-endian. Requests: connect 16 bytes, announce >= 98 (BEP 41 options may follow),
// scrape 16 + 20n. Replies: connect 16, announce 20 + 6n (IPv4) or 20 + 18n (IPv6), scrape 8 + 12n,
// error 8 + message.

import type { AnnounceRequest } from "../core/announce.ts";
import { readU32, writeU32 } from "../core/bytes.ts";
import type { FailureCode } from "../core/failure.ts";

export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;

/** The protocol id a connect request carries in place of a connection id (BEP 15). Below 2^53: exact. */
export const PROTOCOL_ID = 0x41727101980;
/** The same as two big-endian 32-bit halves, as the hot path compares them. */
export const PROTOCOL_ID_HI = Math.floor(PROTOCOL_ID / 2 ** 32);
export const PROTOCOL_ID_LO = PROTOCOL_ID % 2 ** 32;

export const CONNECTION_ID_LEN = 8;
export const INFO_HASH_LEN = 20;
export const PEER_ID_LEN = 20;

// Request header (connect: the protocol id stands where the connection id goes)
export const OFF_CONNECTION_ID = 0;
export const OFF_ACTION = 8;
export const OFF_TRANSACTION_ID = 12;
export const REQUEST_HEADER_LEN = 16;
export const CONNECT_REQUEST_LEN = REQUEST_HEADER_LEN;
// Announce request
export const OFF_INFO_HASH = 16;
export const OFF_PEER_ID = 36;
export const OFF_DOWNLOADED = 56;
export const OFF_LEFT = 64;
export const OFF_UPLOADED = 72;
export const OFF_EVENT = 80;
export const OFF_IP = 84;
export const OFF_KEY = 88;
export const OFF_NUM_WANT = 92;
export const OFF_PORT = 96;
export const ANNOUNCE_MIN_LEN = 98;
/** BEP 41 options, if any, start after the fixed announce; the tracker skips them. */
export const OFF_OPTIONS = ANNOUNCE_MIN_LEN;
// BEP 41 option types: END and NOP are one byte; every other type has a length byte and that many bytes.
export const OPTION_END = 0x0;
export const OPTION_NOP = 0x1;
/** Part of the announce URL's path and query; several in a row are concatenated. */
export const OPTION_URL_DATA = 0x2;
// Scrape request: info hashes, 20 bytes each, follow the header
export const OFF_SCRAPE_HASHES = REQUEST_HEADER_LEN;

// Reply header
export const OFF_REPLY_ACTION = 0;
export const OFF_REPLY_TRANSACTION_ID = 4;
export const REPLY_HEADER_LEN = 8;
// Connect reply
export const OFF_REPLY_CONNECTION_ID = 8;
export const CONNECT_REPLY_LEN = 16;
// Announce reply: peers follow the header, 4-byte address + port (IPv4) or 16 + port (IPv6), by the family
// the request came from
export const OFF_INTERVAL = 8;
export const OFF_LEECHERS = 12;
export const OFF_SEEDERS = 16;
export const ANNOUNCE_REPLY_HEADER_LEN = 20;
export const PEER_LEN_V4 = 6;
export const PEER_LEN_V6 = 18;
// Scrape reply: one entry per requested hash, in request order, after the header
export const OFF_SCRAPE_ENTRIES = REPLY_HEADER_LEN;
export const OFF_ENTRY_SEEDERS = 0;
export const OFF_ENTRY_COMPLETED = 4;
export const OFF_ENTRY_LEECHERS = 8;
export const SCRAPE_ENTRY_LEN = 12;
// Error reply: the message runs to the end of the datagram
export const OFF_ERROR_MESSAGE = REPLY_HEADER_LEN;

/** "Up to about 74 torrents can be scraped at once" (BEP 15): 16 + 74 * 20 bytes stays under 1500. */
export const MAX_SCRAPE_HASHES = 74;

export { readU32, writeU32 };

export function isConnectMagic(b: Uint8Array): boolean {
  return readU32(b, OFF_CONNECTION_ID) === PROTOCOL_ID_HI && readU32(b, OFF_CONNECTION_ID + 4) === PROTOCOL_ID_LO;
}

/**
 * Reads an announce (length >= 98 already checked) into `req`: info hash, left, event, port. `num_want` is
 * returned separately (signed: negative means "default"). Returns the failure code (core/failure.ts), or null.
 * The IP field is ignored (spoofable); the source address is the peer's address.
 */
export function decodeAnnounce(b: Uint8Array, req: AnnounceRequest): FailureCode | null {
  const event = readU32(b, OFF_EVENT);
  if (event > 3) return "invalid_event";
  req.event = event; // BEP 15 numbering matches ours: 0 none, 1 completed, 2 started, 3 stopped
  req.hashBytes = b;
  req.hashOff = OFF_INFO_HASH;
  // Only "nothing left" matters; either half non-zero means bytes are still missing.
  req.left = (readU32(b, OFF_LEFT) | readU32(b, OFF_LEFT + 4)) === 0 ? 0 : 1;
  req.port = (b[OFF_PORT] << 8) | b[OFF_PORT + 1];
  if (req.port === 0) return "invalid_port";
  return null;
}

export function readNumWant(b: Uint8Array): number {
  return readU32(b, OFF_NUM_WANT) | 0; // int32: -1 is the usual "default"
}

/** Writes a connect reply header (the caller writes the connection id at OFF_REPLY_CONNECTION_ID). */
export function encodeConnectHeader(out: Uint8Array, req: Uint8Array): number {
  writeU32(out, OFF_REPLY_ACTION, ACTION_CONNECT);
  copyTransactionId(req, out);
  return CONNECT_REPLY_LEN;
}

/** Writes the 20-byte announce reply header; peers follow from offset 20. */
export function encodeAnnounceHeader(
  out: Uint8Array,
  req: Uint8Array,
  interval: number,
  leechers: number,
  seeders: number,
): number {
  writeU32(out, OFF_REPLY_ACTION, ACTION_ANNOUNCE);
  copyTransactionId(req, out);
  writeU32(out, OFF_INTERVAL, interval);
  writeU32(out, OFF_LEECHERS, clampU32(leechers));
  writeU32(out, OFF_SEEDERS, clampU32(seeders));
  return ANNOUNCE_REPLY_HEADER_LEN;
}

export function encodeScrapeHeader(out: Uint8Array, req: Uint8Array): number {
  writeU32(out, OFF_REPLY_ACTION, ACTION_SCRAPE);
  copyTransactionId(req, out);
  return OFF_SCRAPE_ENTRIES;
}

/** One scrape entry: seeders, completed, leechers (BEP 15 order, unlike HTTP's). */
export function encodeScrapeEntry(
  out: Uint8Array,
  at: number,
  seeders: number,
  completed: number,
  leechers: number,
): number {
  writeU32(out, at + OFF_ENTRY_SEEDERS, clampU32(seeders));
  writeU32(out, at + OFF_ENTRY_COMPLETED, clampU32(completed));
  writeU32(out, at + OFF_ENTRY_LEECHERS, clampU32(leechers));
  return at + SCRAPE_ENTRY_LEN;
}

/** An error reply: action 3, the transaction id, then the ASCII message (no NUL, as most trackers send). */
export function encodeError(out: Uint8Array, req: Uint8Array, message: string): number {
  writeU32(out, OFF_REPLY_ACTION, ACTION_ERROR);
  copyTransactionId(req, out);
  for (let i = 0; i < message.length; i++) out[OFF_ERROR_MESSAGE + i] = message.charCodeAt(i) & 0x7f;
  return OFF_ERROR_MESSAGE + message.length;
}

function copyTransactionId(req: Uint8Array, out: Uint8Array): void {
  for (let i = 0; i < 4; i++) out[OFF_REPLY_TRANSACTION_ID + i] = req[OFF_TRANSACTION_ID + i];
}

function clampU32(n: number): number {
  return Math.min(n, 0xffffffff);
}
