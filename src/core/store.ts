// The one in-process store that HTTP, UDP and WebSocket all feed: torrents by info hash, peers keyed by
// (IP, port) within each address family, and WebRTC peers (WebTorrent) keyed by a handle the WebSocket front
// end gives each of them. Pure: the caller passes the time and the random source in.
//
// Layout: the torrent table (torrent-table.ts) turns an info hash into a small id; per-torrent numbers sit
// in typed arrays by id and the peers in arenas, one per address family and one for WebRTC peers
// (peer-lists.ts). Nothing is an object per torrent or per peer, which is what keeps a stored peer near 15
// bytes (see BENCHMARKS.md). A "shard" is the ids equal to i modulo the shard count: the unit of ranking
// refreshes.
//
// Totals are kept incrementally, so statistics never walk the swarms; they are read-only outside the store.
// Expiry runs a range of ids at a time (`sweepIds`), so no request ever waits behind a sweep of everything.
// Peer records stay inside: a snapshot moves peers in and out one PeerRecord at a time (peerCount, readPeer,
// restorePeer), and WebRTC peers are named by their RtcHandle, never by an address.
//
// Memory is bounded: at most maxTorrents torrents (a torrent whose peers are all gone but which has
// completions stays as a "dormant" entry, keeping its all-time count, and is the first to go when room is
// needed), at most maxPeersPerTorrent peers per torrent (the longest-silent of a small random sample makes
// way for a newcomer) and at most maxPeers peers in all (newcomers are refused). One source (an IPv4
// address or an IPv6 /48, see source-quota.ts; for a WebRTC peer, its WebSocket connection's address) may hold
// at most `sourceShare` of maxPeers, and may start a new torrent only while it holds fewer peers than that
// share of maxTorrents: each live torrent has a peer, so what one source keeps alive alone is bounded too.
// Dormant torrents never make the store refuse anyone: they are the first to go when room is needed.
//
// Several stores (one per thread, --workers) can hold those limits together through `SharedTotals`
// (shared-counts.ts): each takes a unit there before it adds a peer or a live torrent and gives it back on
// every way one goes, so together they hold at most maxPeers peers and maxTorrents live torrents, exactly.
// Dormant torrents are not counted there: a store cannot forget another's, so a shared count of them could
// refuse a store that has none while others hold plenty, and dormant torrents must never refuse anyone.
// Instead each store keeps its live plus dormant torrents within maxTorrents as alone, forgetting its own
// dormant ones first; N stores may then keep up to N x maxTorrents entries, the dormant ones no more than an
// info hash and a count. A dormant torrent that wakes up takes a live unit, so it may be refused while the
// stores hold maxTorrents live torrents.

import {
  type AnnounceRequest,
  type AnnounceResult,
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_STOPPED,
  type RtcHandle,
  type ScrapeCounts,
} from "./announce.ts";
import { CLIENT_NAMES } from "./clients.ts";
import type { ClusterView } from "./cluster-view.ts";
import { BlobRanges } from "./peer-blob.ts";
import { FLAG_COUNTED, FLAG_SEEDER, PeerLists, type PeerRecord, timeUnitFor } from "./peer-lists.ts";
import { grown } from "./id-arrays.ts";
import { type Random, selectPeers, selectRemote, splitByFamily } from "./select.ts";
import { readU32, writeU32 } from "./bytes.ts";
import type { CidrSet } from "./cidr.ts";
import type { SharedSourceCounts } from "./shared-source-counts.ts";
import { type SourceCounter, SourceCounts, sourceKeyAt } from "./source-quota.ts";
import type { SharedTotals } from "./shared-counts.ts";
import { TorrentTable } from "./torrent-table.ts";

export interface StoreOptions {
  /** Number of shards (default 64). More shards make each expiry slice shorter. */
  shards?: number;
  /** Seconds without an announce after which a peer is dropped. */
  peerTimeoutS: number;
  random: Random;
  /** Limits (default: none). */
  maxTorrents?: number;
  maxPeersPerTorrent?: number;
  maxPeers?: number;
  /**
   * The part (0-1] of maxPeers one source may hold, and of maxTorrents it may start while holding peers
   * (default 1: no per-source bound). At least one of each.
   */
  sourceShare?: number;
  /** Sources the share does not bound (a local proxy, health checks); null: none. */
  sourceExempt?: Pick<CidrSet, "has"> | null;
  /**
   * A peer announcing again sooner than this (seconds, with no event) is "early" and counted (it is still
   * answered in full: the per-source rate limit is what bounds abuse). 0 = never early.
   */
  minIntervalS?: number;
  /** Peer and live-torrent totals shared with the stores of other threads, within the same limits. */
  shared?: SharedTotals;
  /** Peers per source, shared with the stores of other threads (used when sourceShare bounds anything). */
  sharedSources?: SharedSourceCounts;
}

/** A torrent's numbers, for callers outside the hot path (APIs, tests). */
export interface TorrentView {
  seeders: number;
  leechers: number;
  peers: number;
  downloaded: number;
  dormant: boolean;
}

/** The port in a WebRTC peer's record (they have none; their handle is the whole key). */
const RTC_PORT = 0;

/** Records looked at to pick the longest-silent peer when a torrent is full. */
const EVICTION_SAMPLE = 8;

// Torrent states, per id.
const FREE = 0;
const LIVE = 1;
/** No peers left, kept only for its completion count. */
const DORMANT = 2;

export interface SweepResult {
  peersRemoved: number;
  torrentsRemoved: number;
}

export class Store {
  readonly shardCount: number;
  readonly peerTimeoutS: number;
  readonly maxTorrents: number;
  readonly maxPeersPerTorrent: number;
  readonly maxPeers: number;
  /** Peers one source may hold, and the peers below which it may start a torrent (see sourceShare). */
  readonly maxPeersPerSource: number;
  readonly maxTorrentsPerSource: number;
  /** Stored peers per source; null when the share bounds nothing. */
  readonly #sources: SourceCounter | null;
  readonly #sourceExempt: Pick<CidrSet, "has"> | null;
  /** See setRtcAddressLookup. */
  #rtcAddressOf: (handle: RtcHandle, out: Uint8Array) => 0 | 4 | 16 = () => 0;
  readonly #rtcAddress = new Uint8Array(16);
  #rtcAddressLen: 0 | 4 | 16 = 0;
  readonly #minIntervalS: number;
  readonly #shared: SharedTotals | null;
  #random: Random;
  readonly #table: TorrentTable;
  readonly #v4: PeerLists;
  readonly #v6: PeerLists;
  /**
   * WebRTC peers: a record's 4 address bytes hold its RtcHandle (big-endian, see #rtcKey), its port is
   * RTC_PORT. Their per-torrent arrays are only made once the first one arrives (`#rtcOn`), so a tracker
   * without WebTorrent traffic pays nothing for them.
   */
  readonly #rtc: PeerLists;
  #rtcOn = false;
  /** The record key of the WebRTC peer being announced. */
  readonly #rtcKey = new Uint8Array(4);
  /** WebRTC peers chosen for an announce, in compact form (handle, port), before they become handles. */
  #rtcPicked = new Uint8Array(0);
  #capacity = 0;
  /** Per torrent id: completions seen (BEP 48 `downloaded`) and FREE / LIVE / DORMANT. */
  #downloaded = new Uint32Array(0);
  #state = new Uint8Array(0);
  /** Where the search for a dormant torrent to forget goes on from. */
  #dormantCursor = 0;
  /** Cluster mode (attachCluster): the other instances' peers, and the journal of what changed here. */
  #cluster: ClusterView | null = null;
  readonly #ranges = new BlobRanges();

  // Totals: written only here, read through the getters below.
  #torrents = 0;
  #dormant = 0;
  #refusedTorrents = 0;
  #refusedPeers = 0;
  #refusedSource = 0;
  #evictedPeers = 0;
  #earlyAnnounces = 0;
  #peers4 = 0;
  #peers6 = 0;
  #peersRtc = 0;
  #seeders = 0;
  #completed = 0;
  readonly #peersByClient = new Float64Array(CLIENT_NAMES.length);

  /** Torrents with peers (or emptied by `stopped` and not yet swept). */
  get torrents(): number {
    return this.#torrents;
  }

  /** Torrents without peers kept for their completion count. */
  get dormant(): number {
    return this.#dormant;
  }

  // The refusal counters keep private setters so that the lines counting refusals read `this.refusedX++`.
  /** Announces refused because the torrent or peer limit was reached. */
  get refusedTorrents(): number {
    return this.#refusedTorrents;
  }

  private set refusedTorrents(n: number) {
    this.#refusedTorrents = n;
  }

  get refusedPeers(): number {
    return this.#refusedPeers;
  }

  private set refusedPeers(n: number) {
    this.#refusedPeers = n;
  }

  /** Announces of new peers or torrents refused because their source held its share. */
  get refusedSource(): number {
    return this.#refusedSource;
  }

  private set refusedSource(n: number) {
    this.#refusedSource = n;
  }

  /** Peers evicted to make room in a full torrent. */
  get evictedPeers(): number {
    return this.#evictedPeers;
  }

  /** Announces (without an event) sooner than the min interval. */
  get earlyAnnounces(): number {
    return this.#earlyAnnounces;
  }

  get peers4(): number {
    return this.#peers4;
  }

  get peers6(): number {
    return this.#peers6;
  }

  get peersRtc(): number {
    return this.#peersRtc;
  }

  get seeders(): number {
    return this.#seeders;
  }

  /** Completions recorded: since start, plus what a restored state file carried (never goes down). */
  get completed(): number {
    return this.#completed;
  }

  /** Live peers per client tag (see core/clients.ts), kept as peers arrive, change client and leave. */
  get peersByClient(): ArrayLike<number> {
    return this.#peersByClient;
  }

  constructor(options: StoreOptions) {
    const n = options.shards ?? 64;
    if (!Number.isInteger(n) || n < 1 || n > 65536) throw new RangeError("shards must be 1..65536");
    this.shardCount = n;
    this.peerTimeoutS = options.peerTimeoutS;
    this.#random = options.random;
    this.maxTorrents = options.maxTorrents ?? Infinity;
    this.maxPeersPerTorrent = options.maxPeersPerTorrent ?? Infinity;
    this.maxPeers = options.maxPeers ?? Infinity;
    const share = options.sourceShare ?? 1;
    if (!(share > 0 && share <= 1)) throw new RangeError("sourceShare must be in (0, 1]");
    this.maxPeersPerSource = share < 1 ? Math.max(1, Math.floor(this.maxPeers * share)) : Infinity;
    this.maxTorrentsPerSource = share < 1 ? Math.max(1, Math.floor(this.maxTorrents * share)) : Infinity;
    this.#sources =
      Number.isFinite(this.maxPeersPerSource) || Number.isFinite(this.maxTorrentsPerSource)
        ? (options.sharedSources ?? new SourceCounts())
        : null;
    this.#sourceExempt = options.sourceExempt ?? null;
    this.#minIntervalS = options.minIntervalS ?? 0;
    this.#shared = options.shared ?? null;
    const unit = timeUnitFor(this.peerTimeoutS);
    this.#v4 = new PeerLists(4, unit);
    this.#v6 = new PeerLists(16, unit);
    this.#rtc = new PeerLists(4, unit);
    this.#lists2 = [this.#v4, this.#v6];
    this.#lists3 = [this.#v4, this.#v6, this.#rtc];
    const seed = () => Math.floor(this.#random() * 4294967296);
    // Room for every id the torrent limit allows: the per-id arrays then grow in place (id-arrays.ts).
    const reserve = Number.isFinite(this.maxTorrents) ? this.maxTorrents : 0;
    this.#table = new TorrentTable(
      seed(),
      seed(),
      (capacity, room) => {
        this.#capacity = capacity;
        this.#v4.resize(capacity, room);
        this.#v6.resize(capacity, room);
        if (this.#rtcOn) this.#rtc.resize(capacity, room);
        this.#downloaded = grown(this.#downloaded, capacity, room);
        this.#state = grown(this.#state, capacity, room);
        this.#cluster?.resize(capacity, room);
      },
      reserve,
    );
  }

  get peers(): number {
    return this.#peers4 + this.#peers6 + this.#peersRtc;
  }

  /**
   * Cluster mode: from now on announces and scrapes add `view`'s remote peers and counts to the local ones,
   * and every change is written to its journal (see cluster-view.ts). Every torrent held so far counts as
   * changed.
   */
  attachCluster(view: ClusterView): void {
    view.resize(this.#capacity, this.#table.room);
    this.#cluster = view;
    this.forEachTorrentIn(0, this.idLimit, (id) => view.changed(id));
  }

  get cluster(): ClusterView | null {
    return this.#cluster;
  }

  get leechers(): number {
    return this.peers - this.#seeders;
  }

  /** The id of a stored torrent (live or dormant), or -1. */
  idOf(infoHash: string): number {
    return this.#table.find(infoHash);
  }

  /**
   * Cluster mode: a torrent only other instances have peers or completions for, kept (dormant) so that its
   * remote view has an id. Returns its id (the existing one if held), or -1 when the store is full.
   */
  adoptBytes(b: Uint8Array, off: number): number {
    const id = this.#table.findBytes(b, off);
    if (id >= 0) return id;
    if (this.#torrents + this.#dormant >= this.maxTorrents && !this.#evictDormant()) return -1;
    return this.#restored(this.#table.insertBytes(b, off), 0);
  }

  /**
   * Cluster mode: adds completions this instance counted for torrent `id` before it was forgotten here (the
   * engine kept them), so that its own total never goes back.
   */
  addDownloaded(id: number, n: number): void {
    this.#downloaded[id] += n;
    this.#completed += n;
  }

  get(infoHash: string): TorrentView | undefined {
    const id = this.#table.find(infoHash);
    if (id < 0) return undefined;
    const seeders = this.seedersOf(id);
    const leechers = this.leechersOf(id);
    return {
      seeders,
      leechers,
      peers: seeders + leechers,
      downloaded: this.#downloaded[id],
      dormant: this.#state[id] === DORMANT,
    };
  }

  /** Calls `fn` with the id of every stored torrent (live or dormant) in shard `i`. */
  forEachTorrent(i: number, fn: (id: number) => void): void {
    const state = this.#state;
    const end = this.#table.highWater;
    for (let id = i; id < end; id += this.shardCount) if (state[id] !== FREE) fn(id);
  }

  /** Calls `fn` with the id of every stored torrent (live or dormant) with an id in [from, to). */
  forEachTorrentIn(from: number, to: number, fn: (id: number) => void): void {
    const state = this.#state;
    const end = Math.min(to, this.#table.highWater);
    for (let id = from; id < end; id++) if (state[id] !== FREE) fn(id);
  }

  infoHashOf(id: number): string {
    return this.#table.keyOf(id);
  }

  copyInfoHash(id: number, out: Uint8Array, at: number): void {
    this.#table.copyKey(id, out, at);
  }

  seedersOf(id: number): number {
    const n = this.#v4.seeders(id) + this.#v6.seeders(id);
    return this.#rtcOn ? n + this.#rtc.seeders(id) : n;
  }

  leechersOf(id: number): number {
    const n = this.#v4.leechers(id) + this.#v6.leechers(id);
    return this.#rtcOn ? n + this.#rtc.leechers(id) : n;
  }

  /** Peers of torrent `id` in all lists. */
  #countOf(id: number): number {
    const n = this.#v4.count(id) + this.#v6.count(id);
    return this.#rtcOn ? n + this.#rtc.count(id) : n;
  }

  downloadedOf(id: number): number {
    return this.#downloaded[id];
  }

  /** Whether id `id` names a stored torrent (live or dormant). */
  holds(id: number): boolean {
    return id >= 0 && id < this.#table.highWater && this.#state[id] !== FREE;
  }

  isDormant(id: number): boolean {
    return this.#state[id] === DORMANT;
  }

  /**
   * Records the announce in `req` and fills `out` with counts and selected peers. A WebRTC announce
   * (`req.webrtc`, the peer named by `req.rtcHandle`) gets WebRTC peers only: their handles in `out.rtcPeers`,
   * `out.countRtc` of them.
   */
  announce(req: AnnounceRequest, now: number, out: AnnounceResult): void {
    out.count4 = 0;
    out.count6 = 0;
    out.countRtc = 0;
    out.refused = null;
    const bytes = req.hashBytes;
    let id = bytes === null ? this.#table.find(req.infoHash) : this.#table.findBytes(bytes, req.hashOff);
    if (req.webrtc && !this.#rtcOn) this.#enableRtc();
    const lists = req.webrtc ? this.#rtc : req.ipLen === 4 ? this.#v4 : this.#v6;
    // A WebRTC peer's key is its handle (see #rtc).
    if (req.webrtc) writeU32(this.#rtcKey, 0, req.rtcHandle);
    const ip = req.webrtc ? this.#rtcKey : req.ip;
    const port = req.webrtc ? RTC_PORT : req.port;
    if (req.event === EVENT_STOPPED) {
      // Remove the peer; never create a torrent for a peer that is leaving.
      if (id >= 0) {
        const r = lists.find(id, ip, port);
        if (r >= 0) {
          this.#removePeer(lists, id, r);
          this.#cluster?.changed(id);
        }
      }
      this.#fillCounts(id, out);
      this.#compact();
      return;
    }
    // The source's key (only for a new torrent or peer: a re-announce never pays for it), or -1 when sources
    // are not counted or a WebRTC handle has no owner.
    let source = -1;
    if (id < 0) {
      if (this.#sources !== null) source = this.#sourceOf(lists, ip, 0);
      if (
        source >= 0 &&
        this.#atShare(source, Math.min(this.maxTorrentsPerSource, this.maxPeersPerSource), lists, req)
      ) {
        this.refusedSource++;
        out.refused = "source_share"; // the source (IPv4 address, IPv6 /48) holds its share
        this.#fillCounts(-1, out);
        return;
      }
      if (!this.#roomForTorrent()) {
        this.refusedTorrents++;
        out.refused = "torrent_limit";
        this.#fillCounts(-1, out);
        return;
      }
      id = bytes === null ? this.#table.insert(req.infoHash) : this.#table.insertBytes(bytes, req.hashOff);
      this.#state[id] = LIVE;
      this.#downloaded[id] = 0;
      this.#torrents++;
      if (this.#cluster !== null) this.#want(id);
    } else if (!this.#wake(id)) {
      this.refusedTorrents++;
      out.refused = "torrent_limit"; // a dormant torrent, while the stores sharing totals hold the most live ones
      this.#fillCounts(id, out);
      return;
    }
    const seeder = req.left === 0;
    let r = lists.find(id, ip, port);
    if (r < 0) {
      if (this.#shared === null ? this.peers >= this.maxPeers : !this.#shared.takePeer(this.maxPeers)) {
        this.refusedPeers++;
        out.refused = "peer_limit";
        this.#fillCounts(id, out);
        return;
      }
      if (this.#sources !== null) source = this.#sourceOf(lists, ip, 0);
      // Checked and counted at once: stores in other threads count the same source.
      if (source >= 0 && !this.#countSource(source, lists, req)) {
        this.#shared?.releasePeer();
        this.refusedSource++;
        out.refused = "source_share";
        this.#fillCounts(id, out);
        return;
      }
      if (this.#countOf(id) >= this.maxPeersPerTorrent) this.#evictLongestSilent(id, lists, now);
      // A new peer that says `completed` (and has everything) has finished a download.
      const counts = req.event === EVENT_COMPLETED && seeder;
      r = this.#addPeer(lists, id, ip, port, seeder, counts ? FLAG_COUNTED : 0, req.clientTag, now, -1); // (counted)
      if (counts) this.#countCompletion(id);
      this.#cluster?.changed(id);
    } else {
      const flags = lists.flags(id, r);
      const wasSeeder = (flags & FLAG_SEEDER) !== 0;
      // (WebTorrent clients announce every few minutes by design: their offers go stale.)
      if (req.event === EVENT_NONE && !req.webrtc && lists.age(id, r, now) < this.#minIntervalS) this.#earlyAnnounces++;
      // A completion is a leecher becoming a seeder, announced or not; each peer counts once.
      if (seeder && (flags & FLAG_COUNTED) === 0 && (req.event === EVENT_COMPLETED || !wasSeeder)) {
        lists.setFlags(id, r, flags | FLAG_COUNTED);
        this.#countCompletion(id);
      }
      if (wasSeeder !== seeder) {
        r = lists.setSeeder(id, r, seeder);
        this.#seeders += seeder ? 1 : -1;
        this.#cluster?.changed(id);
      } else this.#cluster?.touched(id, now);
      lists.setTime(id, r, now);
      const oldTag = lists.tag(id, r);
      if (oldTag !== req.clientTag) {
        this.#peersByClient[oldTag]--;
        this.#peersByClient[req.clientTag]++;
        lists.setTag(id, r, req.clientTag);
      }
    }
    this.#fillCounts(id, out);
    if (req.numWant > 0) {
      if (req.webrtc) this.#selectRtc(id, req.numWant, r, seeder, out);
      else this.#select(id, req, lists, r, seeder, out);
    }
    this.#compact();
  }

  /** Counts for one torrent; unknown torrents report zeros (in cluster mode, until the sync fetched them). */
  scrape(infoHash: string, out: ScrapeCounts): void {
    const id = this.#table.find(infoHash);
    if (id < 0 && this.#cluster !== null) {
      const at = this.#cluster.wantSlot();
      if (at >= 0) for (let i = 0; i < 20; i++) this.#cluster.wantBytes[at + i] = infoHash.charCodeAt(i);
    }
    this.#scrapeCounts(id, out);
  }

  /** `scrape` for the info hash at b[off, off + 20). */
  scrapeBytes(b: Uint8Array, off: number, out: ScrapeCounts): void {
    const id = this.#table.findBytes(b, off);
    if (id < 0 && this.#cluster !== null) {
      const at = this.#cluster.wantSlot();
      if (at >= 0) this.#cluster.wantBytes.set(b.subarray(off, off + 20), at);
    }
    this.#scrapeCounts(id, out);
  }

  /** Cluster mode: torrent `id` just appeared here; the sync fetches what other instances have of it. */
  #want(id: number): void {
    const at = this.#cluster!.wantSlot();
    if (at >= 0) this.#table.copyKey(id, this.#cluster!.wantBytes, at);
  }

  // Two copies of the same three lines on purpose: each keeps its property stores to one object shape
  // (AnnounceResult or ScrapeCounts). One shared method measured 81k against 90k UDP responses/s (interleaved).
  #scrapeCounts(id: number, out: ScrapeCounts): void {
    const c = this.#cluster;
    out.complete = id < 0 ? 0 : c === null ? this.seedersOf(id) : this.seedersOf(id) + c.seeders(id);
    out.incomplete = id < 0 ? 0 : c === null ? this.leechersOf(id) : this.leechersOf(id) + c.leechers(id);
    out.downloaded = id < 0 ? 0 : c === null ? this.#downloaded[id] : this.#downloaded[id] + c.downloaded(id);
  }

  /**
   * Makes room for `n` more torrents in one step before a restore, so the table does not grow (and copy)
   * torrent by torrent.
   */
  reserveTorrents(n: number): void {
    this.#table.reserve(Math.min(n, this.maxTorrents - this.#torrents - this.#dormant));
  }

  /**
   * Starts putting back a torrent from a state snapshot: returns its id (dormant until peers are restored
   * into it, see restorePeer and finishRestore), or -1 if the store has it already or is full
   * (--max-torrents).
   */
  restoreTorrent(infoHash: string, downloaded: number): number {
    if (this.#table.find(infoHash) >= 0 || this.#torrents + this.#dormant >= this.maxTorrents) return -1;
    return this.#restored(this.#table.insert(infoHash), downloaded);
  }

  /** `restoreTorrent` for the info hash at b[off, off + 20) (no string made per torrent). */
  restoreTorrentBytes(b: Uint8Array, off: number, downloaded: number): number {
    if (this.#table.findBytes(b, off) >= 0 || this.#torrents + this.#dormant >= this.maxTorrents) return -1;
    return this.#restored(this.#table.insertBytes(b, off), downloaded);
  }

  #restored(id: number, downloaded: number): number {
    this.#state[id] = DORMANT;
    this.#downloaded[id] = downloaded;
    this.#completed += downloaded; // all-time, as far as the snapshot goes back
    this.#dormant++;
    return id;
  }

  /**
   * Sizes restored torrent `id`'s lists for the peers the snapshot holds (within the per-torrent limit) in
   * one allocation each: growing record by record would leave a trail of outgrown blocks in the arenas.
   */
  reservePeers(id: number, n4: number, n6: number): void {
    const max = this.maxPeersPerTorrent;
    if (n4 > 0) this.#v4.reserve(id, Math.min(n4, max));
    if (n6 > 0) this.#v6.reserve(id, Math.min(n6, max));
  }

  /** IPv4 (ipLen 4) or IPv6 (16) peers of torrent `id`: what readPeer reads, at 0..count-1. */
  peerCount(id: number, ipLen: 4 | 16): number {
    return (ipLen === 4 ? this.#v4 : this.#v6).count(id);
  }

  /** Of those, the leechers: records 0..leecherCount-1 (the seeders follow). */
  leecherCount(id: number, ipLen: 4 | 16): number {
    return (ipLen === 4 ? this.#v4 : this.#v6).leechers(id);
  }

  /**
   * The compact form (address, port) of `k` of the `n` IPv4 or IPv6 peers of torrent `id` from record `from`
   * on, evenly spread, into out[at..]; returns the offset after them. (Cluster mode publishes these.)
   */
  copyPeers(id: number, ipLen: 4 | 16, from: number, n: number, k: number, out: Uint8Array, at: number): number {
    const lists = ipLen === 4 ? this.#v4 : this.#v6;
    if (k === 0) return at;
    const d = lists.dataOf(id);
    const base = lists.offsetOf(id, from);
    const size = lists.compactLen;
    const stride = lists.stride;
    for (let i = 0; i < k; i++, at += size) {
      const o = base + (k === n ? i : Math.floor((i * n) / k)) * stride;
      for (let j = 0; j < size; j++) out[at + j] = d[o + j];
    }
    return at;
  }

  /**
   * The r-th IPv4 or IPv6 peer of torrent `id` into `out` (for a snapshot), its last announce in unix seconds
   * at `now`. The order is the store's and changes with it: read a torrent's peers without announcing between.
   */
  readPeer(id: number, ipLen: 4 | 16, r: number, now: number, out: PeerRecord): void {
    (ipLen === 4 ? this.#v4 : this.#v6).read(id, r, now, out);
  }

  /**
   * Puts back one saved peer (`rec.time` is its last announce in unix seconds); peers already past the
   * timeout, with port 0 or seen before in this torrent are skipped. Returns false when a limit
   * (--max-peers, --max-peers-per-torrent) left it out.
   */
  restorePeer(id: number, rec: PeerRecord, now: number): boolean {
    const { ip, ipLen, port, time } = rec;
    if (port === 0 || now - time > this.peerTimeoutS) return true;
    const lists = ipLen === 4 ? this.#v4 : this.#v6;
    if (lists.find(id, ip, port) >= 0) return true;
    if (this.#countOf(id) >= this.maxPeersPerTorrent) return false;
    if (this.#shared === null ? this.peers >= this.maxPeers : !this.#shared.takePeer(this.maxPeers)) return false;
    if (!this.#wake(id)) {
      this.#shared!.releasePeer(); // (only shared totals refuse a wake)
      return false;
    }
    const source = this.#sources === null ? -1 : sourceKeyAt(ip, 0, ipLen);
    this.#addPeer(
      lists,
      id,
      ip,
      port,
      rec.seeder,
      rec.counted ? FLAG_COUNTED : 0,
      rec.tag,
      Math.min(time, now),
      source,
    );
    return true;
  }

  /** Bytes of an address family's arena in records (live) and in blocks waiting to be compacted away. */
  arenaBytes(ipLen: 4 | 16): { live: number; garbage: number } {
    const arena = (ipLen === 4 ? this.#v4 : this.#v6).arena;
    return { live: arena.liveBytes, garbage: arena.garbageBytes };
  }

  /**
   * How the store finds the address of the WebSocket connection that owns WebRTC peer `handle`: `lookup`
   * writes it to out[0..len) and returns len, or 0 when the handle has no owner. Set by the WebSocket front
   * end; a WebRTC peer counts against its connection's source.
   */
  setRtcAddressLookup(lookup: (handle: RtcHandle, out: Uint8Array) => 0 | 4 | 16): void {
    this.#rtcAddressOf = lookup;
  }

  /** Ends a restore: a torrent that got no peers and has no completions is not worth keeping. */
  finishRestore(id: number): void {
    if (this.#state[id] === DORMANT && this.#downloaded[id] === 0) this.#forget(id);
  }

  /**
   * Undoes a restore that failed part way, into a store that was empty before it: every torrent and peer
   * goes, and the completions the restore carried with them.
   */
  undoRestore(): void {
    this.forEachTorrentIn(0, this.idLimit, (id) => void this.dropTorrent(this.infoHashOf(id)));
    this.#completed = 0;
  }

  /** Forgets a torrent and its peers at once (it was just denied). Returns whether it existed. */
  dropTorrent(infoHash: string): boolean {
    const id = this.#table.find(infoHash);
    if (id < 0) return false;
    for (const lists of this.#allLists()) {
      for (let r = lists.count(id) - 1; r >= 0; r--) this.#removePeer(lists, id, r);
    }
    if (this.#state[id] === LIVE) {
      this.#torrents--;
      this.#shared?.releaseTorrent();
      this.#dormant++; // #forget takes it off the dormant count
    }
    this.#forget(id);
    return true;
  }

  /** Every torrent id is below this (ids are dense: see torrent-table.ts). */
  get idLimit(): number {
    return this.#table.highWater;
  }

  /**
   * Drops the peers of torrents with ids in [from, to) that are older than the timeout. A torrent left
   * without peers is forgotten, unless it has completions: then it stays, dormant, so its all-time count
   * survives. The caller walks the ids a slice at a time, so no request waits behind a whole pass.
   */
  sweepIds(from: number, to: number, now: number): SweepResult {
    const result: SweepResult = { peersRemoved: 0, torrentsRemoved: 0 };
    const state = this.#state;
    const end = Math.min(to, this.#table.highWater);
    const timeout = this.peerTimeoutS;
    for (let id = from; id < end; id++) {
      if (state[id] !== LIVE) continue;
      const before = result.peersRemoved;
      for (const lists of this.#allLists()) {
        if (lists.count(id) === 0) continue;
        result.peersRemoved += lists.expire(id, now, timeout, this.#leftOf(lists));
        lists.shrink(id);
      }
      if (result.peersRemoved !== before) this.#cluster?.changed(id);
      if (this.#countOf(id) === 0) {
        this.#torrents--;
        this.#shared?.releaseTorrent();
        this.#dormant++;
        result.torrentsRemoved++;
        // (in cluster mode also while other instances have it: its remote view stays in answers)
        if (this.#downloaded[id] > 0 || this.#cluster?.hasRemote(id)) state[id] = DORMANT;
        else this.#forget(id);
      }
    }
    this.#compact();
    return result;
  }

  /** Takes a peer that is leaving off the totals (made once, as the sweep's per-peer callback). */
  readonly #left4 = (tag: number, seeder: boolean, data: Uint8Array, at: number): void => {
    this.#peers4--;
    this.#left(tag, seeder);
    if (this.#sources !== null) this.#sources.remove(sourceKeyAt(data, at, 4));
  };
  readonly #left6 = (tag: number, seeder: boolean, data: Uint8Array, at: number): void => {
    this.#peers6--;
    this.#left(tag, seeder);
    if (this.#sources !== null) this.#sources.remove(sourceKeyAt(data, at, 16));
  };
  readonly #leftRtc = (tag: number, seeder: boolean, data: Uint8Array, at: number): void => {
    this.#peersRtc--;
    this.#left(tag, seeder);
    if (this.#sources !== null) this.#sources.remove(this.#sourceOf(this.#rtc, data, at));
  };

  #leftOf(lists: PeerLists): (tag: number, seeder: boolean, data: Uint8Array, at: number) => void {
    return lists === this.#v4 ? this.#left4 : lists === this.#v6 ? this.#left6 : this.#leftRtc;
  }

  /** The lists that may hold peers: the WebRTC ones only once they exist. */
  #allLists(): readonly PeerLists[] {
    return this.#rtcOn ? this.#lists3 : this.#lists2;
  }

  readonly #lists2: readonly PeerLists[];
  readonly #lists3: readonly PeerLists[];

  #enableRtc(): void {
    this.#rtcOn = true;
    this.#rtc.resize(this.#capacity, this.#table.room);
  }

  #left(tag: number, seeder: boolean): void {
    this.#peersByClient[tag]--;
    if (seeder) this.#seeders--;
    this.#shared?.releasePeer();
  }

  /**
   * The source key of the peer whose address (WebRTC: handle) is at b[off..], or -1 for a WebRTC handle
   * without an owner.
   */
  #sourceOf(lists: PeerLists, b: Uint8Array, off: number): number {
    if (lists !== this.#rtc) return sourceKeyAt(b, off, lists.addrLen);
    const len = (this.#rtcAddressLen = this.#rtcAddressOf(readU32(b, off) as RtcHandle, this.#rtcAddress));
    return len === 0 ? -1 : sourceKeyAt(this.#rtcAddress, 0, len);
  }

  /** Source `key` holds `limit` peers or more, and is not exempt (checked only then: a CIDR lookup). */
  #atShare(key: number, limit: number, lists: PeerLists, req: AnnounceRequest): boolean {
    return this.#sources!.get(key) >= limit && !this.#exempt(lists, req);
  }

  /** Counts a new peer against source `key`: false (not counted) when it holds its share and is not exempt. */
  #countSource(key: number, lists: PeerLists, req: AnnounceRequest): boolean {
    if (this.#sources!.tryAdd(key, this.maxPeersPerSource)) return true;
    if (!this.#exempt(lists, req)) return false;
    this.#sources!.add(key);
    return true;
  }

  /** The source of the peer being announced is exempt from the share. */
  #exempt(lists: PeerLists, req: AnnounceRequest): boolean {
    if (this.#sourceExempt === null) return false;
    // (#sourceOf just wrote a WebRTC peer's connection address to #rtcAddress.)
    if (lists === this.#rtc) return this.#sourceExempt.has(this.#rtcAddress, this.#rtcAddressLen as 4 | 16);
    return this.#sourceExempt.has(req.ip, req.ipLen);
  }

  /** Inserts a peer that is not in the list and counts it in the totals. Returns its record index. */
  #addPeer(
    lists: PeerLists,
    id: number,
    ip: Uint8Array,
    port: number,
    seeder: boolean,
    flags: number,
    tag: number,
    now: number,
    source: number,
  ): number {
    const r = lists.insert(id, ip, port, seeder, flags, tag, now);
    if (source >= 0) this.#sources!.add(source);
    if (lists === this.#v4) this.#peers4++;
    else if (lists === this.#v6) this.#peers6++;
    else this.#peersRtc++;
    if (seeder) this.#seeders++;
    this.#peersByClient[tag]++;
    return r;
  }

  /**
   * A dormant torrent that gets a peer is live again. False (still dormant) when shared totals have no room
   * for another live torrent.
   */
  #wake(id: number): boolean {
    if (this.#state[id] !== DORMANT) return true;
    if (this.#shared !== null && !this.#shared.takeTorrent(this.maxTorrents)) return false;
    this.#state[id] = LIVE;
    this.#dormant--;
    this.#torrents++;
    return true;
  }

  /**
   * Room for a new live torrent: in the shared totals if any (taken there), and in this store's table, where
   * a dormant torrent of its own makes way if need be.
   */
  #roomForTorrent(): boolean {
    const shared = this.#shared;
    if (shared !== null && !shared.takeTorrent(this.maxTorrents)) return false;
    if (this.#torrents + this.#dormant < this.maxTorrents || this.#evictDormant()) return true;
    shared?.releaseTorrent(); // (unreachable while the limits are the same in every store: see the top)
    return false;
  }

  /** Removes a torrent without peers (counted as dormant) from the table. */
  #forget(id: number): void {
    if (this.#cluster !== null) {
      const at = this.#cluster.forgot(id);
      if (at >= 0) this.#table.copyKey(id, this.#cluster.goneBytes, at);
    }
    this.#table.remove(id);
    this.#state[id] = FREE;
    this.#downloaded[id] = 0;
    this.#dormant--;
  }

  /** Makes room for a new torrent by forgetting a dormant one (its completion count goes with it). */
  #evictDormant(): boolean {
    if (this.#dormant === 0) return false;
    const end = this.#table.highWater;
    for (let k = 0; k < end; k++) {
      const id = (this.#dormantCursor + k) % end;
      if (this.#state[id] !== DORMANT) continue;
      this.#dormantCursor = id + 1;
      this.#forget(id);
      return true;
    }
    return false;
  }

  /** Makes room in a full torrent: the longest-silent of a few randomly chosen peers goes. */
  #evictLongestSilent(id: number, lists: PeerLists, now: number): void {
    // The newcomer's own kind is the natural victim pool; if it is empty, take from the fullest other one.
    let pool = lists;
    if (pool.count(id) === 0) for (const other of this.#allLists()) if (other.count(id) > pool.count(id)) pool = other;
    let victim = -1;
    let victimAge = -1;
    for (let k = 0; k < EVICTION_SAMPLE; k++) {
      const r = Math.floor(this.#random() * pool.count(id));
      const age = pool.age(id, r, now);
      if (age > victimAge) {
        victim = r;
        victimAge = age;
      }
    }
    this.#removePeer(pool, id, victim);
    this.#evictedPeers++;
  }

  #removePeer(lists: PeerLists, id: number, r: number): void {
    const seeder = (lists.flags(id, r) & FLAG_SEEDER) !== 0;
    this.#leftOf(lists)(lists.tag(id, r), seeder, lists.dataOf(id), lists.offsetOf(id, r));
    lists.remove(id, r);
  }

  #countCompletion(id: number): void {
    this.#downloaded[id]++;
    this.#completed++;
    this.#cluster?.changed(id);
  }

  /** Counts of torrent `id` (-1: unknown, zeros) into an announce result. */
  #fillCounts(id: number, out: AnnounceResult): void {
    const c = this.#cluster;
    out.complete = id < 0 ? 0 : c === null ? this.seedersOf(id) : this.seedersOf(id) + c.seeders(id);
    out.incomplete = id < 0 ? 0 : c === null ? this.leechersOf(id) : this.leechersOf(id) + c.leechers(id);
    out.downloaded = id < 0 ? 0 : c === null ? this.#downloaded[id] : this.#downloaded[id] + c.downloaded(id);
  }

  /** Lets the arenas reclaim garbage, between requests (block addresses may change). */
  #compact(): void {
    this.#v4.arena.compactStep();
    this.#v6.arena.compactStep();
    if (this.#rtcOn) this.#rtc.arena.compactStep();
  }

  /**
   * Seeders get leechers only (another seeder has nothing to give them); leechers get anyone. The
   * requester's own record `self` (in `own`) is never returned.
   */
  #select(id: number, req: AnnounceRequest, own: PeerLists, self: number, seeder: boolean, out: AnnounceResult): void {
    const v4 = this.#v4;
    const v6 = this.#v6;
    const end4 = !req.want4 ? 0 : seeder ? v4.leechers(id) : v4.count(id);
    const end6 = !req.want6 ? 0 : seeder ? v6.leechers(id) : v6.count(id);
    const skip4 = own === v4 ? self : -1;
    const skip6 = own === v6 ? self : -1;
    const avail4 = end4 - (skip4 >= 0 && skip4 < end4 ? 1 : 0);
    const avail6 = end6 - (skip6 >= 0 && skip6 < end6 ? 1 : 0);
    const blob = this.#cluster === null ? null : this.#cluster.blob(id);
    if (blob !== null) {
      this.#selectMixed(id, req, blob, seeder, end4, skip4, avail4, end6, skip6, avail6, out);
      return;
    }
    const want4 = splitByFamily(req.numWant, avail4, avail6);
    const want6 = Math.min(avail6, req.numWant - want4);
    if (end4 > 0) out.count4 = selectPeers(v4, id, 0, end4, skip4, want4, this.#random, out.peers4, 0);
    if (end6 > 0) out.count6 = selectPeers(v6, id, 0, end6, skip6, want6, this.#random, out.peers6, 0);
  }

  /**
   * `#select` with other instances' peers (cluster mode): each family's share is split between local and
   * remote peers in proportion to how many each side has, local ones first; a remote peer that is also local
   * (the announcing peer among them) is left out.
   */
  #selectMixed(
    id: number,
    req: AnnounceRequest,
    blob: Uint8Array,
    seeder: boolean,
    end4: number,
    skip4: number,
    avail4: number,
    end6: number,
    skip6: number,
    avail6: number,
    out: AnnounceResult,
  ): void {
    const rr = this.#ranges;
    rr.read(blob);
    const r4 = !req.want4 ? 0 : seeder ? rr.n4L : rr.n4L + rr.n4S;
    const r6 = !req.want6 ? 0 : seeder ? rr.n6L : rr.n6L + rr.n6S;
    const want4 = splitByFamily(req.numWant, avail4 + r4, avail6 + r6);
    const want6 = Math.min(avail6 + r6, req.numWant - want4);
    const random = this.#random;
    const local4 = avail4 === 0 ? 0 : Math.min(avail4, Math.round((want4 * avail4) / (avail4 + r4)));
    let n4 = end4 > 0 ? selectPeers(this.#v4, id, 0, end4, skip4, local4, random, out.peers4, 0) : 0;
    n4 += selectRemote(blob, rr.at4, r4, 6, want4 - n4, this.#v4, id, random, out.peers4, n4 * 6);
    const local6 = avail6 === 0 ? 0 : Math.min(avail6, Math.round((want6 * avail6) / (avail6 + r6)));
    let n6 = end6 > 0 ? selectPeers(this.#v6, id, 0, end6, skip6, local6, random, out.peers6, 0) : 0;
    n6 += selectRemote(blob, rr.at6, r6, 18, want6 - n6, this.#v6, id, random, out.peers6, n6 * 18);
    out.count4 = n4;
    out.count6 = n6;
  }

  /** The WebRTC peers a WebRTC announce's offers go to: the same rule, among WebRTC peers only. */
  #selectRtc(id: number, want: number, self: number, seeder: boolean, out: AnnounceResult): void {
    const rtc = this.#rtc;
    const end = seeder ? rtc.leechers(id) : rtc.count(id);
    if (end === 0) return;
    const size = rtc.compactLen;
    if (this.#rtcPicked.length < want * size) this.#rtcPicked = new Uint8Array(want * size);
    const n = selectPeers(rtc, id, 0, end, self, want, this.#random, this.#rtcPicked, 0);
    for (let i = 0; i < n; i++) out.rtcPeers[i] = readU32(this.#rtcPicked, i * size);
    out.countRtc = n;
  }
}
