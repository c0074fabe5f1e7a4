// Announce and scrape query strings, parsed straight from the request URL text.
//
// Why by hand: info_hash and peer_id are 20 arbitrary bytes, percent-encoded. URLSearchParams decodes as UTF-8
// and turns bytes >= 0x80 into U+FFFD, so different hashes would collide. We percent-decode byte by byte.
// '+' decodes to a space (0x20), as in HTML form encoding (Python's urlencode, PHP's urlencode); clients that
// mean a literal '+' send %2B.

import { EVENT_COMPLETED, EVENT_NONE, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED } from "../core/announce.ts";
import type { FailureCode } from "../core/failure.ts";

export class AnnounceQuery {
  infoHash: string | null = null;
  peerId: string | null = null;
  /** -1 when absent. */
  port = -1;
  /** -1 when absent (treated as a leecher: we cannot know it has everything). */
  left = -1;
  uploaded = 0;
  downloaded = 0;
  event = EVENT_NONE;
  compact = true;
  noPeerId = false;
  /** null when absent; may be negative ("default"). */
  numWant: number | null = null;

  reset(): void {
    this.infoHash = null;
    this.peerId = null;
    this.port = -1;
    this.left = -1;
    this.uploaded = 0;
    this.downloaded = 0;
    this.event = EVENT_NONE;
    this.compact = true;
    this.noPeerId = false;
    this.numWant = null;
  }
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

const scratch = new Uint8Array(64);

/** Index of the first character of the query (after '?'), or -1 when there is none. */
export function queryStart(url: string): number {
  const q = url.indexOf("?");
  return q < 0 ? -1 : q + 1;
}

/**
 * Parses an announce query from url[start..] into q (reset first). Returns null, or the failure code naming
 * the bad or missing parameter (core/failure.ts).
 */
export function parseAnnounceQuery(url: string, start: number, q: AnnounceQuery): FailureCode | null {
  q.reset();
  const end = queryEnd(url);
  let i = start < 0 ? end : start;
  while (i < end) {
    let amp = url.indexOf("&", i);
    if (amp < 0 || amp > end) amp = end;
    let eq = url.indexOf("=", i);
    if (eq < 0 || eq > amp) eq = amp;
    const keyLen = eq - i;
    const v = eq < amp ? eq + 1 : amp; // value [v, amp)
    const c = url.charCodeAt(i);
    let err: FailureCode | null = null;
    if (keyLen === 9 && url.startsWith("info_hash", i)) {
      q.infoHash = decode20(url, v, amp);
      if (q.infoHash === null) err = "invalid_info_hash";
    } else if (keyLen === 7 && url.startsWith("peer_id", i)) {
      q.peerId = decode20(url, v, amp);
      if (q.peerId === null) err = "invalid_peer_id";
    } else if (keyLen === 4 && c === 112 /* p */ && url.startsWith("port", i)) {
      q.port = parseUint(url, v, amp);
      if (q.port < 1 || q.port > 65535) err = "invalid_port";
    } else if (keyLen === 4 && c === 108 /* l */ && url.startsWith("left", i)) {
      q.left = parseUint(url, v, amp);
      if (q.left < 0) err = "invalid_left";
    } else if (keyLen === 8 && url.startsWith("uploaded", i)) {
      q.uploaded = parseUint(url, v, amp);
      if (q.uploaded < 0) err = "invalid_uploaded";
    } else if (keyLen === 10 && url.startsWith("downloaded", i)) {
      q.downloaded = parseUint(url, v, amp);
      if (q.downloaded < 0) err = "invalid_downloaded";
    } else if (keyLen === 5 && url.startsWith("event", i)) {
      const e = parseEvent(url, v, amp);
      if (e < 0) err = "invalid_event";
      else q.event = e;
    } else if (keyLen === 7 && url.startsWith("compact", i)) {
      const n = parseUint(url, v, amp);
      if (n < 0) err = "invalid_compact";
      else q.compact = n !== 0;
    } else if (keyLen === 10 && url.startsWith("no_peer_id", i)) {
      q.noPeerId = amp === v || parseUint(url, v, amp) !== 0;
    } else if (keyLen === 7 && url.startsWith("numwant", i)) {
      const n = parseInt32(url, v, amp);
      if (n === null) err = "invalid_numwant";
      else q.numWant = n;
    }
    // key, trackerid, supportcrypto, corrupt, ...: accepted and ignored.
    if (err !== null) return err;
    i = amp + 1;
  }
  if (q.infoHash === null) return "missing_info_hash";
  if (q.peerId === null) return "missing_peer_id";
  if (q.port < 0) return "missing_port";
  return null;
}

/**
 * Collects every info_hash of a scrape query into `out`. Returns null, or the failure code. Duplicates are
 * kept here; the encoder merges them.
 */
export function parseScrapeQuery(url: string, start: number, max: number, out: string[]): FailureCode | null {
  out.length = 0;
  const end = queryEnd(url);
  let i = start < 0 ? end : start;
  while (i < end) {
    let amp = url.indexOf("&", i);
    if (amp < 0 || amp > end) amp = end;
    let eq = url.indexOf("=", i);
    if (eq < 0 || eq > amp) eq = amp;
    if (eq - i === 9 && url.startsWith("info_hash", i)) {
      const h = decode20(url, eq < amp ? eq + 1 : amp, amp);
      if (h === null) return "invalid_info_hash";
      if (out.length === max) return "too_many_info_hashes";
      out.push(h);
    }
    i = amp + 1;
  }
  return null;
}

/** A '#' ends the query (a fragment; clients should not send one, but then it is not ours). */
function queryEnd(url: string): number {
  const hash = url.indexOf("#");
  return hash < 0 ? url.length : hash;
}

/** Percent-decodes url[start, end) and returns it as a 20-char latin1 string, or null if it is not 20 bytes. */
function decode20(url: string, start: number, end: number): string | null {
  const n = percentDecode(url, start, end, scratch);
  if (n !== 20) return null;
  const b = scratch;
  return String.fromCharCode(
    b[0],
    b[1],
    b[2],
    b[3],
    b[4],
    b[5],
    b[6],
    b[7],
    b[8],
    b[9],
    b[10],
    b[11],
    b[12],
    b[13],
    b[14],
    b[15],
    b[16],
    b[17],
    b[18],
    b[19],
  );
}

/** Decodes into out; returns the byte count, or -1 on a bad escape, a non-byte character or overflow. */
export function percentDecode(s: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      if (i + 2 >= end) return -1;
      const a = s.charCodeAt(i + 1);
      const b = s.charCodeAt(i + 2);
      if (a > 127 || b > 127) return -1;
      const h = HEX[a];
      const l = HEX[b];
      if (h < 0 || l < 0) return -1;
      c = (h << 4) | l;
      i += 2;
    } else if (c === 43 /* + */) {
      c = 32;
    } else if (c > 255) {
      return -1;
    }
    if (n >= out.length) return -1;
    out[n++] = c;
  }
  return n;
}

/** Decimal digits only (up to 20, as for u64 byte counts); -1 if anything else. Exact up to 2^53. */
function parseUint(s: string, start: number, end: number): number {
  if (start >= end || end - start > 20) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** A signed integer, saturated to the int32 range (a huge numwant just means "as many as allowed"). */
function parseInt32(s: string, start: number, end: number): number | null {
  const negative = s.charCodeAt(start) === 45; /* - */
  const n = parseUint(s, negative ? start + 1 : start, end);
  if (n < 0) return null;
  const v = Math.min(n, 0x7fffffff);
  return negative ? -v : v;
}

function parseEvent(s: string, start: number, end: number): number {
  const len = end - start;
  if (len === 0) return EVENT_NONE;
  if (len === 7 && s.startsWith("started", start)) return EVENT_STARTED;
  if (len === 9 && s.startsWith("completed", start)) return EVENT_COMPLETED;
  if (len === 7 && s.startsWith("stopped", start)) return EVENT_STOPPED;
  if (len === 6 && s.startsWith("paused", start)) return EVENT_PAUSED;
  if (len === 5 && s.startsWith("empty", start)) return EVENT_NONE; // BEP 3 spells "no event" this way too
  return -1;
}
