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
//
// Several threads (--workers): a connection lives on the thread that accepted it, a torrent's swarm on the
// thread that owns its info hash (core/owner.ts). A handle carries its connection's thread in its top bits
// (HANDLE_THREAD_SHIFT), so any thread can tell where a peer's connection is. The connection's thread does
// everything about the connection (rate limit, parse, access list, peer ids, its torrent count, pending offers)
// and hands the store part of an announce or scrape to the owner (`WsRelay`, server/workers/ws-forwarding.ts);
// the owner answers with counts and the chosen peers' handles, and the connection's thread sends the reply and
// the offers: to its own connections directly, to another thread's through the relay. That thread records the
// offer in its connection's pending offers exactly as for its own, so an answer is checked as strictly, and the
// answer goes back by the maker's handle (kept in the pending offer), to whichever thread holds it. A closing
// connection's peers leave the local swarms at once, and every other thread it announced to is told to drop
// them (`forget`); an owner that sees the peer id announced again by another connection before that news
// arrives drops the old peer itself (#dropStale). Peer ids and the per-source connection cap hold across
// threads through `WsClaims` (shared tables, server/workers/ws-claims.ts); each thread also keeps its own maps,
// which alone decide with one thread.

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
import { type Ownership, ownerOf, SOLE_OWNER } from "../core/owner.ts";
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
  type WsOffer,
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
/** A handle's thread is in its top 8 bits (--workers is at most 256), its number within the thread below. */
export const HANDLE_THREAD_SHIFT = 24;
const HANDLE_NUMBER_MASK = (1 << HANDLE_THREAD_SHIFT) - 1;

/** The thread whose connection owns handle `h`. */
export function threadOfHandle(h: RtcHandle): number {
  return h >>> HANDLE_THREAD_SHIFT;
}

/** A WebRTC announce handed to the owner of its info hash (see WsRelay). */
export interface ForwardedWsAnnounce {
  infoHash: string;
  peerId: string;
  handle: RtcHandle;
  /** The connection's address (the store's per-source share counts a WebRTC peer against it). */
  ip: Uint8Array;
  ipLen: 4 | 16;
  left: number;
  /** EVENT_* of core/announce.ts. */
  event: number;
  numWant: number;
  now: number;
}

/** The owner's answer to a forwarded announce. */
export interface WsAnnounceVerdict {
  refused: FailureCode | null;
  complete: number;
  incomplete: number;
  /** The peers the offers go to, in offer order. */
  receivers: ArrayLike<number>;
}

/**
 * How one thread's WebSocket tracker reaches the others (server/workers/ws-forwarding.ts). `done` callbacks
 * hear null when no answer came (the owner is gone or swamped).
 */
export interface WsRelay {
  announce(to: number, a: ForwardedWsAnnounce, done: (v: WsAnnounceVerdict | null) => void): void;
  /** complete, incomplete, downloaded for each hash, in order. */
  scrape(to: number, hashes: readonly string[], done: (counts: ArrayLike<number> | null) => void): void;
  /** Handles of a closed connection: their peers leave every swarm on thread `to`. */
  forget(to: number, handles: readonly RtcHandle[]): void;
  /** An offer message for `receiver`'s connection, to be recorded in its pending offers (see deliverOffer). */
  offer(
    receiver: RtcHandle,
    maker: RtcHandle,
    makerPeerId: string,
    offerId: string,
    infoHash: string,
    text: string,
    now: number,
  ): void;
  /** An answer message for `maker`'s connection, if it is still peer `makerPeerId` in `infoHash`. */
  answer(maker: RtcHandle, makerPeerId: string, infoHash: string, text: string): void;
}

/** The limits that span threads (server/workers/ws-claims.ts); absent with one thread. */
export interface WsClaims {
  /** One more connection from the source of ip[0..ipLen), unless all threads together have `max` open. */
  connect(ip: Uint8Array, ipLen: 4 | 16, max: number): boolean;
  disconnect(ip: Uint8Array, ipLen: 4 | 16): void;
  /** Peer id `peerId` for `handle`, unless another handle holds it (or there is no room for another). */
  claim(peerId: string, handle: RtcHandle): boolean;
  release(peerId: string, handle: RtcHandle): void;
}

/** A WebRTC peer whose connection is on another thread, in a swarm of this thread's (see WsTracker.#remote). */
interface RemotePeer {
  readonly peerId: string;
  readonly ip: Uint8Array;
  readonly ipLen: 4 | 16;
  /** The info hashes it is in here. */
  readonly hashes: Set<string>;
}

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
  /** This thread among the tracker's threads (--workers); one thread when absent. */
  owners?: Ownership;
  /** With several threads: the limits they share. */
  claims?: WsClaims | null;
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
  /** Other threads it has announced to (they hold its peers; see WsTracker.close). */
  readonly threads = new Set<number>();
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
  /** This thread's number in the top bits of its handles. */
  readonly #threadBits: number;
  #relay: WsRelay | null = null;
  /** Peers of other threads' connections in this thread's swarms, by handle: their address, their torrents. */
  readonly #remote = new Map<RtcHandle, RemotePeer>();
  /** The handle of each of #remote's peers by peer id (see #dropStale). */
  readonly #remoteByPeerId = new Map<string, RtcHandle>();
  /** Open connections per source (IPv4 address or IPv6 /64). */
  readonly #perSource = new Map<string, number>();
  readonly connections = new Set<WsConnection>();

  constructor(store: Store, counters: Counters, o: WsTrackerOptions) {
    this.#store = store;
    this.counters = counters;
    this.#o = { maxOffers: DEFAULT_MAX_OFFERS, access: null, limit: NO_LIMIT, owners: SOLE_OWNER, claims: null, ...o };
    this.#threadBits = (this.#o.owners.self << HANDLE_THREAD_SHIFT) >>> 0;
    // A restarted thread numbers its handles from somewhere else: its predecessor's peers leave the other
    // threads' swarms as it starts (forgetThread), but an offer or answer already on its way may name one.
    if (this.#o.owners.count > 1) this.#nextHandle = 1 + Math.floor(Math.random() * (HANDLE_NUMBER_MASK - 1));
    this.#failures = counters.failures.websocket;
    this.#res = new AnnounceResult(this.#o.maxOffers);
    this.#req.webrtc = true;
    // A WebRTC peer counts against its connection's address in the store's per-source share.
    // (A peer of another thread's connection: the address its announce brought along.)
    store.setRtcAddressLookup((handle, out) => {
      const owner = this.#owners.get(handle);
      if (owner !== undefined) {
        out.set(owner.conn.ip);
        return owner.conn.ipLen;
      }
      const remote = this.#remote.get(handle);
      if (remote === undefined) return 0;
      out.set(remote.ip);
      return remote.ipLen;
    });
  }

  /** How this thread reaches the others (set once, before the first connection, when there are several). */
  relayVia(relay: WsRelay): void {
    this.#relay = relay;
  }

  /** Peers of other threads' connections in this thread's swarms (for tests and /metrics). */
  get remotePeers(): number {
    return this.#remote.size;
  }

  /**
   * A new connection from ip[0..ipLen), or null when its source already has maxSocketsPerIp open (counted as
   * too_many_connections; the server refuses the handshake with that code's text).
   */
  connect(ip: Uint8Array, ipLen: 4 | 16): WsConnection | null {
    const key = sourceKey(ip, ipLen);
    const open = this.#perSource.get(key) ?? 0;
    const claims = this.#o.claims;
    if (open >= this.#o.maxSocketsPerIp || (claims !== null && !claims.connect(ip, ipLen, this.#o.maxSocketsPerIp))) {
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
    const count = this.#o.owners.count;
    for (const member of conn.swarms) {
      const infoHash = member.slice(0, 20);
      if (count === 1 || ownerOf(infoHash, count) === this.#o.owners.self) {
        this.#leave(infoHash, conn.peerIds.get(member.slice(20))!, now);
      }
    }
    conn.swarms.clear();
    if (conn.threads.size > 0) {
      const handles = [...conn.peerIds.values()];
      for (const to of conn.threads) this.#relay!.forget(to, handles);
    }
    const claims = this.#o.claims;
    for (const [peerId, handle] of conn.peerIds) {
      this.#handleOf.delete(peerId);
      this.#owners.delete(handle);
      claims?.release(peerId, handle);
    }
    conn.peerIds.clear();
    claims?.disconnect(conn.ip, conn.ipLen);
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
    const { self, count } = this.#o.owners;
    if (count > 1) {
      const to = ownerOf(m.infoHash, count);
      if (to !== self) return this.#announceElsewhere(conn, m, handle, member, stopping, to, now);
      if (this.#remote.size > 0) this.#dropStale(m.peerId, handle, now);
    }
    const req = this.#req;
    req.infoHash = m.infoHash;
    req.rtcHandle = handle;
    req.left = m.left === null ? 1 : m.left; // unknown: not a seeder
    req.event = wsEvent(m);
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
    for (let i = 0; i < res.countRtc; i++) this.#offer(m.infoHash, m.peerId, m.offers[i], handle, res.rtcPeer(i), now);
  }

  /**
   * The store part of an announce for a torrent thread `to` owns: the owner records it and picks the peers, and
   * the reply and the offers leave from here. The connection counts as in the swarm from now on (out of it at
   * once for a stop), so that a close while the owner answers still takes its peer out there: the close's
   * `forget` travels behind this announce on the same ring.
   */
  #announceElsewhere(
    conn: WsConnection,
    m: WsAnnounce,
    handle: RtcHandle,
    member: string,
    stopping: boolean,
    to: number,
    now: number,
  ): void {
    const wasMember = conn.swarms.has(member);
    if (stopping) conn.swarms.delete(member);
    else conn.swarms.add(member);
    conn.threads.add(to);
    const { infoHash, peerId, offers } = m;
    const forwarded: ForwardedWsAnnounce = {
      infoHash,
      peerId,
      handle,
      ip: conn.ip,
      ipLen: conn.ipLen,
      left: m.left === null ? 1 : m.left,
      event: wsEvent(m),
      numWant: stopping ? 0 : offers.length,
      now,
    };
    this.#relay!.announce(to, forwarded, (v) => {
      if (conn.closed) return;
      if (v === null) return this.#fail(conn, "announce", infoHash, "busy");
      if (v.refused !== null) {
        if (!wasMember && !stopping) conn.swarms.delete(member);
        return this.#fail(conn, "announce", infoHash, v.refused);
      }
      this.counters.wsAnnounce++;
      conn.send(announceReply(infoHash, this.#o.interval.next(), v.complete, v.incomplete));
      for (let i = 0; i < v.receivers.length; i++) {
        this.#offer(infoHash, peerId, offers[i], handle, v.receivers[i] as RtcHandle, now);
      }
    });
  }

  /** One offer from `maker` to `receiver`: here, or through the thread that holds the receiver's connection. */
  #offer(infoHash: string, makerPeerId: string, offer: WsOffer, maker: RtcHandle, receiver: RtcHandle, now: number) {
    if (threadOfHandle(receiver) !== this.#o.owners.self) {
      const text = offerMessage(infoHash, makerPeerId, offer);
      this.#relay!.offer(receiver, maker, makerPeerId, offer.offerId, infoHash, text, now);
      return;
    }
    const owner = this.#owners.get(receiver);
    if (owner === undefined) return;
    owner.conn.offers.add(offer.offerId, infoHash, maker, receiver, now, makerPeerId);
    owner.conn.send(offerMessage(infoHash, makerPeerId, offer));
    this.counters.wsOffersRelayed++;
  }

  /**
   * An answer goes to the peer that made the offer, if that offer was relayed to this peer (and not answered
   * yet, nor expired), and both are still in the torrent it names. The maker is the handle the offer came
   * from (kept with it); when its connection is on another thread, that thread checks the maker's side.
   */
  #answer(conn: WsConnection, m: WsAnnounce, now: number): void {
    const a = m.answer!;
    const from = conn.peerIds.get(m.peerId);
    const access = this.#o.access;
    const slot =
      from === undefined || !conn.swarms.has(m.infoHash + m.peerId) || (access !== null && !access.allows(m.infoHash))
        ? -1
        : conn.offers.find(a.offerId, m.infoHash, a.toPeerId, from, now);
    const maker = slot < 0 ? 0 : conn.offers.makerAt(slot);
    if (maker !== 0 && threadOfHandle(maker as RtcHandle) !== this.#o.owners.self) {
      conn.offers.end(slot);
      this.#relay!.answer(
        maker as RtcHandle,
        a.toPeerId,
        m.infoHash,
        answerMessage(m.infoHash, m.peerId, a.offerId, a.answer),
      );
      return;
    }
    const owner = maker === 0 ? undefined : this.#owners.get(maker as RtcHandle);
    if (owner === undefined || owner.peerId !== a.toPeerId || !owner.conn.swarms.has(m.infoHash + a.toPeerId)) {
      // No reply on success either (the reference server sends none for answers); a dropped answer is counted.
      this.counters.wsAnswersDropped++;
      return;
    }
    conn.offers.end(slot);
    owner.conn.send(answerMessage(m.infoHash, m.peerId, a.offerId, a.answer));
    this.counters.wsAnswersRelayed++;
  }

  #scrape(conn: WsConnection, m: WsScrape): void {
    const access = this.#o.access;
    const { self, count } = this.#o.owners;
    const hashes = access === null ? m.infoHashes : m.infoHashes.filter((h) => access.allows(h)); // others: unknown
    if (count === 1) return this.#scraped(conn, hashes, null);
    // Each owner's counts, then one reply in the order asked.
    const counts = new Array<number>(hashes.length * 3);
    const elsewhere = new Map<number, number[]>();
    const c = this.#counts;
    hashes.forEach((h, i) => {
      const to = ownerOf(h, count);
      if (to === self) {
        this.#store.scrape(h, c);
        counts[i * 3] = c.complete;
        counts[i * 3 + 1] = c.incomplete;
        counts[i * 3 + 2] = c.downloaded;
      } else {
        const list = elsewhere.get(to);
        if (list === undefined) elsewhere.set(to, [i]);
        else list.push(i);
      }
    });
    if (elsewhere.size === 0) return this.#scraped(conn, hashes, counts);
    let waiting = elsewhere.size;
    let failed = false;
    for (const [to, list] of elsewhere) {
      this.#relay!.scrape(
        to,
        list.map((i) => hashes[i]),
        (part) => {
          if (part === null) failed = true;
          else
            list.forEach((i, k) => {
              for (let j = 0; j < 3; j++) counts[i * 3 + j] = part[k * 3 + j];
            });
          if (--waiting > 0 || conn.closed) return;
          if (failed) this.#fail(conn, "scrape", null, "busy");
          else this.#scraped(conn, hashes, counts);
        },
      );
    }
  }

  /** The scrape reply: counts from `counts` (complete, incomplete, downloaded per hash), or from the store. */
  #scraped(conn: WsConnection, hashes: readonly string[], counts: readonly number[] | null): void {
    const files: Record<string, WsScrapeFile> = {};
    const c = this.#counts;
    hashes.forEach((h, i) => {
      if (counts === null) {
        this.#store.scrape(h, c);
        files[h] = { complete: c.complete, incomplete: c.incomplete, downloaded: c.downloaded };
      } else files[h] = { complete: counts[i * 3], incomplete: counts[i * 3 + 1], downloaded: counts[i * 3 + 2] };
    });
    this.counters.wsScrape++;
    conn.send(scrapeReply(files, this.#o.minIntervalS));
  }

  // ---- what other threads hand this one (server/workers/ws-forwarding.ts)

  /**
   * A WebRTC announce from another thread's connection for a torrent this thread owns: recorded in the store
   * under its handle, with its address for the per-source share. Returns the store's result (reused: read it
   * before the next announce).
   */
  announceForwarded(a: ForwardedWsAnnounce): AnnounceResult {
    let peer = this.#remote.get(a.handle);
    if (peer === undefined) {
      this.#dropStale(a.peerId, a.handle, a.now);
      peer = { peerId: a.peerId, ip: a.ip.slice(0, a.ipLen), ipLen: a.ipLen, hashes: new Set() };
      this.#remote.set(a.handle, peer); // before the store asks for its address
      this.#remoteByPeerId.set(a.peerId, a.handle);
    }
    const req = this.#req;
    req.infoHash = a.infoHash;
    req.rtcHandle = a.handle;
    req.left = a.left;
    req.event = a.event;
    req.numWant = a.numWant;
    req.clientTag = clientTagOfString(a.peerId);
    const res = this.#res;
    this.#store.announce(req, a.now, res);
    if (res.refused === null) {
      if (a.event === EVENT_STOPPED) peer.hashes.delete(a.infoHash);
      else peer.hashes.add(a.infoHash);
    }
    if (peer.hashes.size === 0) this.#forgetRemote(a.handle, peer);
    return res;
  }

  /**
   * `peerId` announced under `handle`, so any other handle it had here is a closed connection's (a peer id is
   * claimed by one connection at a time): its peers leave now. The close's `forget` may still be on its way
   * from the old connection's thread, behind this announce, which would otherwise find the peer twice.
   */
  #dropStale(peerId: string, handle: RtcHandle, now: number): void {
    const stale = this.#remoteByPeerId.get(peerId);
    if (stale !== undefined && stale !== handle) this.forget([stale], now);
  }

  #forgetRemote(handle: RtcHandle, peer: RemotePeer): void {
    this.#remote.delete(handle);
    if (this.#remoteByPeerId.get(peer.peerId) === handle) this.#remoteByPeerId.delete(peer.peerId);
  }

  /** Counts of this thread's torrents for another thread's scrape: complete, incomplete, downloaded each. */
  scrapeForwarded(hashes: readonly string[], out: number[]): void {
    const c = this.#counts;
    for (const h of hashes) {
      this.#store.scrape(h, c);
      out.push(c.complete, c.incomplete, c.downloaded);
    }
  }

  /** Another thread's connection closed: its peers leave this thread's swarms. */
  forget(handles: readonly RtcHandle[], now: number): void {
    for (const handle of handles) {
      const peer = this.#remote.get(handle);
      if (peer === undefined) continue;
      for (const infoHash of peer.hashes) this.#leave(infoHash, handle, now);
      this.#forgetRemote(handle, peer); // after: the store asked for its address as each peer left
    }
  }

  /**
   * Thread `thread` was started again (after a crash): its connections went with the old one, so their peers
   * leave this thread's swarms now instead of when they expire.
   */
  forgetThread(thread: number, now: number): void {
    const gone: RtcHandle[] = [];
    for (const handle of this.#remote.keys()) if (threadOfHandle(handle) === thread) gone.push(handle);
    this.forget(gone, now);
  }

  /** An offer for a connection of this thread, chosen by another thread's store (see #offer). */
  deliverOffer(
    receiver: RtcHandle,
    maker: RtcHandle,
    makerPeerId: string,
    offerId: string,
    infoHash: string,
    text: string,
    now: number,
  ): void {
    const owner = this.#owners.get(receiver);
    // (Gone, or out of the torrent since the owner picked it: its stop is on the way there.)
    if (owner === undefined || !owner.conn.swarms.has(infoHash + owner.peerId)) return;
    owner.conn.offers.add(offerId, infoHash, maker, receiver, now, makerPeerId);
    owner.conn.send(text);
    this.counters.wsOffersRelayed++;
  }

  /** An answer for a connection of this thread, checked on the answerer's thread (see #answer). */
  deliverAnswer(maker: RtcHandle, makerPeerId: string, infoHash: string, text: string): void {
    const owner = this.#owners.get(maker);
    if (owner === undefined || owner.peerId !== makerPeerId || !owner.conn.swarms.has(infoHash + makerPeerId)) {
      this.counters.wsAnswersDropped++;
      return;
    }
    owner.conn.send(text);
    this.counters.wsAnswersRelayed++;
  }

  /** The handle of `peerId` for this connection, taking ownership if it is free; or why not. */
  #own(conn: WsConnection, peerId: string): RtcHandle | FailureCode {
    const mine = conn.peerIds.get(peerId);
    if (mine !== undefined) return mine;
    if (this.#handleOf.has(peerId)) return "peer_id_in_use";
    if (conn.peerIds.size >= MAX_PEER_IDS_PER_CONNECTION) return "too_many_peer_ids";
    let n = this.#nextHandle;
    while (this.#owners.has(((this.#threadBits | n) >>> 0) as RtcHandle)) n = (n + 1) & HANDLE_NUMBER_MASK || 1;
    this.#nextHandle = (n + 1) & HANDLE_NUMBER_MASK || 1;
    const handle = rtcHandle((this.#threadBits | n) >>> 0);
    if (this.#o.claims !== null && !this.#o.claims.claim(peerId, handle)) return "peer_id_in_use"; // elsewhere
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

function wsEvent(m: WsAnnounce): number {
  return m.event === "stopped"
    ? EVENT_STOPPED
    : m.event === "completed"
      ? EVENT_COMPLETED
      : m.event === "started"
        ? EVENT_STARTED
        : EVENT_NONE;
}

/** The rate-limit and connection-cap unit: an IPv4 address or an IPv6 /64 (one subscriber's prefix). */
function sourceKey(ip: Uint8Array, ipLen: 4 | 16): string {
  let key = ipLen === 4 ? "4:" : "6:";
  for (let i = 0; i < (ipLen === 4 ? 4 : 8); i++) key += String.fromCharCode(ip[i]);
  return key;
}
