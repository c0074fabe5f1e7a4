// BEP 15 request handling: one datagram in, at most one datagram out. No sockets: the server passes the
// packet, the sender's canonical address and the time, and sends whatever this writes into `out`.
//
// Anti-amplification: nothing is sent to a sender that has not proven it owns its address (a valid
// connection id), except the 16-byte connect reply to a 16-byte connect. Short packets, unknown actions, a
// wrong magic and bad connection ids are dropped silently.

import { AnnounceRequest, AnnounceResult, ScrapeCounts } from "../core/announce.ts";
import type { ConnIdIssuer } from "../core/conn-id.ts";
import type { Store } from "../core/store.ts";
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_SCRAPE,
  ANNOUNCE_MIN_LEN,
  ANNOUNCE_REPLY_HEADER_LEN,
  decodeAnnounce,
  encodeAnnounceHeader,
  encodeConnectHeader,
  encodeError,
  encodeScrapeEntry,
  encodeScrapeHeader,
  INFO_HASH_LEN,
  isConnectMagic,
  MAX_SCRAPE_HASHES,
  OFF_ACTION,
  OFF_CONNECTION_ID,
  OFF_INFO_HASH,
  OFF_PEER_ID,
  OFF_REPLY_CONNECTION_ID,
  OFF_SCRAPE_HASHES,
  PEER_LEN_V4,
  PEER_LEN_V6,
  readNumWant,
  readU32,
  REQUEST_HEADER_LEN,
} from "../codec/udp.ts";
import { clientTag } from "../core/clients.ts";
import type { Counters } from "./counters.ts";
import { NO_LIMIT, type SourceLimit } from "./source-limit.ts";
import { type AnnounceSettings, NOT_ALLOWED, REFUSED_REASON, resolveNumWant } from "./settings.ts";

/**
 * Replies stay within 1232 bytes: the IPv6 minimum MTU (1280) less the IPv6 and UDP headers, so they are
 * never fragmented on any path. That is 202 IPv4 or 67 IPv6 peers.
 */
export const UDP_REPLY_BUDGET = 1232;
export const UDP_MAX_PEERS_V4 = Math.floor((UDP_REPLY_BUDGET - ANNOUNCE_REPLY_HEADER_LEN) / PEER_LEN_V4);
export const UDP_MAX_PEERS_V6 = Math.floor((UDP_REPLY_BUDGET - ANNOUNCE_REPLY_HEADER_LEN) / PEER_LEN_V6);

export class UdpTracker {
  readonly #store: Store;
  readonly #connIds: ConnIdIssuer;
  readonly #settings: AnnounceSettings;
  readonly counters: Counters;
  readonly #req = new AnnounceRequest();
  readonly #res: AnnounceResult;
  readonly #scrape = new ScrapeCounts();

  /** null: every torrent is allowed. Asked with the packet's bytes: no info hash string per request. */
  readonly #allows: ((b: Uint8Array, off: number) => boolean) | null;
  readonly #limit: Pick<SourceLimit, "allow">;

  /**
   * `allows` is the access list's verdict on the info hash at b[off, off + 20) (see core/access.ts); `limit`
   * the per-source request budget: datagrams over it are dropped unanswered (an answer would cost as much as
   * the request).
   */
  constructor(
    store: Store,
    connIds: ConnIdIssuer,
    settings: AnnounceSettings,
    counters: Counters,
    allows: ((b: Uint8Array, off: number) => boolean) | null = null,
    limit: Pick<SourceLimit, "allow"> = NO_LIMIT,
  ) {
    this.#allows = allows;
    this.#limit = limit;
    this.#store = store;
    this.#connIds = connIds;
    this.#settings = settings;
    this.counters = counters;
    this.#res = new AnnounceResult(Math.max(UDP_MAX_PEERS_V4, UDP_MAX_PEERS_V6));
  }

  /**
   * Handles one datagram from ip[0..ipLen) (IPv4 canonical: 4 bytes). Writes the reply into `out` (at least
   * UDP_REPLY_BUDGET bytes) and returns its length, or 0 for no reply.
   */
  handle(packet: Uint8Array, ip: Uint8Array, ipLen: 4 | 16, now: number, out: Uint8Array): number {
    const c = this.counters;
    if (!this.#limit.allow(ip, ipLen, now)) {
      c.udpRateLimited++;
      return 0;
    }
    if (packet.length < REQUEST_HEADER_LEN) return this.#drop();
    const action = readU32(packet, OFF_ACTION);
    if (action === ACTION_CONNECT) {
      if (!isConnectMagic(packet)) return this.#drop();
      c.udpConnect++;
      const n = encodeConnectHeader(out, packet);
      this.#connIds.issue(ip, ipLen, now, out, OFF_REPLY_CONNECTION_ID);
      return n;
    }
    if (action !== ACTION_ANNOUNCE && action !== ACTION_SCRAPE) return this.#drop();
    if (!this.#connIds.check(packet, OFF_CONNECTION_ID, ip, ipLen, now)) {
      c.udpBadConnectionId++;
      return this.#drop();
    }
    return action === ACTION_ANNOUNCE ? this.#announce(packet, ip, ipLen, now, out) : this.#scrapeReply(packet, out);
  }

  #announce(packet: Uint8Array, ip: Uint8Array, ipLen: 4 | 16, now: number, out: Uint8Array): number {
    if (packet.length < ANNOUNCE_MIN_LEN) return this.#announceError(out, packet, "announce too short: 98 bytes needed");
    const req = this.#req;
    const err = decodeAnnounce(packet, req);
    if (err !== null) return this.#announceError(out, packet, err);
    if (this.#allows !== null && !this.#allows(packet, OFF_INFO_HASH)) {
      return this.#announceError(out, packet, NOT_ALLOWED);
    }
    for (let i = 0; i < ipLen; i++) req.ip[i] = ip[i];
    req.ipLen = ipLen;
    req.clientTag = clientTag(packet, OFF_PEER_ID);
    req.want4 = ipLen === 4;
    req.want6 = ipLen === 16;
    const cap = ipLen === 4 ? UDP_MAX_PEERS_V4 : UDP_MAX_PEERS_V6;
    req.numWant = resolveNumWant(readNumWant(packet), req.event, this.#settings, cap);
    const res = this.#res;
    this.#store.announce(req, now, res);
    if (res.refused !== 0) return this.#announceError(out, packet, REFUSED_REASON[res.refused]);
    this.counters.udpAnnounce++;
    let n = encodeAnnounceHeader(out, packet, this.#settings.interval.next(), res.incomplete, res.complete);
    const peers = ipLen === 4 ? res.peers4 : res.peers6;
    const bytes = ipLen === 4 ? res.count4 * PEER_LEN_V4 : res.count6 * PEER_LEN_V6;
    for (let i = 0; i < bytes; i++) out[n + i] = peers[i];
    n += bytes;
    return n;
  }

  #scrapeReply(packet: Uint8Array, out: Uint8Array): number {
    // A trailing partial hash is ignored; beyond 74 hashes the rest are ignored too (the reply stays small).
    const hashes = Math.min(Math.floor((packet.length - OFF_SCRAPE_HASHES) / INFO_HASH_LEN), MAX_SCRAPE_HASHES);
    if (hashes === 0) {
      this.counters.udpScrapeError++;
      return encodeError(out, packet, "scrape needs at least one info_hash (no full scrape)");
    }
    this.counters.udpScrape++;
    let n = encodeScrapeHeader(out, packet);
    const s = this.#scrape;
    for (let i = 0; i < hashes; i++) {
      // Entries are positional, so a torrent the access list refuses reads as unknown (zeros).
      const at = OFF_SCRAPE_HASHES + i * INFO_HASH_LEN;
      if (this.#allows === null || this.#allows(packet, at)) this.#store.scrapeBytes(packet, at, s);
      else s.complete = s.downloaded = s.incomplete = 0;
      n = encodeScrapeEntry(out, n, s.complete, s.downloaded, s.incomplete);
    }
    return n;
  }

  #announceError(out: Uint8Array, packet: Uint8Array, message: string): number {
    this.counters.udpAnnounceError++;
    return encodeError(out, packet, message);
  }

  #drop(): number {
    this.counters.udpDropped++;
    return 0;
  }
}
