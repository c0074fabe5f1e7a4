import { beforeEach, describe, expect, test } from "bun:test";
import {
  AnnounceRequest,
  AnnounceResult,
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_STARTED,
  EVENT_STOPPED,
  rtcHandle,
  ScrapeCounts,
} from "../../src/core/announce.ts";
import { PeerRecord } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { CidrSet } from "../../src/core/cidr.ts";
import { Store } from "../../src/core/store.ts";

const HASH_A = "A".repeat(19) + "\u00ff";
const HASH_B = "B".repeat(19) + "\u0080";

let store: Store;
let res: AnnounceResult;

function announce(
  hash: string,
  ip: number[],
  port: number,
  opts: {
    left?: number;
    event?: number;
    numWant?: number;
    now?: number;
    want4?: boolean;
    want6?: boolean;
    tag?: number;
  } = {},
) {
  const req = new AnnounceRequest();
  req.infoHash = hash;
  req.ip.set(ip);
  req.ipLen = ip.length as 4 | 16;
  req.port = port;
  req.left = opts.left ?? 100;
  req.event = opts.event ?? EVENT_NONE;
  req.numWant = opts.numWant ?? 50;
  req.want4 = opts.want4 ?? true;
  req.want6 = opts.want6 ?? true;
  req.clientTag = opts.tag ?? 0;
  store.announce(req, opts.now ?? 1000, res);
  return res;
}

const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];

function peers4(r: AnnounceResult): string[] {
  const out: string[] = [];
  for (let i = 0; i < r.count4; i++) {
    const o = i * 6;
    out.push(`${r.peers4.subarray(o, o + 4).join(".")}:${(r.peers4[o + 4] << 8) | r.peers4[o + 5]}`);
  }
  return out.sort();
}

beforeEach(() => {
  store = new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([9, 8, 7, 6])), shards: 8 });
  res = new AnnounceResult(200);
});

describe("Store.announce", () => {
  test("counts seeders and leechers from `left`, and keys peers by (IP, port)", () => {
    announce(HASH_A, [1, 1, 1, 1], 1, { left: 0 });
    announce(HASH_A, [1, 1, 1, 1], 2, { left: 5 }); // same IP, other port: a second peer
    const r = announce(HASH_A, [1, 1, 1, 1], 2, { left: 5 }); // re-announce: same peer
    expect(r.complete).toBe(1);
    expect(r.incomplete).toBe(1);
    expect(store.peers).toBe(2);
    expect(store.seeders).toBe(1);
    expect(store.torrents).toBe(1);
  });

  test("never returns the requester, and gives seeders only leechers", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { left: 0 });
    announce(HASH_A, [1, 0, 0, 2], 1, { left: 0 });
    announce(HASH_A, [1, 0, 0, 3], 1, { left: 9 });
    const seederView = announce(HASH_A, [1, 0, 0, 1], 1, { left: 0 });
    expect(peers4(seederView)).toEqual(["1.0.0.3:1"]);
    const leecherView = announce(HASH_A, [1, 0, 0, 3], 1, { left: 9 });
    expect(peers4(leecherView)).toEqual(["1.0.0.1:1", "1.0.0.2:1"]);
  });

  test("mixes IPv4 and IPv6 peers when the client takes both, and keeps them apart when not", () => {
    announce(HASH_A, [1, 0, 0, 1], 1);
    announce(HASH_A, v6(1), 1);
    const both = announce(HASH_A, [1, 0, 0, 2], 1);
    expect(both.count4).toBe(1);
    expect(both.count6).toBe(1);
    const only4 = announce(HASH_A, [1, 0, 0, 2], 1, { want6: false });
    expect(only4.count4).toBe(1);
    expect(only4.count6).toBe(0);
    expect(store.peers4).toBe(2);
    expect(store.peers6).toBe(1);
  });

  test("numWant caps the reply and 0 returns no peers", () => {
    for (let i = 0; i < 30; i++) announce(HASH_A, [2, 0, 0, i], 1);
    expect(announce(HASH_A, [3, 0, 0, 1], 1, { numWant: 10 }).count4).toBe(10);
    expect(announce(HASH_A, [3, 0, 0, 1], 1, { numWant: 0 }).count4).toBe(0);
  });

  test("counts each completion once: retransmits and repeated `completed` do not double count", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { event: EVENT_STARTED, left: 10 });
    announce(HASH_A, [1, 0, 0, 1], 1, { event: EVENT_COMPLETED, left: 0 });
    announce(HASH_A, [1, 0, 0, 1], 1, { event: EVENT_COMPLETED, left: 0 });
    const r = announce(HASH_A, [1, 0, 0, 1], 1, { left: 0 });
    expect(r.downloaded).toBe(1);
    expect(store.completed).toBe(1);
  });

  test("a leecher that becomes a seeder without saying `completed` still counts once", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { left: 10 });
    announce(HASH_A, [1, 0, 0, 1], 1, { left: 0 });
    expect(announce(HASH_A, [1, 0, 0, 1], 1, { left: 0, event: EVENT_COMPLETED }).downloaded).toBe(1);
  });

  test("a seeder that starts up is not a completion", () => {
    expect(announce(HASH_A, [1, 0, 0, 1], 1, { left: 0, event: EVENT_STARTED }).downloaded).toBe(0);
  });

  test("stopped removes the peer, returns no peers, and never creates a torrent", () => {
    announce(HASH_A, [1, 0, 0, 1], 1);
    announce(HASH_A, [1, 0, 0, 2], 1);
    const r = announce(HASH_A, [1, 0, 0, 1], 1, { event: EVENT_STOPPED, numWant: 0 });
    expect(r.count4).toBe(0);
    expect(r.incomplete).toBe(1);
    expect(store.peers).toBe(1);
    announce(HASH_B, [1, 0, 0, 1], 1, { event: EVENT_STOPPED });
    expect(store.torrents).toBe(1);
    expect(store.get(HASH_B)).toBeUndefined();
  });
});

describe("Store.scrape", () => {
  test("reports counts, and zeros for unknown torrents", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { left: 0, event: EVENT_COMPLETED });
    announce(HASH_A, [1, 0, 0, 2], 1);
    const c = new ScrapeCounts();
    store.scrape(HASH_A, c);
    expect({ ...c }).toEqual({ complete: 1, incomplete: 1, downloaded: 1 });
    store.scrape(HASH_B, c);
    expect({ ...c }).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
  });
});

describe("Store.sweepIds", () => {
  test("drops peers older than the timeout and torrents left empty, keeping totals right", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { now: 1000, left: 0 });
    announce(HASH_A, [1, 0, 0, 2], 1, { now: 1250 });
    announce(HASH_B, v6(1), 1, { now: 1000 });
    let removed = 0;
    // Ages are counted in ticks of a hundredth of the timeout (3 s here): 1001 (tick 333) to 1304 (tick 434)
    // is past the timeout; 1301 would not be (see the next test).
    removed += store.sweepIds(0, store.idLimit, 1304).peersRemoved;
    expect(removed).toBe(2);
    expect(store.peers).toBe(1);
    expect(store.seeders).toBe(0);
    expect(store.peers6).toBe(0);
    expect(store.torrents).toBe(1);
    expect(store.get(HASH_B)).toBeUndefined();
    store.sweepIds(0, store.idLimit, 1600);
    expect(store.torrents).toBe(0);
    expect(store.peers).toBe(0);
  });

  test("a peer exactly at the timeout is kept (expiry is strictly older than)", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { now: 1000 });
    store.sweepIds(0, store.idLimit, 1300);
    expect(store.peers).toBe(1);
  });
});

describe("Store per-client counts", () => {
  test("follow peers as they arrive, switch clients, stop and expire", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { tag: 5 });
    announce(HASH_A, [1, 0, 0, 2], 1, { tag: 5 });
    announce(HASH_B, [1, 0, 0, 3], 1, { tag: 7, now: 500 });
    expect([store.peersByClient[5], store.peersByClient[7]]).toEqual([2, 1]);
    announce(HASH_A, [1, 0, 0, 2], 1, { tag: 7 }); // same peer, new client (an upgrade under another id)
    expect([store.peersByClient[5], store.peersByClient[7]]).toEqual([1, 2]);
    announce(HASH_A, [1, 0, 0, 1], 1, { tag: 5, event: EVENT_STOPPED });
    expect(store.peersByClient[5]).toBe(0);
    store.sweepIds(0, store.idLimit, 1000); // drops the peer seen at 500
    expect(store.peersByClient[7]).toBe(1);
    expect(Array.from(store.peersByClient).reduce((a, b) => a + b, 0)).toBe(store.peers);
  });
});

describe("Store totals", () => {
  test("stay equal to a full recount after random traffic", () => {
    const random = xoshiro128(new Uint32Array([5, 5, 5, 5]));
    const hashes = Array.from({ length: 20 }, (_, i) => String.fromCharCode(i + 0x80).repeat(20));
    for (let step = 0; step < 5000; step++) {
      const h = hashes[Math.floor(random() * hashes.length)];
      const ip = random() < 0.3 ? v6(Math.floor(random() * 50)) : [9, 9, 9, Math.floor(random() * 50)];
      const events = [EVENT_NONE, EVENT_STARTED, EVENT_COMPLETED, EVENT_STOPPED];
      announce(h, ip, 1, { left: random() < 0.5 ? 0 : 1, event: events[Math.floor(random() * 4)], now: step });
      if (step % 100 === 0) store.sweepIds(step % 7, (step % 7) + 5, step); // a slice of the ids
    }
    let peers = 0,
      seeders = 0,
      torrents = 0;
    for (let i = 0; i < store.shardCount; i++) {
      store.forEachTorrent(i, (id) => {
        torrents++;
        peers += store.peerCount(id, 4) + store.peerCount(id, 16);
        seeders += store.seedersOf(id);
      });
    }
    expect(store.peers).toBe(peers);
    expect(store.seeders).toBe(seeders);
    expect(store.torrents).toBe(torrents);
  });
});

describe("Store limits and dormant torrents", () => {
  const make = (o: { maxTorrents?: number; maxPeersPerTorrent?: number; maxPeers?: number }) =>
    new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([4, 3, 2, 1])), shards: 4, ...o });

  test("a torrent whose peers are gone keeps its completion count, dormant, and wakes up on the next announce", () => {
    announce(HASH_A, [1, 0, 0, 1], 1, { now: 1000, left: 0, event: EVENT_COMPLETED });
    store.sweepIds(0, store.idLimit, 1400);
    expect([store.torrents, store.dormant, store.peers]).toEqual([0, 1, 0]);
    const c = new ScrapeCounts();
    store.scrape(HASH_A, c);
    expect(c.downloaded).toBe(1);
    expect(announce(HASH_A, [1, 0, 0, 2], 1, { now: 2001 }).downloaded).toBe(1);
    expect([store.torrents, store.dormant]).toEqual([1, 0]);
  });

  test("max torrents: a new torrent is refused, unless a dormant one can make room", () => {
    store = make({ maxTorrents: 2 });
    announce(HASH_A, [1, 0, 0, 1], 1, { now: 1000, left: 0, event: EVENT_COMPLETED });
    announce(HASH_B, [1, 0, 0, 1], 1, { now: 1000 });
    const third = "C".repeat(20);
    expect(announce(third, [1, 0, 0, 1], 1).refused).toBe("torrent_limit");
    expect(store.get(third)).toBeUndefined();
    store.sweepIds(0, store.idLimit, 1400); // A goes dormant, B is forgotten
    announce("D".repeat(20), [1, 0, 0, 1], 1, { now: 1400 });
    expect(announce(third, [1, 0, 0, 1], 1, { now: 1400 }).refused).toBeNull(); // A made room
    expect(store.get(HASH_A)).toBeUndefined();
    expect(store.refusedTorrents).toBe(1);
  });

  test("max peers: newcomers are refused, known peers keep announcing", () => {
    store = make({ maxPeers: 2 });
    announce(HASH_A, [1, 0, 0, 1], 1);
    announce(HASH_A, [1, 0, 0, 2], 1);
    expect(announce(HASH_B, [1, 0, 0, 3], 1).refused).toBe("peer_limit");
    expect(announce(HASH_A, [1, 0, 0, 1], 1).refused).toBeNull();
    expect([store.peers, store.refusedPeers]).toEqual([2, 1]);
  });

  test("max peers per torrent: a newcomer replaces a long-silent peer", () => {
    store = make({ maxPeersPerTorrent: 3 });
    announce(HASH_A, [1, 0, 0, 1], 1, { now: 100 });
    announce(HASH_A, [1, 0, 0, 2], 1, { now: 100 });
    announce(HASH_A, [1, 0, 0, 3], 1, { now: 900 });
    const r = announce(HASH_A, [1, 0, 0, 4], 1, { now: 1000 });
    expect(r.refused).toBeNull();
    expect([store.peers, store.evictedPeers]).toEqual([3, 1]);
    const id = store.idOf(HASH_A);
    const rec = new PeerRecord();
    const kept = Array.from({ length: store.peerCount(id, 4) }, (_, r) => {
      store.readPeer(id, 4, r, 1000, rec);
      return rec.ip.subarray(0, 4).join(".");
    });
    expect(kept).toContain("1.0.0.4");
  });
});

describe("Store WebRTC peers", () => {
  /** A WebRTC announce for handle `h` (what the WebSocket front end sends). */
  function rtc(hash: string, h: number, opts: { left?: number; event?: number; numWant?: number; now?: number } = {}) {
    const req = new AnnounceRequest();
    req.webrtc = true;
    req.infoHash = hash;
    req.rtcHandle = rtcHandle(h);
    // @ts-expect-error a WebRTC peer is named by a handle, and a plain number is not one
    if (h < 0) req.rtcHandle = h;
    req.left = opts.left ?? 100;
    req.event = opts.event ?? EVENT_NONE;
    req.numWant = opts.numWant ?? 10;
    store.announce(req, opts.now ?? 1000, res);
    return res;
  }
  const handles = (r: AnnounceResult) => Array.from({ length: r.countRtc }, (_, i): number => r.rtcPeer(i));

  test("are kept apart from IPv4 peers with the same bytes, but counted in the torrent and the totals", () => {
    announce(HASH_A, [0, 0, 0, 1], 0, { left: 0 });
    rtc(HASH_A, 1);
    rtc(HASH_A, 2, { left: 0 });
    expect(store.get(HASH_A)).toMatchObject({ seeders: 2, leechers: 1, peers: 3 });
    expect([store.peers4, store.peersRtc, store.peers, store.seeders]).toEqual([1, 2, 3, 2]);
    // An IPv4 leecher gets the IPv4 seeder only, never a WebRTC handle as an address.
    expect(peers4(announce(HASH_A, [10, 0, 0, 9], 6881))).toEqual(["0.0.0.1:0"]);
    // A WebRTC leecher gets WebRTC peers only, not itself.
    expect(handles(rtc(HASH_A, 3))).toEqual([1, 2]);
  });

  test("a WebRTC seeder's offers go to WebRTC leechers only", () => {
    rtc(HASH_A, 1, { left: 0 });
    rtc(HASH_A, 2);
    rtc(HASH_A, 3);
    expect(handles(rtc(HASH_A, 4, { left: 0 })).sort()).toEqual([2, 3]);
  });

  test("stopped removes one; the sweep expires silent ones; a completion counts once", () => {
    rtc(HASH_A, 1, { event: EVENT_STARTED });
    rtc(HASH_A, 1, { event: EVENT_COMPLETED, left: 0 });
    rtc(HASH_A, 1, { event: EVENT_COMPLETED, left: 0 });
    rtc(HASH_A, 2, { now: 1200 });
    expect(store.get(HASH_A)).toMatchObject({ seeders: 1, leechers: 1, downloaded: 1 });
    rtc(HASH_A, 2, { event: EVENT_STOPPED });
    expect(store.peersRtc).toBe(1);
    expect(store.sweepIds(0, store.idLimit, 1000 + 304)).toEqual({ peersRemoved: 1, torrentsRemoved: 1 });
    expect([store.peersRtc, store.peers, store.seeders]).toEqual([0, 0, 0]);
    expect(store.get(HASH_A)).toMatchObject({ dormant: true, downloaded: 1 });
  });

  test("a torrent with WebRTC peers is dropped whole when denied, and they count towards the limits", () => {
    store = new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([1, 2, 3, 4])), maxPeers: 2 });
    rtc(HASH_A, 1);
    announce(HASH_A, [10, 0, 0, 1], 6881);
    expect(rtc(HASH_A, 2).refused).toBe("peer_limit");
    expect(store.dropTorrent(HASH_A)).toBe(true);
    expect([store.peersRtc, store.peers4, store.torrents]).toEqual([0, 0, 0]);
  });
});

describe("Store per-source share", () => {
  const shared = (
    o: { maxPeers?: number; maxTorrents?: number; maxPeersPerTorrent?: number; exempt?: string } = {},
  ) => {
    const exempt = o.exempt === undefined ? null : (CidrSet.parse(o.exempt) as CidrSet);
    store = new Store({
      peerTimeoutS: 300,
      random: xoshiro128(new Uint32Array([5, 6, 7, 8])),
      maxPeers: o.maxPeers ?? 100,
      maxTorrents: o.maxTorrents ?? 1000,
      maxPeersPerTorrent: o.maxPeersPerTorrent,
      sourceShare: 0.05,
      sourceExempt: exempt,
    });
  };
  const A = [198, 51, 100, 7];
  const B = [198, 51, 100, 8];

  test("one IPv4 address holds at most its share of --max-peers; its re-announces and other sources pass", () => {
    shared(); // 5 peers per source
    expect(store.maxPeersPerSource).toBe(5);
    for (let port = 1; port <= 5; port++) expect(announce(port % 2 ? HASH_A : HASH_B, A, port).refused).toBeNull();
    expect(announce(HASH_A, A, 6).refused).toBe("source_share");
    expect(store.refusedSource).toBe(1);
    expect(announce(HASH_A, A, 1, { left: 0 }).refused).toBeNull(); // an existing peer: always passes
    expect(announce(HASH_A, B, 1).refused).toBeNull();
    expect(store.get(HASH_A)).toMatchObject({ seeders: 1, leechers: 3 });
  });

  test("the count is exact: stopped, expired, evicted and dropped peers give their place back", () => {
    shared({ maxPeersPerTorrent: 3 });
    const T = (n: number) => `torrent ${n}`.padEnd(20, ".");
    for (let port = 1; port <= 5; port++) announce(port <= 3 ? HASH_A : HASH_B, A, port, { now: 1000 });
    expect(announce(T(9), A, 9).refused).toBe("source_share");
    announce(HASH_A, A, 1, { event: EVENT_STOPPED });
    expect(announce(T(9), A, 9, { now: 1200 }).refused).toBeNull(); // stopped
    // Another source's newcomers fill torrent A (3 at most): the second evicts one of A's (older) peers there.
    expect(announce(HASH_A, B, 1, { now: 1200 }).refused).toBeNull();
    expect(announce(HASH_A, B, 2, { now: 1200 }).refused).toBeNull();
    expect(store.evictedPeers).toBe(1);
    expect(announce(T(10), A, 10, { now: 1200 }).refused).toBeNull(); // evicted
    expect(announce(T(11), A, 11, { now: 1200 }).refused).toBe("source_share");
    // Expiry: A's three peers seen at 1000 go (one in torrent A, two in B); 9 and 10 stay.
    expect(store.sweepIds(0, store.idLimit, 1000 + 304).peersRemoved).toBe(3);
    for (let port = 11; port <= 13; port++) expect(announce(T(port), A, port, { now: 1304 }).refused).toBeNull();
    expect(announce(T(14), A, 14, { now: 1304 }).refused).toBe("source_share");
    expect(store.dropTorrent(T(11))).toBe(true); // denied: its peers go at once
    expect(announce(T(20), A, 20, { now: 1304 }).refused).toBeNull();
    expect(announce(T(21), A, 21, { now: 1304 }).refused).toBe("source_share");
    expect(store.refusedSource).toBe(4);
  });

  test("IPv6 sources are /48s: other /64s of the same /48 share one count", () => {
    shared();
    const in48 = (sub: number, last: number) => [
      0x20,
      0x01,
      0x0d,
      0xb8,
      0x00,
      0x07,
      sub,
      sub,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      last,
    ];
    for (let i = 1; i <= 5; i++) expect(announce(HASH_A, in48(i, 1), 1000 + i).refused).toBeNull();
    expect(announce(HASH_A, in48(99, 1), 2000).refused).toBe("source_share");
    const other48 = [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(announce(HASH_A, other48, 2000).refused).toBeNull();
    // An IPv4 address whose bytes start like a /48 is another source.
    expect(announce(HASH_A, [0x20, 0x01, 0x0d, 0xb8], 2000).refused).toBeNull();
  });

  test("a source may start torrents only while it holds fewer peers than its share of --max-torrents", () => {
    shared({ maxTorrents: 60 }); // 3 torrents' worth, 5 peers
    for (let i = 0; i < 3; i++) expect(announce(`torrent ${i}`.padEnd(20, "."), A, 1).refused).toBeNull();
    expect(announce("torrent 3".padEnd(20, "."), A, 1).refused).toBe("source_share");
    expect(store.torrents).toBe(3); // refused before a torrent was made
    expect(announce("torrent 0".padEnd(20, "."), A, 2).refused).toBeNull(); // joining one still works
    expect(announce("torrent 3".padEnd(20, "."), B, 1).refused).toBeNull();
  });

  test("exempt sources are not bounded; without a share nothing is", () => {
    shared({ exempt: "198.51.100.0/24" });
    for (let port = 1; port <= 20; port++) expect(announce(HASH_A, A, port).refused).toBeNull();
    store = new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([5, 6, 7, 8])), maxPeers: 100 });
    for (let port = 1; port <= 100; port++) expect(announce(HASH_A, A, port).refused).toBeNull();
  });

  test("a WebRTC peer counts against its WebSocket connection's address", () => {
    shared();
    // Handles 1-9 belong to a connection from A, others to none.
    store.setRtcAddressLookup((handle, out) => {
      if (handle > 9) return 0;
      out.set(A);
      return 4;
    });
    const rtc = (h: number, hash = HASH_A) => {
      const req = new AnnounceRequest();
      req.webrtc = true;
      req.infoHash = hash;
      req.rtcHandle = rtcHandle(h);
      req.numWant = 0;
      req.left = 1;
      store.announce(req, 1000, res);
      return res.refused;
    };
    for (let h = 1; h <= 3; h++) expect(rtc(h)).toBeNull();
    expect(announce(HASH_A, A, 1).refused).toBeNull();
    expect(announce(HASH_A, A, 2).refused).toBeNull();
    expect(rtc(4)).toBe("source_share");
    expect(announce(HASH_A, A, 3).refused).toBe("source_share");
    expect(store.sweepIds(0, store.idLimit, 1000 + 304).peersRemoved).toBe(5);
    for (let h = 4; h <= 8; h++) expect(rtc(h, HASH_B)).toBeNull();
    expect(rtc(9, HASH_B)).toBe("source_share");
  });
});
