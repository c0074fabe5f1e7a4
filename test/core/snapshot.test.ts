import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { AnnounceRequest, AnnounceResult, EVENT_COMPLETED, rtcHandle } from "../../src/core/announce.ts";
import { PeerRecord } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import {
  encodeHeader,
  encodeTorrents,
  encodeTrailer,
  restoreSnapshot,
  SnapshotReader,
} from "../../src/core/snapshot.ts";
import { Store } from "../../src/core/store.ts";

const sha256 = (b: Uint8Array) => new Uint8Array(new Bun.CryptoHasher("sha256").update(b).digest());
const hasher = () => {
  const h = new Bun.CryptoHasher("sha256");
  return { update: (b: Uint8Array) => h.update(b), digest: () => new Uint8Array(h.digest()) };
};
/** Peers announced at 1000..1299 with a 300 s timeout: all still live at NOW. */
const NOW = 1300;
const newStore = () => new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([1, 2, 3, 4])), shards: 4 });

function fill(store: Store): void {
  const req = new AnnounceRequest();
  const res = new AnnounceResult(50);
  for (let i = 0; i < 300; i++) {
    req.infoHash = String.fromCharCode(i % 7, 0x80 + (i % 5)).padEnd(20, "\xff");
    req.ipLen = i % 4 === 0 ? 16 : 4;
    req.ip.fill(0);
    req.ip[0] = 10;
    req.ip[req.ipLen - 1] = i & 255;
    req.port = 1000 + i;
    req.left = i % 3 === 0 ? 0 : 5;
    req.event = i % 3 === 0 ? EVENT_COMPLETED : 0;
    req.clientTag = i % 2 === 0 ? 1 : 2;
    store.announce(req, 1000 + i, res);
  }
}

function snapshot(store: Store, names: string[]): Uint8Array {
  const chunks = [encodeHeader(2000, names)];
  let torrents = 0;
  for (let from = 0; from < store.idLimit; from += 10) {
    const { bytes, torrents: n } = encodeTorrents(store, from, from + 10, NOW);
    chunks.push(bytes);
    torrents += n;
  }
  chunks.push(encodeTrailer(torrents, new Uint8Array(32)).subarray(0, 4));
  const body = new Uint8Array(Buffer.concat(chunks));
  return new Uint8Array(Buffer.concat([body, sha256(body)]));
}

/** Torrent `id`'s peers of one family as text, sorted (tags left out: they are per build). */
function peersOf(store: Store, id: number, ipLen: 4 | 16): string[] {
  const rec = new PeerRecord();
  return Array.from({ length: store.peerCount(id, ipLen) }, (_, r) => {
    store.readPeer(id, ipLen, r, NOW, rec);
    return `${rec.ip.subarray(0, ipLen).join(".")}:${rec.port} ${rec.seeder} ${rec.counted} ${rec.time}`;
  }).sort();
}

/** `data` with the trailer's torrent count set to `n` and the checksum made right again. */
function withCount(data: Uint8Array, n: number): Uint8Array {
  const b = data.slice();
  new DataView(b.buffer).setUint32(b.length - 36, n, true);
  b.set(sha256(b.subarray(0, b.length - 32)), b.length - 32);
  return b;
}

describe("state snapshots", () => {
  test("round trip: every torrent, peer, role, time, completion count and client comes back", () => {
    const a = newStore();
    fill(a);
    const b = newStore();
    const r = restoreSnapshot(
      snapshot(a, ["Unknown", "qBittorrent", "Transmission"]),
      b,
      ["Unknown", "Transmission", "qBittorrent"],
      hasher,
      NOW,
    );
    expect(r).toEqual({ savedAt: 2000, torrents: a.torrents });
    expect([b.torrents, b.peers4, b.peers6, b.seeders, b.completed]).toEqual([
      a.torrents,
      a.peers4,
      a.peers6,
      a.seeders,
      a.completed,
    ]);
    // Tags are mapped by name: qBittorrent was tag 1 when saved and is tag 2 here.
    expect([b.peersByClient[2], b.peersByClient[1]]).toEqual([a.peersByClient[1], a.peersByClient[2]]);
    let checked = 0;
    for (let i = 0; i < a.shardCount; i++) {
      a.forEachTorrent(i, (id) => {
        const hash = a.infoHashOf(id);
        const restored = b.get(hash)!;
        expect([restored.seeders, restored.leechers, restored.downloaded]).toEqual([
          a.seedersOf(id),
          a.leechersOf(id),
          a.downloadedOf(id),
        ]);
        // Every peer with its address, port, role, counted completion and time (remaining lifetime preserved).
        const a4 = peersOf(a, id, 4),
          a6 = peersOf(a, id, 16);
        expect(peersOf(b, b.idOf(hash), 4)).toEqual(a4);
        expect(peersOf(b, b.idOf(hash), 16)).toEqual(a6);
        checked += a4.length + a6.length;
      });
    }
    expect(checked).toBe(a.peers);
  });

  test("peers that expired while the tracker was down are left out; completion counts stay", () => {
    const a = newStore();
    fill(a);
    const b = newStore();
    const names = ["Unknown"];
    const data = snapshot(a, names);
    expect(typeof restoreSnapshot(data, b, names, hasher, NOW + 150)).toBe("object");
    // Peers announced before NOW + 150 - 300 = 1150 are gone, to within the 3 s tick the store keeps time in
    // (a hundredth of the timeout): the one announced at 1149 shares 1150's tick and stays. 151 of the 300.
    expect(b.peers).toBe(151);
    expect(b.completed).toBe(a.completed);
    expect(b.torrents + b.dormant).toBe(a.torrents + a.dormant);
  });

  test("any damage is refused before anything is loaded", () => {
    const a = newStore();
    fill(a);
    const good = snapshot(a, ["Unknown"]);
    const cases: [string, Uint8Array][] = [
      ["truncated", good.subarray(0, good.length - 100)],
      ["a flipped byte", good.map((x, i) => (i === 500 ? x ^ 1 : x))],
      ["another format", good.map((x, i) => (i === 0 ? 0x58 : x))],
      ["empty", new Uint8Array(0)],
      ["a wrong torrent count, checksum fixed", withCount(good, a.torrents + a.dormant + 1)],
    ];
    for (const [, data] of cases) {
      const b = newStore();
      expect(typeof restoreSnapshot(data, b, ["Unknown"], hasher, NOW)).toBe("string");
      expect(b.torrents + b.dormant + b.peers).toBe(0);
    }
  });
});

describe("restoring from pieces (a file read a chunk at a time)", () => {
  /** Both passes of a restore, fed in pieces of `sizes` bytes in turn: what a file read in chunks gives. */
  function restoreInPieces(data: Uint8Array, store: Store, names: string[], sizes: number[]) {
    const feed = (reader: SnapshotReader) => {
      for (let o = 0, k = 0; o < data.length; k++) {
        const n = sizes[k % sizes.length];
        expect(reader.push(data.subarray(o, o + n))).toBeNull();
        o += n;
      }
      return reader.finish();
    };
    const check = new SnapshotReader(data.length, hasher(), null);
    expect(typeof feed(check)).toBe("object");
    return feed(new SnapshotReader(data.length, null, { store, clientNames: names, now: NOW }));
  }

  test("any cut between pieces gives the same store as the whole file", () => {
    const a = newStore();
    fill(a);
    const data = snapshot(a, ["Unknown", "qBittorrent", "Transmission"]);
    for (const sizes of [[1], [7], [13, 1, 64], [4096]]) {
      const b = newStore();
      expect(restoreInPieces(data, b, ["Unknown", "qBittorrent", "Transmission"], sizes)).toEqual({
        savedAt: 2000,
        torrents: a.torrents,
      });
      expect([b.torrents, b.peers4, b.peers6, b.seeders, b.completed]).toEqual([
        a.torrents,
        a.peers4,
        a.peers6,
        a.seeders,
        a.completed,
      ]);
      expect([b.peersByClient[1], b.peersByClient[2]]).toEqual([a.peersByClient[1], a.peersByClient[2]]);
    }
  });

  test("a restored store holds each list in one block sized to it: no outgrown blocks left in the arenas", () => {
    // Large swarms (up to 400 peers, indexed) and small ones: growing record by record left most of the
    // arena as garbage.
    const a = newStore();
    const req = new AnnounceRequest();
    const res = new AnnounceResult(50);
    for (let t = 0; t < 40; t++) {
      for (let i = 0; i < t * 10 + 1; i++) {
        req.infoHash = `t${t}`.padEnd(20, "-");
        req.ipLen = i % 3 === 0 ? 16 : 4;
        req.ip.fill(0);
        req.ip.set([10, t, i >> 8, i & 255]);
        req.port = 6881;
        req.left = i % 2;
        req.clientTag = 1;
        a.announce(req, 1100, res);
      }
    }
    const b = newStore();
    expect(typeof restoreSnapshot(snapshot(a, ["Unknown"]), b, ["Unknown"], hasher, NOW)).toBe("object");
    expect(b.peers).toBe(a.peers);
    expect([b.arenaBytes(4).garbage, b.arenaBytes(16).garbage]).toEqual([0, 0]);
    // One 8-byte block header per list (t0's single peer is IPv6: 39 IPv4 lists), then the records.
    expect(b.arenaBytes(4).live).toBe(39 * 8 + a.peers4 * 8);
    expect(b.arenaBytes(16).live).toBe(40 * 8 + a.peers6 * 20);
    // Lookups work in the big lists (the index was sized up front): every peer announcing again is found,
    // not added twice.
    for (let t = 0; t < 40; t++) {
      for (let i = 0; i < t * 10 + 1; i++) {
        req.infoHash = `t${t}`.padEnd(20, "-");
        req.ipLen = i % 3 === 0 ? 16 : 4;
        req.ip.fill(0);
        req.ip.set([10, t, i >> 8, i & 255]);
        req.left = i % 2;
        b.announce(req, NOW, res);
      }
    }
    expect([b.peers4, b.peers6]).toEqual([a.peers4, a.peers6]);
  });
});

test("WebRTC peers are not saved (their connections end with the process), their completions are", () => {
  const a = newStore();
  const req = new AnnounceRequest();
  const res = new AnnounceResult(50);
  req.webrtc = true;
  req.infoHash = "W".repeat(20);
  req.ipLen = 4;
  req.rtcHandle = rtcHandle(7);
  req.left = 0;
  req.event = EVENT_COMPLETED;
  a.announce(req, 1200, res);
  expect([a.peersRtc, a.get("W".repeat(20))!.downloaded]).toEqual([1, 1]);
  const b = newStore();
  expect(restoreSnapshot(snapshot(a, ["Unknown"]), b, ["Unknown"], hasher, NOW)).toEqual({
    savedAt: 2000,
    torrents: 1,
  });
  expect([b.peers, b.peersRtc, b.completed]).toEqual([0, 0, 1]);
  expect(b.get("W".repeat(20))).toEqual({ seeders: 0, leechers: 0, peers: 0, downloaded: 1, dormant: true });
});

describe("state files written by earlier builds", () => {
  // test/fixtures/state-v1.bin was written by the encoder of commit ceef945 (before the store's snapshot
  // API): 16 torrents (one dormant with a completion), 45 IPv4 and 15 IPv6 peers announced at 1000..1295,
  // seeders and leechers, two client tags, saved at 2000 with peer times relative to 1300.
  const fixture = new Uint8Array(readFileSync(`${import.meta.dir}/../fixtures/state-v1.bin`));
  const names = ["Unknown", "qBittorrent", "Transmission"];

  test("a version 1 file restores, and saving the restored store gives the same bytes back", () => {
    const b = newStore();
    expect(restoreSnapshot(fixture, b, names, hasher, NOW)).toEqual({ savedAt: 2000, torrents: 16 });
    expect([b.torrents, b.dormant, b.peers4, b.peers6, b.seeders, b.completed]).toEqual([15, 1, 45, 15, 20, 21]);
    expect([b.peersByClient[1], b.peersByClient[2]]).toEqual([30, 30]);
    expect(b.get("D".repeat(20))).toEqual({ seeders: 0, leechers: 0, peers: 0, downloaded: 1, dormant: true });
    expect(snapshot(b, names)).toEqual(fixture);
  });
});
