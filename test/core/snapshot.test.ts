import { describe, expect, test } from "bun:test";
import { AnnounceRequest, AnnounceResult, EVENT_COMPLETED } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { encodeHeader, encodeTorrents, encodeTrailer, restoreSnapshot } from "../../src/core/snapshot.ts";
import { Store } from "../../src/core/store.ts";

const sha256 = (b: Uint8Array) => new Uint8Array(new Bun.CryptoHasher("sha256").update(b).digest());
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

describe("state snapshots", () => {
  test("round trip: every torrent, peer, role, time, completion count and client comes back", () => {
    const a = newStore();
    fill(a);
    const b = newStore();
    const r = restoreSnapshot(snapshot(a, ["Unknown", "qBittorrent", "Transmission"]), b, ["Unknown", "Transmission", "qBittorrent"], sha256, NOW);
    expect(r).toEqual({ savedAt: 2000, torrents: a.torrents });
    expect([b.torrents, b.peers4, b.peers6, b.seeders, b.completed]).toEqual([a.torrents, a.peers4, a.peers6, a.seeders, a.completed]);
    // Tags are mapped by name: qBittorrent was tag 1 when saved and is tag 2 here.
    expect([b.peersByClient[2], b.peersByClient[1]]).toEqual([a.peersByClient[1], a.peersByClient[2]]);
    let checked = 0;
    for (let i = 0; i < a.shardCount; i++) {
      a.forEachTorrent(i, (id) => {
        const hash = a.infoHashOf(id);
        const restored = b.get(hash)!;
        expect([restored.seeders, restored.leechers, restored.downloaded]).toEqual([a.seedersOf(id), a.leechersOf(id), a.downloadedOf(id)]);
        const to = b.idOf(hash);
        for (const fam of ["v4", "v6"] as const) {
          a[fam].resolve(id);
          const { data, start } = a[fam];
          const len = a[fam].addrLen;
          for (let r = 0; r < a[fam].count(id); r++) {
            const o = start + r * a[fam].stride;
            const rr = b[fam].find(to, data.subarray(o, o + len), (data[o + len] << 8) | data[o + len + 1]);
            expect(b[fam].age(to, rr, NOW)).toBe(a[fam].age(id, r, NOW)); // remaining lifetime preserved
            checked++;
          }
        }
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
    expect(typeof restoreSnapshot(data, b, names, sha256, NOW + 150)).toBe("object");
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
    ];
    for (const [, data] of cases) {
      const b = newStore();
      expect(typeof restoreSnapshot(data, b, ["Unknown"], sha256, NOW)).toBe("string");
      expect(b.torrents + b.dormant + b.peers).toBe(0);
    }
  });
});

test("WebRTC peers are not saved (their connections end with the process), their completions are", () => {
  const a = newStore();
  const req = new AnnounceRequest();
  const res = new AnnounceResult(50);
  req.webrtc = true;
  req.infoHash = "W".repeat(20);
  req.ipLen = 4;
  req.ip.set([0, 0, 0, 7]);
  req.left = 0;
  req.event = EVENT_COMPLETED;
  a.announce(req, 1200, res);
  expect([a.peersRtc, a.get("W".repeat(20))!.downloaded]).toEqual([1, 1]);
  const b = newStore();
  expect(restoreSnapshot(snapshot(a, ["Unknown"]), b, ["Unknown"], sha256, NOW)).toEqual({ savedAt: 2000, torrents: 1 });
  expect([b.peers, b.peersRtc, b.completed]).toEqual([0, 0, 1]);
  expect(b.get("W".repeat(20))).toEqual({ seeders: 0, leechers: 0, peers: 0, downloaded: 1, dormant: true });
});
