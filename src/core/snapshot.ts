// The store on disk (--state-file): every torrent with its all-time completion count and its peers, each
// peer with its last announce time, so a restart or an upgrade resumes the swarms where they were and peers
// still expire on time. Pure: bytes in, bytes out; the server does the file I/O in slices.
//
// Layout (little-endian):
//   header   "BTSTATE\0" | u32 version | u32 saved at (unix s) | u32 n | n bytes: client names, "\n"-joined
//   torrents [20 hash | u32 downloaded | u8 flags (1 = dormant) | u32 v4 count | u32 v6 count
//             | v4 records (12 bytes each) | v6 records (24 bytes each)]*   (records as PeerList stores them)
//   trailer  u32 torrent count | 32 bytes SHA-256 of everything before it
// Client tags are per build, so the header names them and a restore maps them by name.

import { PeerList } from "./peer-list.ts";
import type { Store } from "./store.ts";
import type { Swarm } from "./swarm.ts";

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

/** One shard's torrents, as one chunk. */
export function encodeShard(shard: ReadonlyMap<string, Swarm>): { bytes: Uint8Array; torrents: number } {
  let size = 0;
  for (const swarm of shard.values()) size += TORRENT_HEADER + recordBytes(swarm.v4) + recordBytes(swarm.v6);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let o = 0;
  for (const [hash, swarm] of shard) {
    for (let i = 0; i < 20; i++) out[o + i] = hash.charCodeAt(i);
    v.setUint32(o + 20, swarm.downloaded >>> 0, true);
    out[o + 24] = swarm.dormant ? FLAG_DORMANT : 0;
    v.setUint32(o + 25, swarm.v4?.count ?? 0, true);
    v.setUint32(o + 29, swarm.v6?.count ?? 0, true);
    o += TORRENT_HEADER;
    for (const list of [swarm.v4, swarm.v6]) {
      if (list === null) continue;
      const n = recordBytes(list);
      out.set(list.data.subarray(0, n), o);
      o += n;
    }
  }
  return { bytes: out, torrents: shard.size };
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
 * loaded then: the checksum is verified before anything else). `sha256` hashes a byte range.
 */
export function restoreSnapshot(
  data: Uint8Array,
  store: Store,
  clientNames: readonly string[],
  sha256: (bytes: Uint8Array) => Uint8Array,
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
    const v4 = n4 > 0 ? PeerList.fromRecords(4, data.subarray(o, o + n4 * 12), n4, mapTag) : null;
    o += n4 * 12;
    const v6 = n6 > 0 ? PeerList.fromRecords(16, data.subarray(o, o + n6 * 24), n6, mapTag) : null;
    o += n6 * 24;
    store.restoreTorrent(hash, downloaded, dormant, v4, v6);
    torrents++;
  }
  if (torrents !== declared) return `expected ${declared} torrents, found ${torrents}`;
  return { savedAt, torrents };
}

function recordBytes(list: PeerList | null): number {
  return list === null ? 0 : list.count * list.stride;
}
