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
// Client tags are per build, so the header names them and a restore maps them by name.

import type { Store } from "./store.ts";

const MAGIC = [0x42, 0x54, 0x53, 0x54, 0x41, 0x54, 0x45, 0x00]; // "BTSTATE\0"
export const SNAPSHOT_VERSION = 1;
const TORRENT_HEADER = 20 + 4 + 1 + 4 + 4;
const FLAG_DORMANT = 1;

export function encodeHeader(savedAt: number, clientNames: readonly string[]): Uint8Array {
  const names = new TextEncoder().encode(clientNames.join("\n"));
  const out = new Uint8Array(8 + 12 + names.length);
  out.set(MAGIC, 0);
  const v = new DataView(out.buffer);
  v.setUint32(8, SNAPSHOT_VERSION, true);
  v.setUint32(12, savedAt >>> 0, true);
  v.setUint32(16, names.length, true);
  out.set(names, 20);
  return out;
}

/**
 * The torrents with ids in [from, to), as one chunk (a save writes the ids a slice at a time). `now` turns
 * the store's relative peer times back into unix seconds.
 */
export function encodeTorrents(store: Store, from: number, to: number, now: number): { bytes: Uint8Array; torrents: number } {
  let size = 0;
  let torrents = 0;
  store.forEachTorrentIn(from, to, (id) => {
    size += TORRENT_HEADER + store.v4.count(id) * 12 + store.v6.count(id) * 24;
    torrents++;
  });
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let o = 0;
  store.forEachTorrentIn(from, to, (id) => {
    store.copyInfoHash(id, out, o);
    v.setUint32(o + 20, store.downloadedOf(id), true);
    out[o + 24] = store.isDormant(id) ? FLAG_DORMANT : 0;
    v.setUint32(o + 25, store.v4.count(id), true);
    v.setUint32(o + 29, store.v6.count(id), true);
    o += TORRENT_HEADER;
    o = store.v4.exportRecords(id, now, out, o);
    o = store.v6.exportRecords(id, now, out, o);
  });
  return { bytes: out, torrents };
}


export function encodeTrailer(torrents: number, sha256: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 32);
  new DataView(out.buffer).setUint32(0, torrents, true);
  out.set(sha256, 4);
  return out;
}

export interface DecodedSnapshot {
  savedAt: number;
  torrents: number;
}

/**
 * Checks and loads a snapshot into an empty store. Returns what was loaded, or an error message (nothing is
 * loaded then: the checksum is verified before anything else). `sha256` hashes a byte range. Peers silent
 * longer than the store's timeout at `now` are left out.
 */
export function restoreSnapshot(
  data: Uint8Array,
  store: Store,
  clientNames: readonly string[],
  sha256: (bytes: Uint8Array) => Uint8Array,
  now: number,
): DecodedSnapshot | string {
  if (data.length < 20 + 36) return "too short to be a state file";
  for (let i = 0; i < 8; i++) if (data[i] !== MAGIC[i]) return "not a buntracker state file";
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = v.getUint32(8, true);
  if (version !== SNAPSHOT_VERSION) return `state file version ${version} is not supported (expected ${SNAPSHOT_VERSION})`;
  const bodyEnd = data.length - 32;
  const expected = data.subarray(bodyEnd);
  const actual = sha256(data.subarray(0, bodyEnd));
  if (actual.length !== 32 || actual.some((b, i) => b !== expected[i])) return "checksum mismatch (truncated or damaged)";
  const savedAt = v.getUint32(12, true);
  const namesLen = v.getUint32(16, true);
  if (20 + namesLen > bodyEnd - 4) return "damaged header";
  const savedNames = new TextDecoder().decode(data.subarray(20, 20 + namesLen)).split("\n");
  const byName = new Map(clientNames.map((n, i) => [n, i]));
  const tagMap = savedNames.map((n) => byName.get(n) ?? 0);
  const mapTag = (t: number) => tagMap[t] ?? 0;
  const declared = v.getUint32(bodyEnd - 4, true);
  let o = 20 + namesLen;
  let torrents = 0;
  while (o < bodyEnd - 4) {
    if (o + TORRENT_HEADER > bodyEnd - 4) return "damaged torrent record";
    let hash = "";
    for (let i = 0; i < 20; i++) hash += String.fromCharCode(data[o + i]);
    const downloaded = v.getUint32(o + 20, true);
    const dormant = (data[o + 24] & FLAG_DORMANT) !== 0;
    const n4 = v.getUint32(o + 25, true);
    const n6 = v.getUint32(o + 29, true);
    o += TORRENT_HEADER;
    if (o + n4 * 12 + n6 * 24 > bodyEnd - 4) return "damaged peer records";
    const id = store.restoreTorrent(hash, downloaded);
    if (id >= 0 && !dormant) {
      for (let r = 0; r < n4 + n6; r++) {
        const a = r < n4 ? 4 : 16;
        const port = (data[o + a] << 8) | data[o + a + 1];
        store.restorePeer(id, a, data.subarray(o, o + a), port, data[o + a + 2], mapTag(data[o + a + 3]), v.getUint32(o + a + 4, true), now);
        o += a + 8;
      }
    } else o += n4 * 12 + n6 * 24;
    if (id >= 0) store.finishRestore(id);
    torrents++;
  }
  if (torrents !== declared) return `expected ${declared} torrents, found ${torrents}`;
  return { savedAt, torrents };
}

