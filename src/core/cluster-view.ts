// What a store keeps for cluster mode (see docs/cluster.md), by torrent id like the store's own arrays:
//  - the remote view: the other instances' peers of each torrent as one merged blob (peer-blob.ts) with their
//    seeder and leecher counts and their completions, which announces and scrapes add to the local ones;
//  - a change journal: the torrents whose local peers or completions changed since the sync last took them
//    (it publishes those), the torrents that appeared (their remote view is fetched) and the info hashes of
//    torrents that went (their published blob is deleted).
// Pure and synchronous: the store writes the journal as it changes, the cluster sync (server side) drains it
// and writes the remote view. Nothing here waits on the network.

import { grown } from "./id-arrays.ts";
import { blobLeechers, blobSeeders } from "./peer-blob.ts";

/** Bytes of an info hash. */
const HASH = 20;

/** Info hashes waiting in one list at most (more are dropped: a flood of scrapes for unknown torrents). */
const MAX_WAITING = 100_000;

/** A growable list of 20-byte info hashes. */
class HashList {
  bytes = new Uint8Array(HASH * 64);
  count = 0;

  /** Room for one more; returns its offset, or -1 when the list is full. */
  push(): number {
    if (this.count >= MAX_WAITING) return -1;
    if ((this.count + 1) * HASH > this.bytes.length) {
      const b = new Uint8Array(this.bytes.length * 2);
      b.set(this.bytes);
      this.bytes = b;
    }
    return this.count++ * HASH;
  }

  /** The hashes so far (a copy), and an empty list. */
  take(): Uint8Array {
    const out = this.bytes.slice(0, this.count * HASH);
    this.count = 0;
    if (this.bytes.length > HASH * 4096) this.bytes = new Uint8Array(HASH * 64);
    return out;
  }
}

export class ClusterView {
  /** A torrent published longer ago than this (seconds) is published again at its next announce. */
  readonly refreshS: number;
  #blob: (Uint8Array | null)[] = [];
  #seeders = new Uint32Array(0);
  #leechers = new Uint32Array(0);
  #downloaded = new Uint32Array(0);
  /** Per id: 1 while in #dirtyIds; the last publication, unix seconds. */
  #dirty = new Uint8Array(0);
  #publishedAt = new Uint32Array(0);
  #dirtyIds = new Int32Array(256);
  #dirtyCount = 0;
  readonly #wanted = new HashList();
  readonly #gone = new HashList();
  /** Totals over all ids, for statistics. */
  #remoteSeeders = 0;
  #remoteLeechers = 0;
  #remoteDownloaded = 0;

  constructor(refreshS: number) {
    this.refreshS = refreshS;
  }

  resize(capacity: number, room = capacity): void {
    this.#seeders = grown(this.#seeders, capacity, room);
    this.#leechers = grown(this.#leechers, capacity, room);
    this.#downloaded = grown(this.#downloaded, capacity, room);
    this.#dirty = grown(this.#dirty, capacity, room);
    this.#publishedAt = grown(this.#publishedAt, capacity, room);
    if (this.#blob.length < capacity) this.#blob.length = capacity;
  }

  // Remote view, read by the store on every announce and scrape.
  seeders(id: number): number {
    return this.#seeders[id];
  }

  leechers(id: number): number {
    return this.#leechers[id];
  }

  downloaded(id: number): number {
    return this.#downloaded[id];
  }

  /** The merged remote peers of torrent `id` (peer-blob.ts layout), or null. */
  blob(id: number): Uint8Array | null {
    return this.#blob[id] ?? null;
  }

  /** Remote peers and completions over all torrents this store holds. */
  get remoteSeeders(): number {
    return this.#remoteSeeders;
  }

  get remoteLeechers(): number {
    return this.#remoteLeechers;
  }

  get remoteDownloaded(): number {
    return this.#remoteDownloaded;
  }

  /** Whether torrent `id` has anything remote (then the store keeps it when its local peers go). */
  hasRemote(id: number): boolean {
    return this.#blob[id] != null || this.#downloaded[id] > 0;
  }

  // Journal, written by the store.
  /** Torrent `id`'s local peers or completions changed. */
  changed(id: number): void {
    if (this.#dirty[id] === 1) return;
    this.#dirty[id] = 1;
    if (this.#dirtyCount === this.#dirtyIds.length) {
      const a = new Int32Array(this.#dirtyIds.length * 2);
      a.set(this.#dirtyIds);
      this.#dirtyIds = a;
    }
    this.#dirtyIds[this.#dirtyCount++] = id;
  }

  /** A peer of torrent `id` announced again without changing anything: published again only when due. */
  touched(id: number, now: number): void {
    if (this.#dirty[id] === 0 && now - this.#publishedAt[id] >= this.refreshS) this.changed(id);
  }

  /**
   * A torrent this store did not hold (it just appeared, or a scrape asked for it): its remote view is to be
   * fetched. The caller writes its info hash to wantBytes at the offset returned (-1: no room, skip it).
   */
  wantSlot(): number {
    return this.#wanted.push();
  }

  get wantBytes(): Uint8Array {
    return this.#wanted.bytes;
  }

  /**
   * Torrent `id` is forgotten: its published blob is to be deleted, its view is cleared. The caller writes
   * its info hash to goneBytes at the offset returned (-1: no room; the blob then expires on its own).
   */
  forgot(id: number): number {
    this.setRemote(id, null, 0);
    this.#publishedAt[id] = 0;
    return this.#gone.push();
  }

  get goneBytes(): Uint8Array {
    return this.#gone.bytes;
  }

  // Sync side.
  /** The ids changed since the last call (an id may since have been forgotten or reused: check its hash). */
  takeChanged(): Int32Array {
    const ids = this.#dirtyIds.slice(0, this.#dirtyCount);
    for (const id of ids) this.#dirty[id] = 0;
    this.#dirtyCount = 0;
    return ids;
  }

  /** Info hashes (20 bytes each) of torrents that appeared or were asked for since the last call. */
  takeWanted(): Uint8Array {
    return this.#wanted.take();
  }

  /** Info hashes of torrents forgotten since the last call. */
  takeGone(): Uint8Array {
    return this.#gone.take();
  }

  /** Info hashes of forgotten torrents to delete again later (a failed write). */
  putBackGone(hashes: Uint8Array): void {
    for (let o = 0; o < hashes.length; o += HASH) {
      const at = this.#gone.push();
      if (at >= 0) this.#gone.bytes.set(hashes.subarray(o, o + HASH), at);
    }
  }

  published(id: number, now: number): void {
    this.#publishedAt[id] = now;
  }

  /** Replaces torrent `id`'s remote view: merged peers (or null) and the other instances' completions. */
  setRemote(id: number, blob: Uint8Array | null, downloaded: number): void {
    const old = this.#blob[id];
    if (old != null) {
      this.#remoteSeeders -= this.#seeders[id];
      this.#remoteLeechers -= this.#leechers[id];
    }
    this.#remoteDownloaded += downloaded - this.#downloaded[id];
    this.#blob[id] = blob;
    this.#seeders[id] = blob === null ? 0 : blobSeeders(blob);
    this.#leechers[id] = blob === null ? 0 : blobLeechers(blob);
    this.#downloaded[id] = downloaded;
    this.#remoteSeeders += this.#seeders[id];
    this.#remoteLeechers += this.#leechers[id];
  }
}
