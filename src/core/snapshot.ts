// The store on disk (--state-file): every torrent with its all-time completion count and its peers, each
// peer with its last announce time, so a restart or an upgrade resumes the swarms where they were and peers
// still expire on time. Pure: bytes in, bytes out; the server does the file I/O in slices.
//
// Layout (little-endian):
//   header   "BTSTATE\0" | u32 version | u32 saved at (unix s) | u32 n | n bytes: client names, "\n"-joined
//   torrents [20 hash | u32 downloaded | u8 flags (1 = dormant) | u32 v4 count | u32 v6 count
//             | v4 records (12 bytes each) | v6 records (24 bytes each)]*
//   record   address (4 or 16) | u16 port, big-endian | u8 flags | u8 client tag | u32 last announce (unix s)
//   trailer  u32 torrent count | 32 bytes SHA-256 of everything before it
// Client tags are per build, so the header names them and a restore maps them by name. This file alone knows
// the layout (the offsets below); the store hands peers out and takes them back as PeerRecord.

import { PeerRecord } from "./peer-lists.ts";
import type { Store } from "./store.ts";

const MAGIC = [0x42, 0x54, 0x53, 0x54, 0x41, 0x54, 0x45, 0x00]; // "BTSTATE\0"
export const SNAPSHOT_VERSION = 1;
// Header: magic, then these, then the names.
const H_VERSION = 8;
const H_SAVED_AT = 12;
const H_NAMES_LEN = 16;
const HEADER = 20;
// Torrent: info hash at 0, then these, then its records.
const T_DOWNLOADED = 20;
const T_FLAGS = 24;
const T_COUNT4 = 25;
const T_COUNT6 = 29;
const TORRENT_HEADER = 33;
const FLAG_DORMANT = 1;
// Record: the address, then these (offsets after the address); RECORD_TAIL bytes in all after it.
const R_PORT = 0;
const R_FLAGS = 2;
const R_TAG = 3;
const R_TIME = 4;
const RECORD_TAIL = 8;
const RECORD4 = 4 + RECORD_TAIL;
const RECORD6 = 16 + RECORD_TAIL;
const R_SEEDER = 1;
const R_COUNTED = 2;
// Trailer: torrent count, then the checksum.
const TRAILER_SUM = 4;
const TRAILER = TRAILER_SUM + 32;

export function encodeHeader(savedAt: number, clientNames: readonly string[]): Uint8Array {
  const names = new TextEncoder().encode(clientNames.join("\n"));
  const out = new Uint8Array(HEADER + names.length);
  out.set(MAGIC, 0);
  const v = new DataView(out.buffer);
  v.setUint32(H_VERSION, SNAPSHOT_VERSION, true);
  v.setUint32(H_SAVED_AT, savedAt >>> 0, true);
  v.setUint32(H_NAMES_LEN, names.length, true);
  out.set(names, HEADER);
  return out;
}

/**
 * The torrents with ids in [from, to), as one chunk (a save writes the ids a slice at a time). `now` turns
 * the store's relative peer times back into unix seconds.
 */
export function encodeTorrents(
  store: Store,
  from: number,
  to: number,
  now: number,
): { bytes: Uint8Array; torrents: number } {
  let size = 0;
  let torrents = 0;
  store.forEachTorrentIn(from, to, (id) => {
    size += TORRENT_HEADER + store.peerCount(id, 4) * RECORD4 + store.peerCount(id, 16) * RECORD6;
    torrents++;
  });
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  const rec = new PeerRecord();
  let o = 0;
  store.forEachTorrentIn(from, to, (id) => {
    const n4 = store.peerCount(id, 4);
    const n6 = store.peerCount(id, 16);
    store.copyInfoHash(id, out, o);
    v.setUint32(o + T_DOWNLOADED, store.downloadedOf(id), true);
    out[o + T_FLAGS] = store.isDormant(id) ? FLAG_DORMANT : 0;
    v.setUint32(o + T_COUNT4, n4, true);
    v.setUint32(o + T_COUNT6, n6, true);
    o += TORRENT_HEADER;
    for (let r = 0; r < n4; r++) o = writeRecord(store, id, 4, r, now, rec, out, v, o);
    for (let r = 0; r < n6; r++) o = writeRecord(store, id, 16, r, now, rec, out, v, o);
  });
  return { bytes: out, torrents };
}

/** Writes peer r of torrent `id`'s family `ipLen` at out[o..]; returns the offset after it. */
function writeRecord(
  store: Store,
  id: number,
  ipLen: 4 | 16,
  r: number,
  now: number,
  rec: PeerRecord,
  out: Uint8Array,
  v: DataView,
  o: number,
): number {
  store.readPeer(id, ipLen, r, now, rec);
  for (let i = 0; i < ipLen; i++) out[o + i] = rec.ip[i];
  const t = o + ipLen;
  v.setUint16(t + R_PORT, rec.port);
  out[t + R_FLAGS] = (rec.seeder ? R_SEEDER : 0) | (rec.counted ? R_COUNTED : 0);
  out[t + R_TAG] = rec.tag;
  v.setUint32(t + R_TIME, rec.time >>> 0, true);
  return t + RECORD_TAIL;
}

export function encodeTrailer(torrents: number, sha256: Uint8Array): Uint8Array {
  const out = new Uint8Array(TRAILER);
  new DataView(out.buffer).setUint32(0, torrents, true);
  out.set(sha256, TRAILER_SUM);
  return out;
}

export interface DecodedSnapshot {
  savedAt: number;
  torrents: number;
}

/** An incremental SHA-256 (Bun.CryptoHasher fits). */
export interface Hasher {
  update(bytes: Uint8Array): unknown;
  digest(): Uint8Array;
}

/** Where a reading pass puts what it reads: nowhere (a check), or into an empty store. */
export interface LoadInto {
  store: Store;
  clientNames: readonly string[];
  /** Peers silent longer than the store's timeout at `now` (unix seconds) are left out. */
  now: number;
}

/** Client names are a few hundred bytes; more is damage, not a reason to hold megabytes. */
const MAX_NAMES_BYTES = 1 << 16;

const S_HEADER = 0;
const S_NAMES = 1;
const S_TORRENT = 2;
const S_RECORDS = 3;
const S_TRAILER = 4;
const S_DONE = 5;

/**
 * Reads a snapshot of `size` bytes fed in pieces of any size (`push`), holding only a record's worth of bytes
 * between pieces: a large file is never in memory at once. With a hasher, a pass checks the SHA-256; with
 * `load`, it puts torrents and peers into the store as they come. A restore makes two passes: one that
 * checks everything and counts (nothing is loaded from a file that turns out bad at its end), then one that
 * loads, sized up front from the counts.
 */
export class SnapshotReader {
  readonly size: number;
  readonly #hasher: Hasher | null;
  readonly #load: LoadInto | null;
  readonly #owns: ((b: Uint8Array, off: number) => boolean) | null;
  readonly #bodyEnd: number;
  #state = S_HEADER;
  /** Bytes fed so far, and the offset of the next byte to parse. */
  #received = 0;
  #pos = 0;
  /** An item cut by a piece boundary, assembled here. */
  #carry = new Uint8Array(64);
  #carryLen = 0;
  /** Wrong magic or version: nothing else is worth saying. */
  #fatal: string | null = null;
  /** Damage found while parsing: reported after the checksum (which usually explains it). */
  #damage: string | null = null;
  #namesLen = 0;
  #tagMap: number[] = [];
  #declared = 0;
  readonly #sum = new Uint8Array(32);
  /**
   * The torrent being read: its store id (-1: not loaded), whether its peers are, and the records still to
   * come per family.
   */
  #id = -1;
  #peersWanted = false;
  readonly #rec = new PeerRecord();
  #left4 = 0;
  #left6 = 0;
  savedAt = 0;
  /** What the file holds: torrents and peer records per family; and the torrents `owns` accepts. */
  torrents = 0;
  ownedTorrents = 0;
  records4 = 0;
  records6 = 0;
  /** What a loading pass left out for --max-torrents, --max-peers and --max-peers-per-torrent. */
  torrentsOverLimit = 0;
  peersOverLimit = 0;

  /**
   * `owns` (several threads, each loading the torrents it owns from the one file): whether the torrent whose
   * record starts at b[off] is this reader's; null: every torrent is.
   */
  constructor(
    size: number,
    hasher: Hasher | null,
    load: LoadInto | null,
    owns: ((b: Uint8Array, off: number) => boolean) | null = null,
  ) {
    this.size = size;
    this.#hasher = hasher;
    this.#load = load;
    this.#owns = owns;
    this.#bodyEnd = size - TRAILER;
    if (size < HEADER + TRAILER) this.#fatal = "too short to be a state file";
  }

  /** Bytes of the file read so far. */
  get received(): number {
    return this.#received;
  }

  /** Feeds the next bytes of the file. Returns a reason to stop reading (the file is not usable), or null. */
  push(chunk: Uint8Array): string | null {
    if (this.#fatal !== null) return this.#fatal;
    const hashEnd = this.size - 32;
    if (this.#hasher !== null && this.#received < hashEnd) {
      const n = Math.min(chunk.length, hashEnd - this.#received);
      this.#hasher.update(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    this.#received += chunk.length;
    if (this.#received > this.size) return (this.#fatal = "the file grew while it was read");
    let off = 0;
    while (off < chunk.length && this.#damage === null && this.#state !== S_DONE) {
      const need = this.#need();
      if (need < 0) break;
      if (this.#carryLen === 0 && chunk.length - off >= need) {
        off = this.#item(chunk, off, chunk.length);
        continue;
      }
      if (this.#carry.length < need) {
        const bigger = new Uint8Array(need);
        bigger.set(this.#carry.subarray(0, this.#carryLen));
        this.#carry = bigger;
      }
      const take = Math.min(need - this.#carryLen, chunk.length - off);
      this.#carry.set(chunk.subarray(off, off + take), this.#carryLen);
      this.#carryLen += take;
      off += take;
      if (this.#carryLen < need) break;
      this.#carryLen = 0;
      this.#item(this.#carry, 0, need);
    }
    // A checking pass reads on to the end all the same: the checksum is the better explanation of damage.
    return this.#fatal ?? (this.#hasher === null ? this.#damage : null);
  }

  /** After the last byte: what the file held, or why it is not usable. */
  finish(): DecodedSnapshot | string {
    if (this.#fatal !== null) return this.#fatal;
    if (this.#received !== this.size) return "the file shrank while it was read";
    if (this.#hasher !== null) {
      const actual = this.#hasher.digest();
      if (actual.length !== 32 || actual.some((b, i) => b !== this.#sum[i]))
        return "checksum mismatch (truncated or damaged)";
    }
    if (this.#damage !== null) return this.#damage;
    if (this.#state !== S_DONE) return "damaged torrent record";
    if (this.torrents !== this.#declared) return `expected ${this.#declared} torrents, found ${this.torrents}`;
    return { savedAt: this.savedAt, torrents: this.torrents };
  }

  /** Bytes the next item needs, or -1 after recording damage (an item would run past the body). */
  #need(): number {
    let need: number;
    switch (this.#state) {
      case S_HEADER:
        return HEADER;
      case S_NAMES:
        need = this.#namesLen;
        break;
      case S_TORRENT:
        if (this.#pos === this.#bodyEnd) {
          this.#state = S_TRAILER;
          return TRAILER;
        }
        need = TORRENT_HEADER;
        break;
      case S_RECORDS:
        need = this.#left4 > 0 ? RECORD4 : RECORD6;
        break;
      default:
        return TRAILER;
    }
    if (this.#pos + need > this.#bodyEnd) {
      this.#damage = this.#state === S_TORRENT ? "damaged torrent record" : "damaged peer records";
      return -1;
    }
    return need;
  }

  /** Parses the item at b[off..end) (at least `#need()` bytes); returns the offset after what it used. */
  #item(b: Uint8Array, off: number, end: number): number {
    const start = off;
    switch (this.#state) {
      case S_HEADER: {
        for (let i = 0; i < 8; i++) if (b[off + i] !== MAGIC[i]) this.#fatal = "not a buntracker state file";
        const version = readU32LE(b, off + H_VERSION);
        if (this.#fatal === null && version !== SNAPSHOT_VERSION) {
          this.#fatal = `state file version ${version} is not supported (expected ${SNAPSHOT_VERSION})`;
        }
        this.savedAt = readU32LE(b, off + H_SAVED_AT);
        this.#namesLen = readU32LE(b, off + H_NAMES_LEN);
        if (this.#namesLen > MAX_NAMES_BYTES || HEADER + this.#namesLen > this.#bodyEnd)
          this.#damage = "damaged header";
        this.#state = this.#namesLen > 0 ? S_NAMES : S_TORRENT;
        off += HEADER;
        break;
      }
      case S_NAMES: {
        if (this.#load !== null) {
          const saved = new TextDecoder().decode(b.subarray(off, off + this.#namesLen)).split("\n");
          const byName = new Map(this.#load.clientNames.map((n, i) => [n, i]));
          this.#tagMap = saved.map((n) => byName.get(n) ?? 0);
        }
        off += this.#namesLen;
        this.#state = S_TORRENT;
        break;
      }
      case S_TORRENT: {
        const downloaded = readU32LE(b, off + T_DOWNLOADED);
        const dormant = (b[off + T_FLAGS] & FLAG_DORMANT) !== 0;
        const n4 = readU32LE(b, off + T_COUNT4);
        const n6 = readU32LE(b, off + T_COUNT6);
        if (this.#pos + TORRENT_HEADER + n4 * RECORD4 + n6 * RECORD6 > this.#bodyEnd) {
          this.#damage = "damaged peer records";
          return off;
        }
        this.torrents++;
        this.records4 += n4;
        this.records6 += n6;
        this.#id = -1;
        this.#peersWanted = false;
        const mine = this.#owns === null || this.#owns(b, off);
        if (mine) this.ownedTorrents++;
        if (this.#load !== null && mine) {
          const store = this.#load.store;
          const full = store.torrents + store.dormant >= store.maxTorrents;
          this.#id = store.restoreTorrentBytes(b, off, downloaded);
          if (this.#id < 0 && full) this.torrentsOverLimit++;
          // A dormant torrent's records (if any) are not loaded: it had no live peers when saved.
          this.#peersWanted = this.#id >= 0 && !dormant;
          if (this.#peersWanted) store.reservePeers(this.#id, n4, n6);
        }
        this.#left4 = n4;
        this.#left6 = n6;
        off += TORRENT_HEADER;
        this.#state = S_RECORDS;
        if (n4 + n6 === 0) this.#endTorrent();
        break;
      }
      case S_RECORDS:
        off = this.#records(b, off, end);
        break;
      case S_TRAILER:
        this.#declared = readU32LE(b, off);
        this.#sum.set(b.subarray(off + TRAILER_SUM, off + TRAILER));
        off += TRAILER;
        this.#state = S_DONE;
        break;
    }
    this.#pos += off - start;
    return off;
  }

  /** As many whole records of the current torrent as b[off..end) holds, of one family. */
  #records(b: Uint8Array, off: number, end: number): number {
    const v4 = this.#left4 > 0;
    const a = v4 ? 4 : 16;
    const stride = v4 ? RECORD4 : RECORD6;
    const n = Math.min(v4 ? this.#left4 : this.#left6, Math.floor((end - off) / stride));
    const id = this.#id;
    if (this.#peersWanted && this.#load !== null) {
      const { store, now } = this.#load;
      const tags = this.#tagMap;
      const rec = this.#rec;
      rec.ipLen = a;
      for (let r = 0, o = off; r < n; r++, o += stride) {
        const t = o + a;
        for (let i = 0; i < a; i++) rec.ip[i] = b[o + i];
        rec.port = (b[t + R_PORT] << 8) | b[t + R_PORT + 1];
        rec.seeder = (b[t + R_FLAGS] & R_SEEDER) !== 0;
        rec.counted = (b[t + R_FLAGS] & R_COUNTED) !== 0;
        rec.tag = tags[b[t + R_TAG]] ?? 0;
        rec.time = readU32LE(b, t + R_TIME);
        if (!store.restorePeer(id, rec, now)) this.peersOverLimit++;
      }
    }
    if (v4) this.#left4 -= n;
    else this.#left6 -= n;
    if (this.#left4 + this.#left6 === 0) this.#endTorrent();
    return off + n * stride;
  }

  #endTorrent(): void {
    if (this.#load !== null && this.#id >= 0) this.#load.store.finishRestore(this.#id);
    this.#state = S_TORRENT;
  }
}

function readU32LE(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/**
 * Checks and loads a snapshot held in memory into an empty store (both passes of SnapshotReader). Returns
 * what was loaded, or why nothing was.
 */
export function restoreSnapshot(
  data: Uint8Array,
  store: Store,
  clientNames: readonly string[],
  newHasher: () => Hasher,
  now: number,
): DecodedSnapshot | string {
  const check = new SnapshotReader(data.length, newHasher(), null);
  check.push(data);
  const checked = check.finish();
  if (typeof checked === "string") return checked;
  store.reserveTorrents(check.torrents);
  const load = new SnapshotReader(data.length, null, { store, clientNames, now });
  load.push(data);
  return load.finish();
}
