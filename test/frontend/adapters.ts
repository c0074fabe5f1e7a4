// One tracker, three front ends, no sockets: a Store wired to the HTTP, UDP and WebSocket front ends the way
// server/app.ts wires them (settings, counters, access list, rate limit), driven with a simulated clock. Each
// protocol gets a small adapter with the same operations (announce, scrape), so behaviour.test.ts states each
// behaviour once and runs it against every front end.
//
// Peers are small numbers. Over HTTP and UDP peer n is the address 10.0.x.y (or fd00:0:0:n::1) and port 20000+n,
// so a reply's peer list decodes back to numbers; over WebSocket peer n is its own connection from that
// address with a WebTorrent peer id, and "the peers it got" are the connections its offers were relayed to.

import { expect } from "bun:test";
import { type BValue, decodeBencode, latin1Bytes } from "../../src/codec/bencode-decode.ts";
import { AccessList, type AccessMode } from "../../src/core/access.ts";
import { FAILURE_CODES, FAILURE_TEXT, type FailureCode } from "../../src/core/failure.ts";
import { HashList } from "../../src/core/hash-list.ts";
import { FixedInterval } from "../../src/core/adaptive-interval.ts";
import { ConnIdIssuer } from "../../src/core/conn-id.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { RateLimiter } from "../../src/core/rate-limit.ts";
import { AnnounceRequest, AnnounceResult } from "../../src/core/announce.ts";
import { Store } from "../../src/core/store.ts";
import { Counters, type Protocol } from "../../src/frontend/counters.ts";
import { FULL_SCRAPE, HttpTracker } from "../../src/frontend/http-tracker.ts";
import { type AnnounceSettings, IntervalSource } from "../../src/frontend/settings.ts";
import { SourceLimit } from "../../src/frontend/source-limit.ts";
import { UDP_REPLY_BUDGET, UdpTracker } from "../../src/frontend/udp-tracker.ts";
import { type WsConnection, WsTracker } from "../../src/frontend/ws-tracker.ts";
import { latin1 } from "../helpers/http-client.ts";
import { announcePacket, connectPacket, parseAnnounceReply, parseError, scrapePacket } from "../helpers/udp-client.ts";

// ---------------------------------------------------------------------------------------------------------
// The tracker

export const INTERVAL_S = 1800;
export const MIN_INTERVAL_S = 900;
export const WS_INTERVAL_S = 120;
export const PEER_TIMEOUT_S = 3600;

export interface TrackerOptions {
  defaultNumWant?: number;
  maxNumWant?: number;
  maxTorrents?: number;
  maxPeersPerTorrent?: number;
  maxPeers?: number;
  access?: { mode: AccessMode; hashes: Uint8Array[] };
  /** Requests per second and burst per source; off when absent. */
  rateLimit?: { perSecond: number; burst: number };
}

/** A store and the three front ends over it, as server/app.ts builds them, with a clock the test moves. */
export class Tracker {
  now = 1_700_000_000;
  readonly store: Store;
  readonly counters = new Counters();
  readonly settings: AnnounceSettings;
  readonly http: HttpTracker;
  readonly udp: UdpTracker;
  readonly ws: WsTracker;

  constructor(o: TrackerOptions = {}) {
    const random = xoshiro128(new Uint32Array([7, 11, 13, 17]));
    this.store = new Store({
      peerTimeoutS: PEER_TIMEOUT_S,
      random,
      maxTorrents: o.maxTorrents,
      maxPeersPerTorrent: o.maxPeersPerTorrent,
      maxPeers: o.maxPeers,
      minIntervalS: MIN_INTERVAL_S,
    });
    this.settings = {
      interval: new IntervalSource(new FixedInterval(INTERVAL_S), MIN_INTERVAL_S, PEER_TIMEOUT_S, random),
      minIntervalS: MIN_INTERVAL_S,
      defaultNumWant: o.defaultNumWant ?? 50,
      maxNumWant: o.maxNumWant ?? 200,
    };
    const list = new AccessList(o.access?.mode ?? "off", this.#listed);
    for (const h of o.access?.hashes ?? []) this.#listed.add(latin1(h));
    const access = list.mode === "off" ? null : list; // as app.ts passes it
    const r = o.rateLimit ?? { perSecond: 0, burst: 1 };
    // No exempt networks: every test address is an ordinary client.
    const limit = new SourceLimit(
      new RateLimiter({ perSecond: r.perSecond, burst: r.burst, slots: 1024, seed: 1 }),
      null,
    );
    this.http = new HttpTracker(this.store, this.settings, this.counters, { access, limit });
    this.udp = new UdpTracker(this.store, new ConnIdIssuer(new Uint8Array(16).fill(3)), this.settings, this.counters, {
      access,
      limit,
    });
    this.ws = new WsTracker(this.store, this.counters, {
      interval: new IntervalSource(new FixedInterval(WS_INTERVAL_S), 1, PEER_TIMEOUT_S, random),
      minIntervalS: MIN_INTERVAL_S,
      maxSocketsPerIp: 1000,
      maxOffers: this.settings.maxNumWant,
      access,
      limit,
    });
  }

  /** The access list's hashes (the server's AccessControl swaps the list when its file changes). */
  readonly #listed = new HashList(1, 2);

  /** Puts `infoHash` on the access list now (a deny list: denies it; an allow list: allows it). */
  list(infoHash: Uint8Array): void {
    this.#listed.add(latin1(infoHash));
  }

  /** Puts leechers straight into the store, as if each had announced: for swarms too big to fill by request. */
  seed(infoHash: Uint8Array, peers: number[], family: 4 | 6): void {
    const req = new AnnounceRequest();
    req.infoHash = latin1(infoHash);
    req.ipLen = family === 4 ? 4 : 16;
    req.left = 100;
    const res = new AnnounceResult(0);
    for (const peer of peers) {
      req.ip.set(addressOf(peer, family));
      req.port = portOf(peer);
      this.store.announce(req, this.now, res);
    }
  }

  advance(seconds: number): void {
    this.now += seconds;
  }
}

// ---------------------------------------------------------------------------------------------------------
// What every adapter offers

export type Event = "started" | "completed" | "stopped";

export interface AnnounceArgs {
  infoHash: Uint8Array;
  /** Who announces (see the top of this file). */
  peer: number;
  /** Bytes left; 0 is a seeder. Default 100. */
  left?: number;
  event?: Event;
  /** Omitted: the protocol's default. */
  numwant?: number;
}

/** IPv4 or IPv6 address and port, or a WebRTC peer (reachable only through the WebSocket relay). */
export type PeerKind = "v4" | "v6" | "rtc";

export interface Counts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

export interface Announced {
  interval: number;
  complete: number;
  incomplete: number;
  /** The peers handed out, as peer numbers, sorted. */
  peers: number[];
  /** Downloads so far: only HTTP announce replies carry it. */
  downloaded?: number;
}

/**
 * A refusal: its code, read back from the reply's text (a text that is no code's fails the test), or null when
 * the protocol answers nothing at all (UDP over the rate limit).
 */
export interface Refused {
  refused: FailureCode | null;
}

export interface Scraped {
  /** Per requested hash, in request order: the counts, or null when the reply leaves the hash out. */
  files: (Counts | null)[];
}

export interface FrontEnd {
  readonly name: string;
  /** The base `interval` of replies, seconds (each reply is jittered by up to 10%). */
  readonly intervalS: number;
  /** Peers an announce without numwant (or with a negative one) gets at most. */
  readonly defaultPeers: number;
  /** The largest numwant the protocol can carry (HTTP: any decimal; UDP: a signed 32-bit field). */
  readonly hugeNumwant: number;
  /** What its peers are in the store, and which of those its announces can be given. */
  readonly peerKind: PeerKind;
  readonly receives: readonly PeerKind[];
  announce(a: AnnounceArgs): Announced | Refused;
  /** Scrape from peer `from`'s address (default 1). */
  scrape(hashes: Uint8Array[], from?: number): Scraped | Refused;
  /** Its name in /metrics labels and in `Counters.failures`. */
  readonly protocol: Protocol;
  /** What a scrape without info hashes gets: HTTP could offer a full scrape (off here), UDP and WebSocket have none. */
  readonly emptyScrape: FailureCode;
  /** A request from peer `peer` that the protocol refuses for its form: it gets `malformedCode`. */
  malformed(peer: number): Refused;
  readonly malformedCode: FailureCode;
  /** Requests refused by the rate limit so far (the counter /metrics shows for this protocol). */
  rateLimited(): number;
  /** Asserts that `outcome` is the refusal `code`, as a user of this protocol sees it. */
  expectRefused(outcome: Announced | Scraped | Refused, code: FailureCode): void;
}

export function isRefused(o: Announced | Scraped | Refused): o is Refused {
  return "refused" in o;
}

/** The announce that must succeed; throws with the reason otherwise. */
export function announced(o: Announced | Refused): Announced {
  if (isRefused(o)) throw new Error(`announce refused: ${o.refused ?? "(no reply)"}`);
  return o;
}

export function scraped(o: Scraped | Refused): Scraped {
  if (isRefused(o)) throw new Error(`scrape refused: ${o.refused ?? "(no reply)"}`);
  return o;
}

const CODE_OF_TEXT = new Map<string, FailureCode>(FAILURE_CODES.map((code) => [FAILURE_TEXT[code], code]));

/** The code whose text a reply carries; a text that is no code's is a test failure. */
export function codeOf(text: string): FailureCode {
  const code = CODE_OF_TEXT.get(text);
  if (code === undefined) throw new Error(`failure text of no code: ${JSON.stringify(text)}`);
  return code;
}

function expectCode(outcome: Announced | Scraped | Refused, code: FailureCode): void {
  if (!isRefused(outcome)) throw new Error(`expected a refusal (${code}), got ${JSON.stringify(outcome)}`);
  expect(outcome.refused).toBe(code);
}

// ---------------------------------------------------------------------------------------------------------
// Addresses of numbered peers

const PORT_BASE = 20000;

/** Peer n's address: 10.0.x.y, or fd00:0:0:n::1 (each peer its own /64, the rate limit's unit for IPv6). */
function addressOf(peer: number, family: 4 | 6): Uint8Array {
  const key = family === 4 ? peer : -peer;
  let ip = addresses.get(key);
  if (ip !== undefined) return ip;
  if (!(peer >= 1 && PORT_BASE + peer < 0x10000)) throw new RangeError(`peer ${peer}`);
  ip = new Uint8Array(16);
  if (family === 4) ip.set([10, 0, peer >> 8, peer & 255]);
  else ip.set([0xfd, 0, 0, 0, 0, 0, peer >> 8, peer & 255, 0, 0, 0, 0, 0, 0, 0, 1]);
  addresses.set(key, ip);
  return ip;
}

/** Made once per peer and family (read-only: the front ends copy what they keep). */
const addresses = new Map<number, Uint8Array>();

const portOf = (peer: number) => PORT_BASE + peer;

/** A 20-byte peer id for peer n, with a client prefix the tracker recognises. */
function peerIdOf(peer: number, prefix: string): string {
  return prefix + String(peer).padStart(12, "0");
}

/** The peer number behind a compact address, checking that its address is the one that peer announced from. */
function peerAt(ip: Uint8Array, port: number, family: 4 | 6): number {
  const peer = port - PORT_BASE;
  const want = addressOf(peer, family).subarray(0, family === 4 ? 4 : 16);
  if (ip.length !== want.length || !ip.every((b, i) => b === want[i]))
    throw new Error(`peer at port ${port} has address ${[...ip]}`);
  return peer;
}

const byNumber = (a: number, b: number) => a - b;

// ---------------------------------------------------------------------------------------------------------
// HTTP: URL text in, bencoded bytes out

export class HttpAdapter implements FrontEnd {
  readonly name: string;
  readonly intervalS = INTERVAL_S;
  readonly defaultPeers: number;

  constructor(
    readonly t: Tracker,
    readonly family: 4 | 6 = 4,
  ) {
    this.name = `HTTP/IPv${family}`;
    this.defaultPeers = t.settings.defaultNumWant;
    this.peerKind = family === 4 ? "v4" : "v6";
  }

  readonly hugeNumwant = 99_999_999_999_999;
  readonly emptyScrape = "full_scrape_off";
  readonly protocol = "http";
  readonly malformedCode = "missing_info_hash";
  readonly peerKind: PeerKind;
  /** Both families, whichever the client asks from (BEP 7: peers and peers6). */
  readonly receives: readonly PeerKind[] = ["v4", "v6"];

  announce(a: AnnounceArgs): Announced | Refused {
    let query = `info_hash=${pctAll(a.infoHash)}&peer_id=${peerIdOf(a.peer, "-TE0001-")}&port=${portOf(a.peer)}&uploaded=0&downloaded=0&left=${a.left ?? 100}`;
    if (a.event !== undefined) query += `&event=${a.event}`;
    if (a.numwant !== undefined) query += `&numwant=${a.numwant}`;
    const body = this.#decode(
      this.t.http.announce(`/announce?${query}`, addressOf(a.peer, this.family), this.len, this.t.now),
    );
    if ("failure reason" in body) return { refused: codeOf(body["failure reason"] as string) };
    const peers = [...compact(body.peers, 4), ...compact(body.peers6, 16)].sort(byNumber);
    return {
      interval: body.interval as number,
      complete: body.complete as number,
      incomplete: body.incomplete as number,
      peers,
      downloaded: body.downloaded as number,
    };
  }

  scrape(hashes: Uint8Array[], from = 1): Scraped | Refused {
    const query = hashes.map((h) => `info_hash=${pctAll(h)}`).join("&");
    const reply = this.t.http.scrape(`/scrape?${query}`, addressOf(from, this.family), this.len, this.t.now);
    if (reply === FULL_SCRAPE) throw new Error("unexpected full scrape");
    const body = this.#decode(reply);
    if ("failure reason" in body) return { refused: codeOf(body["failure reason"] as string) };
    const files = body.files as unknown as Record<string, Counts>;
    return { files: hashes.map((h) => files[latin1(h)] ?? null) };
  }

  /** An announce without a query. */
  malformed(peer: number): Refused {
    const body = this.#decode(this.t.http.announce("/announce", addressOf(peer, this.family), this.len, this.t.now));
    if (!("failure reason" in body)) throw new Error("a malformed announce was answered");
    return { refused: codeOf(body["failure reason"] as string) };
  }

  rateLimited(): number {
    return this.t.counters.httpRateLimited;
  }

  expectRefused(outcome: Announced | Scraped | Refused, code: FailureCode): void {
    expectCode(outcome, code);
  }

  get len(): 4 | 16 {
    return this.family === 4 ? 4 : 16;
  }

  #decode(bytes: Uint8Array | symbol): Record<string, BValue> {
    if (!(bytes instanceof Uint8Array)) throw new Error("a one-thread tracker forwarded a request");
    // decodeBencode rejects unsorted or repeated keys: every reply is also checked to be canonical.
    const v = decodeBencode(bytes);
    if (typeof v !== "object" || Array.isArray(v)) throw new Error("reply is not a dictionary");
    return v;
  }
}

/** Peer numbers in a compact (BEP 23 / BEP 7) peer string of `ipLen`-byte addresses; undefined is none. */
function compact(v: BValue | undefined, ipLen: 4 | 16): number[] {
  if (v === undefined) return [];
  if (typeof v !== "string") throw new Error(`compact peers must be a string, got ${JSON.stringify(v)}`);
  const b = latin1Bytes(v);
  const stride = ipLen + 2;
  if (b.length % stride !== 0) throw new Error(`compact peers length ${b.length} is not a multiple of ${stride}`);
  const out: number[] = [];
  for (let o = 0; o < b.length; o += stride)
    out.push(peerAt(b.subarray(o, o + ipLen), (b[o + ipLen] << 8) | b[o + ipLen + 1], ipLen === 4 ? 4 : 6));
  return out;
}

const PCT = Array.from({ length: 256 }, (_, b) => "%" + b.toString(16).padStart(2, "0"));

/** Every byte percent-encoded (peer ids are plain ASCII and go as they are). */
function pctAll(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += PCT[b];
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// UDP (BEP 15): datagram in, datagram (or nothing) out. A peer connects once and reuses its connection id
// while it is fresh, as clients do (a connect costs a request of the rate limit too).

/** Every byte of BEP 15 this adapter writes or reads is here, to move to codec/udp.ts in one place. */
const udpWire = {
  connect: (txid: number) => connectPacket(txid),
  connectionId: (reply: Uint8Array) => reply.slice(8, 16),
  /** `port` defaults to the peer's. */
  announce: (connectionId: Uint8Array, txid: number, a: AnnounceArgs, peerId: string, port = portOf(a.peer)) =>
    announcePacket({
      connectionId,
      txid,
      infoHash: a.infoHash,
      peerId: new TextEncoder().encode(peerId),
      left: BigInt(a.left ?? 100),
      event: a.event === undefined ? 0 : { completed: 1, started: 2, stopped: 3 }[a.event],
      numWant: a.numwant ?? -1,
      port,
    }),
  scrape: (connectionId: Uint8Array, txid: number, hashes: Uint8Array[]) => scrapePacket(connectionId, hashes, txid),
  action: (reply: Uint8Array) => new DataView(reply.buffer, reply.byteOffset).getUint32(0),
  txid: (reply: Uint8Array) => new DataView(reply.buffer, reply.byteOffset).getUint32(4),
  errorMessage: (reply: Uint8Array) => parseError(reply).message,
  announceReply: (reply: Uint8Array, family: 4 | 6) => {
    const r = parseAnnounceReply(reply, family);
    return { interval: r.interval, seeders: r.seeders, leechers: r.leechers, peers: r.peers };
  },
  /** [seeders, completed, leechers] per entry. */
  scrapeEntries: (reply: Uint8Array) => {
    const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    const out: [number, number, number][] = [];
    for (let o = 8; o < reply.length; o += 12) out.push([v.getUint32(o), v.getUint32(o + 4), v.getUint32(o + 8)]);
    return out;
  },
  ACTION_CONNECT: 0,
  ACTION_ANNOUNCE: 1,
  ACTION_SCRAPE: 2,
  ACTION_ERROR: 3,
};

/** "a.b.c.d:port" or "[h:h:h:h:h:h:h:h]:port" (udp-client's form) -> the peer number. */
function peerOfText(text: string, family: 4 | 6): number {
  const at = text.lastIndexOf(":");
  const port = Number(text.slice(at + 1));
  const host = text.slice(0, at);
  const ip = family === 4 ? Uint8Array.from(host.split(".").map(Number)) : new Uint8Array(16);
  if (family === 6) {
    const groups = host
      .slice(1, -1)
      .split(":")
      .map((g) => parseInt(g, 16));
    groups.forEach((g, i) => ip.set([g >> 8, g & 255], i * 2));
  }
  return peerAt(ip, port, family);
}

export class UdpAdapter implements FrontEnd {
  readonly name: string;
  readonly intervalS = INTERVAL_S;
  readonly defaultPeers: number;
  readonly #ids = new Map<number, { id: Uint8Array; at: number }>();
  readonly #out = new Uint8Array(UDP_REPLY_BUDGET + 64);
  #txid = 0x10000;
  /** The last datagram the tracker answered with. */
  lastReply: Uint8Array | null = null;

  constructor(
    readonly t: Tracker,
    readonly family: 4 | 6 = 4,
  ) {
    this.name = `UDP/IPv${family}`;
    this.defaultPeers = t.settings.defaultNumWant;
    this.peerKind = family === 4 ? "v4" : "v6";
    this.receives = [this.peerKind];
  }

  readonly hugeNumwant = 0x7fffffff;
  readonly emptyScrape = "missing_info_hash";
  readonly protocol = "udp";
  readonly malformedCode = "invalid_port";
  readonly peerKind: PeerKind;
  /** Only its own family: a reply's peer stride is fixed by the request's family. */
  readonly receives: readonly PeerKind[];

  announce(a: AnnounceArgs): Announced | Refused {
    const id = this.#connectionId(a.peer);
    if (id === null) return { refused: null };
    const txid = this.#txid++;
    const reply = this.#send(a.peer, udpWire.announce(id, txid, a, peerIdOf(a.peer, "-TE0001-")));
    if (reply === null) return { refused: null };
    expect(udpWire.txid(reply)).toBe(txid);
    if (udpWire.action(reply) === udpWire.ACTION_ERROR) return { refused: codeOf(udpWire.errorMessage(reply)) };
    expect(udpWire.action(reply)).toBe(udpWire.ACTION_ANNOUNCE);
    const r = udpWire.announceReply(reply, this.family);
    return {
      interval: r.interval,
      complete: r.seeders,
      incomplete: r.leechers,
      peers: r.peers.map((p) => peerOfText(p, this.family)).sort(byNumber),
    };
  }

  scrape(hashes: Uint8Array[], from = 1): Scraped | Refused {
    const id = this.#connectionId(from);
    if (id === null) return { refused: null };
    const txid = this.#txid++;
    const reply = this.#send(from, udpWire.scrape(id, txid, hashes));
    if (reply === null) return { refused: null };
    expect(udpWire.txid(reply)).toBe(txid);
    if (udpWire.action(reply) === udpWire.ACTION_ERROR) return { refused: codeOf(udpWire.errorMessage(reply)) };
    expect(udpWire.action(reply)).toBe(udpWire.ACTION_SCRAPE);
    const entries = udpWire.scrapeEntries(reply);
    return { files: entries.map(([complete, downloaded, incomplete]) => ({ complete, incomplete, downloaded })) };
  }

  /** An announce for port 0. */
  malformed(peer: number): Refused {
    const id = this.#connectionId(peer);
    if (id === null) return { refused: null };
    const txid = this.#txid++;
    const reply = this.#send(
      peer,
      udpWire.announce(id, txid, { infoHash: new Uint8Array(20), peer }, peerIdOf(peer, "-TE0001-"), 0),
    );
    if (reply === null) return { refused: null };
    expect(udpWire.txid(reply)).toBe(txid);
    expect(udpWire.action(reply)).toBe(udpWire.ACTION_ERROR);
    return { refused: codeOf(udpWire.errorMessage(reply)) };
  }

  rateLimited(): number {
    return this.t.counters.udpRateLimited;
  }

  expectRefused(outcome: Announced | Scraped | Refused, code: FailureCode): void {
    // UDP answers nothing over the rate limit: an answer would cost as much as the request.
    if (code === "rate_limited") expect(outcome).toEqual({ refused: null });
    else expectCode(outcome, code);
  }

  #connectionId(peer: number): Uint8Array | null {
    const held = this.#ids.get(peer);
    if (held !== undefined && this.t.now - held.at < 60) return held.id;
    const txid = this.#txid++;
    const reply = this.#send(peer, udpWire.connect(txid));
    if (reply === null) return null;
    expect(udpWire.action(reply)).toBe(udpWire.ACTION_CONNECT);
    expect(udpWire.txid(reply)).toBe(txid);
    const id = udpWire.connectionId(reply);
    this.#ids.set(peer, { id, at: this.t.now });
    return id;
  }

  /** The reply to `packet` from peer's address, or null for none. */
  #send(peer: number, packet: Uint8Array): Uint8Array | null {
    const n = this.t.udp.handle(
      packet,
      addressOf(peer, this.family),
      this.family === 4 ? 4 : 16,
      this.t.now,
      this.#out,
    );
    expect(n).toBeLessThanOrEqual(UDP_REPLY_BUDGET);
    this.lastReply = n === 0 ? null : this.#out.slice(0, n);
    return this.lastReply;
  }
}

// ---------------------------------------------------------------------------------------------------------
// WebSocket (WebTorrent): JSON text in, JSON text out through each connection's sink. numwant is the number
// of offers sent (the tracker relays one offer per chosen peer), so without numwant no peer is chosen.

type Json = Record<string, unknown>;

interface WsPeer {
  conn: WsConnection;
  inbox: Json[];
}

export class WsAdapter implements FrontEnd {
  readonly name = "WebSocket";
  readonly intervalS = WS_INTERVAL_S;
  readonly defaultPeers = 0;
  /** Offers beyond the cap are not relayed; more than this is just a bigger message. */
  readonly hugeNumwant = 100;
  readonly emptyScrape = "missing_info_hash";
  readonly protocol = "websocket";
  readonly malformedCode = "invalid_message";
  readonly peerKind: PeerKind = "rtc";
  readonly receives: readonly PeerKind[] = ["rtc"];
  readonly #peers = new Map<number, WsPeer>();

  constructor(readonly t: Tracker) {}

  announce(a: AnnounceArgs): Announced | Refused {
    const me = this.#peer(a.peer);
    const peerId = peerIdOf(a.peer, "-WW0208-");
    const infoHash = latin1(a.infoHash);
    for (const p of this.#peers.values()) p.inbox.length = 0;
    const offers = Array.from({ length: Math.max(0, a.numwant ?? 0) }, (_, i) => ({
      offer_id: peerIdOf(a.peer * 1000 + i, "offer-id"),
      offer: { type: "offer", sdp: `v=0 from ${a.peer} #${i}` },
    }));
    const m: Json = {
      action: "announce",
      info_hash: infoHash,
      peer_id: peerId,
      left: a.left ?? 100,
      uploaded: 0,
      downloaded: 0,
      offers,
    };
    if (a.event !== undefined) m.event = a.event;
    if (a.numwant !== undefined) m.numwant = a.numwant;
    this.t.ws.message(me.conn, JSON.stringify(m), this.t.now);
    const reply = me.inbox.shift();
    if (reply === undefined) throw new Error("no reply to an announce");
    expect(me.inbox).toEqual([]); // nothing relayed back to the announcer
    // The reference client routes replies, failures included, by action and info hash.
    expect(reply).toMatchObject({ action: "announce", info_hash: infoHash });
    if ("failure reason" in reply) return { refused: codeOf(reply["failure reason"] as string) };
    // The peers chosen are those the announcer's offers were relayed to, one offer each.
    const peers: number[] = [];
    for (const [n, p] of this.#peers) {
      for (const msg of p.inbox) {
        expect(msg).toMatchObject({ action: "announce", info_hash: infoHash, peer_id: peerId });
        peers.push(n);
      }
    }
    return {
      interval: reply.interval as number,
      complete: reply.complete as number,
      incomplete: reply.incomplete as number,
      peers: peers.sort(byNumber),
    };
  }

  scrape(hashes: Uint8Array[], from = 1): Scraped | Refused {
    const me = this.#peer(from);
    me.inbox.length = 0;
    // One hash goes as a plain string, as the reference client sends it; more as a list.
    const infoHash = hashes.length === 1 ? latin1(hashes[0]) : hashes.map(latin1);
    this.t.ws.message(me.conn, JSON.stringify({ action: "scrape", info_hash: infoHash }), this.t.now);
    const reply = me.inbox.shift();
    if (reply === undefined) throw new Error("no reply to a scrape");
    if ("failure reason" in reply) return { refused: codeOf(reply["failure reason"] as string) };
    expect(reply).toMatchObject({ action: "scrape", flags: { min_request_interval: MIN_INTERVAL_S } });
    const files = reply.files as Record<string, Counts>;
    return { files: hashes.map((h) => files[latin1(h)] ?? null) };
  }

  /** A message that is not JSON: its failure carries no action or info hash to route it by. */
  malformed(peer: number): Refused {
    const me = this.#peer(peer);
    me.inbox.length = 0;
    this.t.ws.message(me.conn, "{nope", this.t.now);
    const reply = me.inbox.shift();
    if (reply === undefined) throw new Error("no reply to a malformed message");
    expect(Object.keys(reply)).toEqual(["failure reason"]);
    return { refused: codeOf(reply["failure reason"] as string) };
  }

  rateLimited(): number {
    return this.t.counters.wsRateLimited;
  }

  expectRefused(outcome: Announced | Scraped | Refused, code: FailureCode): void {
    expectCode(outcome, code);
  }

  /** Closes peer n's connection, as a browser tab going away. */
  close(peer: number): void {
    const p = this.#peers.get(peer);
    if (p === undefined) return;
    this.t.ws.close(p.conn, this.t.now);
    this.#peers.delete(peer);
  }

  #peer(n: number): WsPeer {
    let p = this.#peers.get(n);
    if (p !== undefined) return p;
    const conn = this.t.ws.connect(addressOf(n, 4), 4);
    if (conn === null) throw new Error(`connection of peer ${n} refused`);
    const inbox: Json[] = [];
    conn.sink = { send: (text) => inbox.push(JSON.parse(text) as Json), close: () => {} };
    p = { conn, inbox };
    this.#peers.set(n, p);
    return p;
  }
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Every front end, each with a way to build it over a tracker. `secondFamily` marks a protocol's IPv6 run:
 * it repeats what depends on addresses, not what is per torrent whatever the family (store limits, access list).
 */
export interface FrontEndSpec {
  name: string;
  make: (t: Tracker) => FrontEnd;
  secondFamily?: true;
}

export const FRONT_ENDS: FrontEndSpec[] = [
  { name: "HTTP/IPv4", make: (t) => new HttpAdapter(t, 4) },
  { name: "HTTP/IPv6", make: (t) => new HttpAdapter(t, 6), secondFamily: true },
  { name: "UDP/IPv4", make: (t) => new UdpAdapter(t, 4) },
  { name: "UDP/IPv6", make: (t) => new UdpAdapter(t, 6), secondFamily: true },
  { name: "WebSocket", make: (t) => new WsAdapter(t) },
];
