// The one in-process store that HTTP and UDP both feed: torrents sharded by info hash, peers keyed by
// (IP, port) within each address family. Pure: the caller passes the time and the random source in.
//
// Totals are kept incrementally, so statistics never walk the swarms. Expiry runs one shard at a time
// (`sweepShard`), so no request ever waits behind a sweep of everything.
//
// Memory is bounded: at most maxTorrents torrents (a torrent whose peers are all gone but which has
// completions stays as a "dormant" entry, keeping its all-time count, and is the first to go when room is
// needed), at most maxPeersPerTorrent peers per torrent (the longest-silent of a small random sample makes
// way for a newcomer) and at most maxPeers peers in all (newcomers are refused).

import {
  AnnounceRequest,
  AnnounceResult,
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_STOPPED,
  ScrapeCounts,
} from "./announce.ts";
import { FLAG_COUNTED, FLAG_SEEDER, type PeerList } from "./peer-list.ts";
import { type Random, selectPeers, splitByFamily } from "./select.ts";
import { Swarm } from "./swarm.ts";

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
   * A peer announcing again sooner than this (seconds, with no event) is "early" and counted (it is still
   * answered in full: the per-source rate limit is what bounds abuse). 0 = never early.
   */
  minIntervalS?: number;
}

/** Records looked at to pick the longest-silent peer when a torrent is full. */
const EVICTION_SAMPLE = 8;

/** Why an announce was refused (AnnounceResult.refused). */
export const REFUSED_NONE = 0;
export const REFUSED_TORRENTS = 1;
export const REFUSED_PEERS = 2;

export interface SweepResult {
  peersRemoved: number;
  torrentsRemoved: number;
}

export class Store {
  readonly shards: Map<string, Swarm>[];
  readonly peerTimeoutS: number;
  readonly maxTorrents: number;
  readonly maxPeersPerTorrent: number;
  readonly maxPeers: number;
  readonly #minIntervalS: number;
  #random: Random;

  /** Torrents with peers (or emptied by `stopped` and not yet swept). */
  torrents = 0;
  /** Torrents without peers kept for their completion count. */
  dormant = 0;
  /** Announces refused because the torrent or peer limit was reached, and peers evicted to make room. */
  refusedTorrents = 0;
  refusedPeers = 0;
  evictedPeers = 0;
  /** Announces (without an event) sooner than the min interval. */
  earlyAnnounces = 0;
  peers4 = 0;
  peers6 = 0;
  seeders = 0;
  /** Completions recorded: since start, plus what a restored state file carried (never goes down). */
  completed = 0;
  /** Live peers per client tag (see core/clients.ts), kept as peers arrive, change client and leave. */
  readonly peersByClient = new Float64Array(256);

  constructor(options: StoreOptions) {
    const n = options.shards ?? 64;
    if (!Number.isInteger(n) || n < 1 || n > 65536) throw new RangeError("shards must be 1..65536");
    this.shards = Array.from({ length: n }, () => new Map());
    this.peerTimeoutS = options.peerTimeoutS;
    this.#random = options.random;
    this.maxTorrents = options.maxTorrents ?? Infinity;
    this.maxPeersPerTorrent = options.maxPeersPerTorrent ?? Infinity;
    this.maxPeers = options.maxPeers ?? Infinity;
    this.#minIntervalS = options.minIntervalS ?? 0;
  }

  get peers(): number {
    return this.peers4 + this.peers6;
  }

  get leechers(): number {
    return this.peers - this.seeders;
  }

  shardOf(infoHash: string): Map<string, Swarm> {
    // Info hashes are SHA-1 output, so two bytes spread them evenly.
    const n = this.shards.length;
    return this.shards[((infoHash.charCodeAt(0) << 8) | infoHash.charCodeAt(1)) % n];
  }

  get(infoHash: string): Swarm | undefined {
    return this.shardOf(infoHash).get(infoHash);
  }

  /** Records the announce in `req` and fills `out` with counts and selected peers. */
  announce(req: AnnounceRequest, now: number, out: AnnounceResult): void {
    out.count4 = 0;
    out.count6 = 0;
    out.refused = REFUSED_NONE;
    const shard = this.shardOf(req.infoHash);
    let swarm = shard.get(req.infoHash);
    if (req.event === EVENT_STOPPED) {
      // Remove the peer; never create a swarm for a peer that is leaving.
      if (swarm !== undefined) {
        const list = swarm.list(req.ipLen);
        const r = list === null ? -1 : list.find(req.ip, req.port);
        if (r >= 0) this.#removePeer(list!, r);
      }
      this.#fillCounts(swarm, out);
      return;
    }
    if (swarm === undefined) {
      if (this.torrents + this.dormant >= this.maxTorrents && !this.#evictDormant()) {
        this.refusedTorrents++;
        out.refused = REFUSED_TORRENTS;
        return;
      }
      swarm = new Swarm();
      shard.set(req.infoHash, swarm);
      this.torrents++;
    } else if (swarm.dormant) {
      swarm.dormant = false;
      this.dormant--;
      this.torrents++;
    }
    const list = swarm.listOrCreate(req.ipLen);
    const seeder = req.left === 0;
    let r = list.find(req.ip, req.port);
    if (r < 0) {
      if (this.peers >= this.maxPeers) {
        this.refusedPeers++;
        out.refused = REFUSED_PEERS;
        this.#fillCounts(swarm, out);
        return;
      }
      if (swarm.peers >= this.maxPeersPerTorrent) this.#evictLongestSilent(swarm, list);
      // A new peer that says `completed` (and has everything) has finished a download.
      const counts = req.event === EVENT_COMPLETED && seeder;
      r = list.insert(req.ip, req.port, seeder, counts ? FLAG_COUNTED : 0, req.clientTag, now);
      if (req.ipLen === 4) this.peers4++;
      else this.peers6++;
      if (seeder) this.seeders++;
      this.peersByClient[req.clientTag]++;
      if (counts) this.#countCompletion(swarm);
    } else {
      const flags = list.flags(r);
      const wasSeeder = (flags & FLAG_SEEDER) !== 0;
      if (req.event === EVENT_NONE && now - list.time(r) < this.#minIntervalS) this.earlyAnnounces++;
      // A completion is a leecher becoming a seeder, announced or not; each peer counts once.
      if (seeder && (flags & FLAG_COUNTED) === 0 && (req.event === EVENT_COMPLETED || !wasSeeder)) {
        list.setFlags(r, flags | FLAG_COUNTED);
        this.#countCompletion(swarm);
      }
      if (wasSeeder !== seeder) {
        r = list.setSeeder(r, seeder);
        this.seeders += seeder ? 1 : -1;
      }
      list.setTime(r, now);
      const oldTag = list.tag(r);
      if (oldTag !== req.clientTag) {
        this.peersByClient[oldTag]--;
        this.peersByClient[req.clientTag]++;
        list.setTag(r, req.clientTag);
      }
    }
    this.#fillCounts(swarm, out);
    if (req.numWant > 0) this.#select(swarm, req, req.numWant, list, r, seeder, out);
  }

  /** Counts for one torrent; unknown torrents report zeros. */
  scrape(infoHash: string, out: ScrapeCounts): void {
    const swarm = this.get(infoHash);
    out.complete = swarm?.seeders ?? 0;
    out.incomplete = swarm?.leechers ?? 0;
    out.downloaded = swarm?.downloaded ?? 0;
  }

  /** Puts back a torrent from a state snapshot (into a store that does not have it yet). */
  restoreTorrent(infoHash: string, downloaded: number, dormant: boolean, v4: PeerList | null, v6: PeerList | null): void {
    const shard = this.shardOf(infoHash);
    if (shard.has(infoHash)) return;
    const swarm = new Swarm();
    swarm.downloaded = downloaded;
    this.completed += downloaded; // all-time, as far as the snapshot goes back
    swarm.v4 = v4 !== null && v4.count > 0 ? v4 : null;
    swarm.v6 = v6 !== null && v6.count > 0 ? v6 : null;
    swarm.dormant = dormant || (swarm.v4 === null && swarm.v6 === null);
    if (swarm.dormant && downloaded === 0) return; // nothing worth keeping (and nothing added to completed)
    shard.set(infoHash, swarm);
    if (swarm.dormant) {
      swarm.v4 = swarm.v6 = null;
      this.dormant++;
      return;
    }
    this.torrents++;
    for (const list of [swarm.v4, swarm.v6]) {
      if (list === null) continue;
      if (list.addrLen === 4) this.peers4 += list.count;
      else this.peers6 += list.count;
      this.seeders += list.seeders;
      for (let r = 0; r < list.count; r++) this.peersByClient[list.tag(r)]++;
    }
  }

  /** Forgets a torrent and its peers at once (it was just denied). Returns whether it existed. */
  dropTorrent(infoHash: string): boolean {
    const shard = this.shardOf(infoHash);
    const swarm = shard.get(infoHash);
    if (swarm === undefined) return false;
    for (const list of [swarm.v4, swarm.v6]) {
      if (list === null) continue;
      for (let r = list.count - 1; r >= 0; r--) this.#removePeer(list, r);
    }
    shard.delete(infoHash);
    if (swarm.dormant) this.dormant--;
    else this.torrents--;
    return true;
  }

  /**
   * Drops the peers of shard `i` that are older than the timeout. A torrent left without peers is forgotten,
   * unless it has completions: then it stays, dormant, so its all-time count survives.
   */
  sweepShard(i: number, now: number): SweepResult {
    const shard = this.shards[i];
    const oldest = now - this.peerTimeoutS;
    const result: SweepResult = { peersRemoved: 0, torrentsRemoved: 0 };
    for (const [key, swarm] of shard) {
      if (swarm.dormant) continue;
      for (const list of [swarm.v4, swarm.v6]) {
        if (list === null) continue;
        for (let r = list.count - 1; r >= 0; r--) {
          if (list.time(r) < oldest) {
            this.#removePeer(list, r);
            result.peersRemoved++;
          }
        }
        list.shrink();
      }
      if (swarm.v4 !== null && swarm.v4.count === 0) swarm.v4 = null;
      if (swarm.v6 !== null && swarm.v6.count === 0) swarm.v6 = null;
      if (swarm.v4 === null && swarm.v6 === null) {
        this.torrents--;
        result.torrentsRemoved++;
        if (swarm.downloaded > 0) {
          swarm.dormant = true;
          this.dormant++;
        } else {
          shard.delete(key);
        }
      }
    }
    return result;
  }

  /** Makes room for a new torrent by forgetting a dormant one (its completion count goes with it). */
  #evictDormant(): boolean {
    if (this.dormant === 0) return false;
    const start = Math.floor(this.#random() * this.shards.length);
    for (let k = 0; k < this.shards.length; k++) {
      const shard = this.shards[(start + k) % this.shards.length];
      for (const [key, swarm] of shard) {
        if (!swarm.dormant) continue;
        shard.delete(key);
        this.dormant--;
        return true;
      }
    }
    return false;
  }

  /** Makes room in a full torrent: the longest-silent of a few randomly chosen peers of `list` goes. */
  #evictLongestSilent(swarm: Swarm, list: PeerList): void {
    // The newcomer's own family is the natural victim pool; if it is empty, take from the other one.
    const pool = list.count > 0 ? list : list === swarm.v4 ? swarm.v6! : swarm.v4!;
    let victim = -1;
    let victimTime = Infinity;
    for (let k = 0; k < EVICTION_SAMPLE; k++) {
      const r = Math.floor(this.#random() * pool.count);
      const t = pool.time(r);
      if (t < victimTime) {
        victim = r;
        victimTime = t;
      }
    }
    this.#removePeer(pool, victim);
    this.evictedPeers++;
  }

  #removePeer(list: PeerList, r: number): void {
    if ((list.flags(r) & FLAG_SEEDER) !== 0) this.seeders--;
    this.peersByClient[list.tag(r)]--;
    if (list.addrLen === 4) this.peers4--;
    else this.peers6--;
    list.remove(r);
  }

  #countCompletion(swarm: Swarm): void {
    swarm.downloaded++;
    this.completed++;
  }

  #fillCounts(swarm: Swarm | undefined, out: AnnounceResult): void {
    out.complete = swarm?.seeders ?? 0;
    out.incomplete = swarm?.leechers ?? 0;
    out.downloaded = swarm?.downloaded ?? 0;
  }

  /**
   * Seeders get leechers only (another seeder has nothing to give them); leechers get anyone. The
   * requester's own record `self` (in `own`) is never returned.
   */
  #select(swarm: Swarm, req: AnnounceRequest, numWant: number, own: PeerList, self: number, seeder: boolean, out: AnnounceResult): void {
    const v4 = req.want4 ? swarm.v4 : null;
    const v6 = req.want6 ? swarm.v6 : null;
    const end4 = v4 === null ? 0 : seeder ? v4.leechers : v4.count;
    const end6 = v6 === null ? 0 : seeder ? v6.leechers : v6.count;
    const skip4 = own === v4 ? self : -1;
    const skip6 = own === v6 ? self : -1;
    const avail4 = end4 - (skip4 >= 0 && skip4 < end4 ? 1 : 0);
    const avail6 = end6 - (skip6 >= 0 && skip6 < end6 ? 1 : 0);
    const want4 = splitByFamily(numWant, avail4, avail6);
    const want6 = Math.min(avail6, numWant - want4);
    if (v4 !== null) out.count4 = selectPeers(v4, 0, end4, skip4, want4, this.#random, out.peers4, 0);
    if (v6 !== null) out.count6 = selectPeers(v6, 0, end6, skip6, want6, this.#random, out.peers6, 0);
  }
}
