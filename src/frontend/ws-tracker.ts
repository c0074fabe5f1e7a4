// WebTorrent tracker handling (WebSocket): browsers announce with WebRTC offers, the tracker passes each offer
// to another peer of the torrent and passes the answer back. No sockets here: the server hands in each
// connection's messages and gives every connection a `send`.
//
// Who is who: a peer id belongs to the connection that first announced it, until that connection closes. A
// second connection cannot take it over, so nobody can receive answers meant for another peer. Each owned
// peer id gets a numeric handle, and the store keeps WebRTC peers under that handle (server-chosen, so a
// client cannot pick keys that collide in the store's indexes). Offers and answers only travel between
// peers of the same torrent, and an answer only for an offer that was actually relayed: to the peer that
// answers, from the peer it goes back to, once, within OFFER_ANSWER_TIMEOUT_S (see pending-offers.ts).
//
// Bounds: at most maxSocketsPerIp connections per IPv4 address or IPv6 /64, MAX_PEER_IDS_PER_CONNECTION
// peer ids and MAX_SWARMS_PER_CONNECTION torrents per connection, maxOffers offers relayed per announce,
// MAX_PENDING_OFFERS answerable offers per connection; message size and idle time are capped by the server. Closing a connection takes its peers out of every
// swarm at once.

import type { Access } from "../core/access.ts";
import {
  AnnounceRequest,
  AnnounceResult,
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_STARTED,
  EVENT_STOPPED,
  type RtcHandle,
  rtcHandle,
  ScrapeCounts,
} from "../core/announce.ts";
import { clientTagOfString } from "../core/clients.ts";
import { FAILURE_TEXT, type FailureCode } from "../core/failure.ts";
import type { Store } from "../core/store.ts";
import {
  announceReply,
  answerMessage,
  failureReply,
  isInvalid,
  offerMessage,
  parseWsMessage,
  scrapeReply,
  type WsAnnounce,
  type WsScrape,
  type WsScrapeFile,
} from "../codec/ws-message.ts";
import type { Counters, FailureCounts } from "./counters.ts";
import { PendingOffers } from "./pending-offers.ts";
import { NO_LIMIT, type SourceLimit } from "./source-limit.ts";
import type { IntervalSource } from "./settings.ts";

/** Offers relayed per announce (the reference client sends up to 10; aquatic's default cap is 10 too). */
export const DEFAULT_MAX_OFFERS = 10;
/** Info hashes one scrape may name (as for HTTP). */
export const MAX_WS_SCRAPE_HASHES = 100;
/** Several WebTorrent clients in one page share a connection, each with its own peer id. */
export const MAX_PEER_IDS_PER_CONNECTION = 16;
/** Torrents one connection may be in (a page seeding many torrents uses one connection for all). */
export const MAX_SWARMS_PER_CONNECTION = 1000;

export interface WsTrackerOptions {
  /** Announce interval sent to WebTorrent clients (short: their offers go stale quickly). */
  interval: IntervalSource;
  /** Sent as the scrape's min_request_interval, seconds. */
  minIntervalS: number;
  maxSocketsPerIp: number;
  maxOffers?: number;
  /** The access list (see core/access.ts); null or absent: no list, every torrent is served. */
  access?: Access | null;
  limit?: Pick<SourceLimit, "allow">;
}

/** Where replies and relayed messages go; the server wraps its WebSocket in this. */
export interface WsSink {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** One WebSocket connection's state. Made by `connect`, passed back with every message and at close. */
export class WsConnection {
  sink: WsSink | null = null;
  readonly ip: Uint8Array;
  readonly ipLen: 4 | 16;
  readonly sourceKey: string;
  /** Peer ids this connection owns -> their handles. */
  readonly peerIds = new Map<string, RtcHandle>();
  /** Torrents it is in, as info hash + peer id (40 chars; the peer id's handle is in peerIds). */
  readonly swarms = new Set<string>();
  /** Offers relayed to this connection that it may answer. */
  readonly offers = new PendingOffers();
  closed = false;

  constructor(ip: Uint8Array, ipLen: 4 | 16, sourceKey: string) {
    this.ip = ip;
    this.ipLen = ipLen;
    this.sourceKey = sourceKey;
  }

  send(text: string): void {
    if (!this.closed) this.sink?.send(text);
  }
}

interface Owner {
  conn: WsConnection;
  peerId: string;
}

export class WsTracker {
  readonly #store: Store;
  readonly counters: Counters;
  readonly #o: Required<WsTrackerOptions>;
  readonly #req = new AnnounceRequest();
  readonly #res: AnnounceResult;
  readonly #counts = new ScrapeCounts();
  readonly #failures: FailureCounts;
  /** Peer id -> handle, and handle -> owner. */
  readonly #handleOf = new Map<string, RtcHandle>();
  readonly #owners = new Map<RtcHandle, Owner>();
  #nextHandle = 1;
  /** Open connections per source (IPv4 address or IPv6 /64). */
  readonly #perSource = new Map<string, number>();
  readonly connections = new Set<WsConnection>();

  constructor(store: Store, counters: Counters, o: WsTrackerOptions) {
    this.#store = store;
    this.counters = counters;
    this.#o = { maxOffers: DEFAULT_MAX_OFFERS, access: null, limit: NO_LIMIT, ...o };
    this.#failures = counters.failures.websocket;
    this.#res = new AnnounceResult(this.#o.maxOffers);
    this.#req.webrtc = true;
    // A WebRTC peer counts against its connection's address in the store's per-source share.
    store.setRtcAddressLookup((handle, out) => {
      const owner = this.#owners.get(handle);
      if (owner === undefined) return 0;
      out.set(owner.conn.ip);
      return owner.conn.ipLen;
    });
  }

  /**
   * A new connection from ip[0..ipLen), or null when its source already has maxSocketsPerIp open (counted as
   * too_many_connections; the server refuses the handshake with that code's text).
   */
  connect(ip: Uint8Array, ipLen: 4 | 16): WsConnection | null {
    const key = sourceKey(ip, ipLen);
    const open = this.#perSource.get(key) ?? 0;
    if (open >= this.#o.maxSocketsPerIp) {
      this.#failures.too_many_connections++;
      return null;
    }
    this.#perSource.set(key, open + 1);
    const conn = new WsConnection(ip.slice(0, ipLen), ipLen, key);
    this.connections.add(conn);
    return conn;
  }

  /** One message as it came: text, or a binary frame (refused: the protocol is JSON text). */
  message(conn: WsConnection, data: string | Uint8Array, now: number): void {
    if (conn.closed) return;
    // The rate limit first, as in every front end: before any parsing, so every message spends budget,
    // malformed ones too.
    const limited = !this.#o.limit.allow(conn.ip, conn.ipLen, now);
    if (typeof data !== "string") return this.#fail(conn, null, null, limited ? "rate_limited" : "invalid_message");
    const m = parseWsMessage(data, this.#o.maxOffers, MAX_WS_SCRAPE_HASHES);
    // An over-limit message is read only to route its failure: the reference client takes a failure without
    // action and info_hash for a broken socket and reconnects, which would cost more than the parse.
    if (limited) return this.#fail(conn, m.action, "infoHash" in m ? m.infoHash : null, "rate_limited");
    if (isInvalid(m)) return this.#fail(conn, m.action, m.infoHash, m.code);
    if (m.action === "scrape") this.#scrape(conn, m);
    else if (m.answer !== null) this.#answer(conn, m, now);
    else this.#announce(conn, m, now);
  }

  /** The connection is gone: its peers leave every swarm and its peer ids are free again. */
  close(conn: WsConnection, now: number): void {
    if (conn.closed) return;
    conn.closed = true;
    this.connections.delete(conn);
    for (const member of conn.swarms) this.#leave(member.slice(0, 20), conn.peerIds.get(member.slice(20))!, now);
    conn.swarms.clear();
    for (const [peerId, handle] of conn.peerIds) {
      this.#handleOf.delete(peerId);
      this.#owners.delete(handle);
    }
    conn.peerIds.clear();
    const open = (this.#perSource.get(conn.sourceKey) ?? 1) - 1;
    if (open > 0) this.#perSource.set(conn.sourceKey, open);
    else this.#perSource.delete(conn.sourceKey);
  }

  /** Open connections. */
  get size(): number {
    return this.connections.size;
  }

  #announce(conn: WsConnection, m: WsAnnounce, now: number): void {
    const access = this.#o.access;
    if (access !== null && !access.allows(m.infoHash)) return this.#fail(conn, "announce", m.infoHash, "not_allowed");
    const handle = this.#own(conn, m.peerId);
    if (typeof handle === "string") return this.#fail(conn, "announce", m.infoHash, handle);
    const member = m.infoHash + m.peerId;
    const stopping = m.event === "stopped";
    if (!stopping && !conn.swarms.has(member) && conn.swarms.size >= MAX_SWARMS_PER_CONNECTION) {
      return this.#fail(conn, "announce", m.infoHash, "too_many_torrents");
    }
    const req = this.#req;
    req.infoHash = m.infoHash;
    req.rtcHandle = handle;
    req.left = m.left === null ? 1 : m.left; // unknown: not a seeder
    req.event = stopping
      ? EVENT_STOPPED
      : m.event === "completed"
        ? EVENT_COMPLETED
        : m.event === "started"
          ? EVENT_STARTED
          : EVENT_NONE;
    req.numWant = stopping ? 0 : m.offers.length;
    req.clientTag = clientTagOfString(m.peerId);
    const res = this.#res;
    this.#store.announce(req, now, res);
    if (res.refused !== null) return this.#fail(conn, "announce", m.infoHash, res.refused);
    this.counters.wsAnnounce++;
    if (stopping) conn.swarms.delete(member);
    else conn.swarms.add(member);
    conn.send(announceReply(m.infoHash, this.#o.interval.next(), res.complete, res.incomplete));
    // Each chosen peer gets one of the offers.
    for (let i = 0; i < res.countRtc; i++) {
      const receiver = res.rtcPeer(i);
      const owner = this.#owners.get(receiver);
      if (owner === undefined) continue;
      owner.conn.offers.add(m.offers[i].offerId, m.infoHash, handle, receiver, now);
      owner.conn.send(offerMessage(m.infoHash, m.peerId, m.offers[i]));
      this.counters.wsOffersRelayed++;
    }
  }

  /**
   * An answer goes to the peer that made the offer, if that offer was relayed to this peer (and not answered
   * yet, nor expired), and both are still in the torrent it names.
   */
  #answer(conn: WsConnection, m: WsAnnounce, now: number): void {
    const a = m.answer!;
    const from = conn.peerIds.get(m.peerId);
    const to = this.#handleOf.get(a.toPeerId);
    const owner = to === undefined ? undefined : this.#owners.get(to);
    const bothIn =
      from !== undefined &&
      owner !== undefined &&
      conn.swarms.has(m.infoHash + m.peerId) &&
      owner.conn.swarms.has(m.infoHash + a.toPeerId);
    const access = this.#o.access;
    if (
      !bothIn ||
      (access !== null && !access.allows(m.infoHash)) ||
      !conn.offers.take(a.offerId, m.infoHash, to!, from!, now)
    ) {
      // No reply on success either (the reference server sends none for answers); a dropped answer is counted.
      this.counters.wsAnswersDropped++;
      return;
    }
    owner!.conn.send(answerMessage(m.infoHash, m.peerId, a.offerId, a.answer));
    this.counters.wsAnswersRelayed++;
  }

  #scrape(conn: WsConnection, m: WsScrape): void {
    const files: Record<string, WsScrapeFile> = {};
    const c = this.#counts;
    const access = this.#o.access;
    for (const h of m.infoHashes) {
      if (access !== null && !access.allows(h)) continue; // as if unknown to this tracker
      this.#store.scrape(h, c);
      files[h] = { complete: c.complete, incomplete: c.incomplete, downloaded: c.downloaded };
    }
    this.counters.wsScrape++;
    conn.send(scrapeReply(files, this.#o.minIntervalS));
  }

  /** The handle of `peerId` for this connection, taking ownership if it is free; or why not. */
  #own(conn: WsConnection, peerId: string): RtcHandle | FailureCode {
    const mine = conn.peerIds.get(peerId);
    if (mine !== undefined) return mine;
    if (this.#handleOf.has(peerId)) return "peer_id_in_use";
    if (conn.peerIds.size >= MAX_PEER_IDS_PER_CONNECTION) return "too_many_peer_ids";
    let n = this.#nextHandle;
    while (this.#owners.has(n as RtcHandle)) n = (n + 1) >>> 0 || 1;
    this.#nextHandle = (n + 1) >>> 0 || 1;
    const handle = rtcHandle(n);
    this.#handleOf.set(peerId, handle);
    this.#owners.set(handle, { conn, peerId });
    conn.peerIds.set(peerId, handle);
    return handle;
  }

  #leave(infoHash: string, handle: RtcHandle, now: number): void {
    const req = this.#req;
    req.infoHash = infoHash;
    req.rtcHandle = handle;
    req.event = EVENT_STOPPED;
    req.numWant = 0;
    this.#store.announce(req, now, this.#res);
  }

  /**
   * The one way a refusal becomes a WebSocket reply: a `failure reason` with the code's text and the action
   * and info hash the reference client routes it by (when known), counted by code and, but for the rate
   * limit, as a failed announce or scrape.
   */
  #fail(conn: WsConnection, action: "announce" | "scrape" | null, infoHash: string | null, code: FailureCode): void {
    this.#failures[code]++;
    if (code !== "rate_limited") {
      if (action === "scrape") this.counters.wsScrapeFailure++;
      else this.counters.wsAnnounceFailure++;
    }
    conn.send(failureReply(action, infoHash, FAILURE_TEXT[code]));
  }
}

/** The rate-limit and connection-cap unit: an IPv4 address or an IPv6 /64 (one subscriber's prefix). */
function sourceKey(ip: Uint8Array, ipLen: 4 | 16): string {
  let key = ipLen === 4 ? "4:" : "6:";
  for (let i = 0; i < (ipLen === 4 ? 4 : 8); i++) key += String.fromCharCode(ip[i]);
  return key;
}
