// BEP 15 request handling: one datagram in, at most one datagram out. No sockets: the server passes the
// packet, the sender's canonical address and the time, and sends whatever this writes into `out`.
//
// Anti-amplification: nothing is sent to a sender that has not proven it owns its address (a valid
// connection id), except the 16-byte connect reply to a 16-byte connect. Short packets, unknown actions, a
// wrong magic and bad connection ids are dropped silently.

import type { Access } from "../core/access.ts";
import { AnnounceRequest, AnnounceResult, ScrapeCounts } from "../core/announce.ts";
import { FAILURE_TEXT, type FailureCode } from "../core/failure.ts";
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
import { type Ownership, ownerAt, SOLE_OWNER } from "../core/owner.ts";
import type { Counters, FailureCounts } from "./counters.ts";
import { NO_LIMIT, type SourceLimit } from "./source-limit.ts";
import { type AnnounceSettings, resolveNumWant } from "./settings.ts";

/**
 * Replies stay within 1232 bytes: the IPv6 minimum MTU (1280) less the IPv6 and UDP headers, so they are
 * never fragmented on any path. That is 202 IPv4 or 67 IPv6 peers.
 */
export const UDP_REPLY_BUDGET = 1232;
export const UDP_MAX_PEERS_V4 = Math.floor((UDP_REPLY_BUDGET - ANNOUNCE_REPLY_HEADER_LEN) / PEER_LEN_V4);
export const UDP_MAX_PEERS_V6 = Math.floor((UDP_REPLY_BUDGET - ANNOUNCE_REPLY_HEADER_LEN) / PEER_LEN_V6);

export interface UdpTrackerOptions {
  /** The access list (see core/access.ts), asked with the packet's bytes; null or absent: no list. */
  access?: Access | null;
  /** Per-source request budget: datagrams over it are dropped unanswered (an answer would cost as much). */
  limit?: Pick<SourceLimit, "allow">;
  /** This thread's place among the tracker's threads (--workers); absent: the only one. */
  owners?: Ownership;
}

/** What `handle` returns for a request another thread owns: the server hands it to thread `forwardTo`. */
export const FORWARD = -1;
/** `forwardTo` for a scrape whose hashes several threads own: each answers its part (see handleForwarded). */
export const MANY_OWNERS = -1;

export class UdpTracker {
  readonly #store: Store;
  readonly #connIds: ConnIdIssuer;
  readonly #settings: AnnounceSettings;
  readonly counters: Counters;
  readonly #req = new AnnounceRequest();
  readonly #res: AnnounceResult;
  readonly #scrape = new ScrapeCounts();

  readonly #access: Access | null;
  readonly #limit: Pick<SourceLimit, "allow">;
  readonly #failures: FailureCounts;
  readonly #owners: Ownership;
  /** After `handle` returned FORWARD: the thread that owns the request, or MANY_OWNERS. */
  forwardTo = 0;

  constructor(
    store: Store,
    connIds: ConnIdIssuer,
    settings: AnnounceSettings,
    counters: Counters,
    o: UdpTrackerOptions = {},
  ) {
    this.#access = o.access ?? null;
    this.#limit = o.limit ?? NO_LIMIT;
    this.#failures = counters.failures.udp;
    this.#owners = o.owners ?? SOLE_OWNER;
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
    // The rate limit first, as in every front end: before any parsing, so every datagram spends budget.
    if (!this.#limit.allow(ip, ipLen, now)) return this.#fail("rate_limited", -1 /* not read */, packet, out);
    const c = this.counters;
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
    if (this.#owners.count > 1) {
      const to = this.#ownerOf(action, packet);
      if (to !== this.#owners.self) {
        this.forwardTo = to;
        return FORWARD;
      }
    }
    return action === ACTION_ANNOUNCE ? this.#announce(packet, ip, ipLen, now, out) : this.#scrapeReply(packet, out);
  }

  /**
   * A request `handle` passed to another thread, answered there (the sender's limit and connection id were
   * checked by the thread that read it). `part`: one owner's share of a scrape whose hashes several threads
   * own: the entries of hashes it does not own read as unknown, and the caller counts the scrape once.
   */
  handleForwarded(packet: Uint8Array, ip: Uint8Array, ipLen: 4 | 16, now: number, out: Uint8Array, part: boolean) {
    return readU32(packet, OFF_ACTION) === ACTION_ANNOUNCE
      ? this.#announce(packet, ip, ipLen, now, out)
      : this.#scrapeReply(packet, out, part);
  }

  /** The thread that owns an announce or scrape (a short or empty one: this thread, which refuses it). */
  #ownerOf(action: number, packet: Uint8Array): number {
    const { self, count } = this.#owners;
    if (action === ACTION_ANNOUNCE)
      return packet.length < ANNOUNCE_MIN_LEN ? self : ownerAt(packet, OFF_INFO_HASH, count);
    const hashes = scrapeHashCount(packet);
    if (hashes === 0) return self;
    const first = ownerAt(packet, OFF_SCRAPE_HASHES, count);
    for (let i = 1; i < hashes; i++) {
      if (ownerAt(packet, OFF_SCRAPE_HASHES + i * INFO_HASH_LEN, count) !== first) return MANY_OWNERS;
    }
    return first;
  }

  #announce(packet: Uint8Array, ip: Uint8Array, ipLen: 4 | 16, now: number, out: Uint8Array): number {
    if (packet.length < ANNOUNCE_MIN_LEN) return this.#fail("announce_too_short", ACTION_ANNOUNCE, packet, out);
    const req = this.#req;
    const err = decodeAnnounce(packet, req);
    if (err !== null) return this.#fail(err, ACTION_ANNOUNCE, packet, out);
    if (this.#access !== null && !this.#access.allowsBytes(packet, OFF_INFO_HASH))
      return this.#fail("not_allowed", ACTION_ANNOUNCE, packet, out);
    for (let i = 0; i < ipLen; i++) req.ip[i] = ip[i];
    req.ipLen = ipLen;
    req.clientTag = clientTag(packet, OFF_PEER_ID);
    req.want4 = ipLen === 4;
    req.want6 = ipLen === 16;
    const cap = ipLen === 4 ? UDP_MAX_PEERS_V4 : UDP_MAX_PEERS_V6;
    req.numWant = resolveNumWant(readNumWant(packet), req.event, this.#settings, cap);
    const res = this.#res;
    this.#store.announce(req, now, res);
    if (res.refused !== null) return this.#fail(res.refused, ACTION_ANNOUNCE, packet, out);
    this.counters.udpAnnounce++;
    let n = encodeAnnounceHeader(out, packet, this.#settings.interval.next(), res.incomplete, res.complete);
    const peers = ipLen === 4 ? res.peers4 : res.peers6;
    const bytes = ipLen === 4 ? res.count4 * PEER_LEN_V4 : res.count6 * PEER_LEN_V6;
    for (let i = 0; i < bytes; i++) out[n + i] = peers[i];
    n += bytes;
    return n;
  }

  #scrapeReply(packet: Uint8Array, out: Uint8Array, part = false): number {
    const hashes = scrapeHashCount(packet);
    if (hashes === 0) return this.#fail("missing_info_hash", ACTION_SCRAPE, packet, out); // no full scrape over UDP
    if (!part) this.counters.udpScrape++;
    let n = encodeScrapeHeader(out, packet);
    const s = this.#scrape;
    for (let i = 0; i < hashes; i++) {
      // Entries are positional, so a torrent the access list refuses reads as unknown (zeros).
      const at = OFF_SCRAPE_HASHES + i * INFO_HASH_LEN;
      if (this.#access === null || this.#access.allowsBytes(packet, at)) this.#store.scrapeBytes(packet, at, s);
      else s.complete = s.downloaded = s.incomplete = 0;
      n = encodeScrapeEntry(out, n, s.complete, s.downloaded, s.incomplete);
    }
    return n;
  }

  /**
   * The one way a refusal becomes a BEP 15 reply: an error packet with the code's text, counted by code and as
   * a failed announce or scrape. Over the rate limit: no reply at all, whatever the action (an answer would
   * cost as much as the request, and the datagram is not even read).
   */
  #fail(code: FailureCode, action: number, packet: Uint8Array, out: Uint8Array): number {
    this.#failures[code]++;
    if (code === "rate_limited") return 0;
    if (action === ACTION_SCRAPE) this.counters.udpScrapeError++;
    else this.counters.udpAnnounceError++;
    return encodeError(out, packet, FAILURE_TEXT[code]);
  }

  #drop(): number {
    this.counters.udpDropped++;
    return 0;
  }
}

/** The hashes a scrape asks for: a trailing partial hash is ignored, and any beyond 74 (the reply stays small). */
export function scrapeHashCount(packet: Uint8Array): number {
  return Math.max(0, Math.min(Math.floor((packet.length - OFF_SCRAPE_HASHES) / INFO_HASH_LEN), MAX_SCRAPE_HASHES));
}
