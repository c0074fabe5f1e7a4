// Cluster mode inside the store, without an engine: the packed blobs, answers that merge local and remote
// peers, and the journal of changes the sync publishes.
import { beforeEach, describe, expect, test } from "bun:test";
import { AnnounceRequest, AnnounceResult, EVENT_NONE, EVENT_STOPPED, ScrapeCounts } from "../../src/core/announce.ts";
import { ClusterView } from "../../src/core/cluster-view.ts";
import { BlobRanges, blobLeechers, blobSeeders, encodeBlob, mergeBlobs } from "../../src/core/peer-blob.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";

const HASH = "C".repeat(19) + "\u00ff";
let store: Store;
let view: ClusterView;
const res = new AnnounceResult(200);

function announce(s: Store, ip: number[], port: number, left: number, now = 1000, event = EVENT_NONE) {
  const req = new AnnounceRequest();
  req.infoHash = HASH;
  req.ip.set(ip);
  req.ipLen = ip.length as 4 | 16;
  req.port = port;
  req.left = left;
  req.event = event;
  req.numWant = 50;
  s.announce(req, now, res);
  const peers: string[] = [];
  for (let i = 0; i < res.count4; i++) {
    const o = i * 6;
    peers.push(`${res.peers4.subarray(o, o + 4).join(".")}:${(res.peers4[o + 4] << 8) | res.peers4[o + 5]}`);
  }
  return { complete: res.complete, incomplete: res.incomplete, peers: peers.sort() };
}

const newStore = () => new Store({ peerTimeoutS: 600, random: xoshiro128(new Uint32Array([1, 2, 3, 4])) });

/** Another instance's blob of HASH holding the given IPv4 peers. */
function remoteBlob(peers: [number[], number, boolean][], run = 7): Uint8Array {
  const other = newStore();
  for (const [ip, port, seeder] of peers) announce(other, ip, port, seeder ? 0 : 10);
  return encodeBlob(other, other.idOf(HASH), run);
}

beforeEach(() => {
  store = newStore();
  view = new ClusterView(300);
  store.attachCluster(view);
});

describe("blobs", () => {
  test("encode keeps exact counts and the peers, merge sums counts and keeps a peer once", () => {
    const a = remoteBlob([
      [[10, 0, 0, 1], 1, true],
      [[10, 0, 0, 2], 2, false],
    ]);
    expect([blobSeeders(a), blobLeechers(a)]).toEqual([1, 1]);
    const b = remoteBlob([[[10, 0, 0, 1], 1, true]]); // the same peer, at a third instance
    const merged = mergeBlobs([a, b])!;
    expect([blobSeeders(merged), blobLeechers(merged)]).toEqual([2, 1]);
    const r = new BlobRanges();
    expect(r.read(merged)).toBe(true);
    expect([r.n4L, r.n4S, r.n6L, r.n6S]).toEqual([1, 1, 0, 0]);
    expect(r.read(merged.subarray(0, merged.length - 1))).toBe(false); // a torn blob is refused
    expect(mergeBlobs([])).toBeNull();
  });
});

describe("answers merge local and remote peers", () => {
  test("counts add up; the announcing peer and peers also held locally are never returned twice", () => {
    announce(store, [10, 0, 0, 9], 9, 10); // a local leecher
    const id = store.idOf(HASH);
    view.setRemote(
      id,
      remoteBlob([
        [[10, 0, 0, 1], 1, true],
        [[10, 0, 0, 9], 9, false], // also local (it moved here)
        [[10, 0, 0, 5], 5, false], // the peer about to announce, still known remotely
      ]),
      3,
    );
    const r = announce(store, [10, 0, 0, 5], 5, 10);
    expect(r.complete).toBe(1);
    expect(r.incomplete).toBe(2 + 2); // local 2, remote 2 (a peer in both is counted on both sides)
    expect(r.peers).toEqual(["10.0.0.1:1", "10.0.0.9:9"]);
    const s = new ScrapeCounts();
    store.scrape(HASH, s);
    expect([s.complete, s.incomplete, s.downloaded]).toEqual([1, 4, 3]);
  });

  test("a seeder gets remote leechers only", () => {
    announce(store, [10, 0, 0, 9], 9, 0);
    view.setRemote(
      store.idOf(HASH),
      remoteBlob([
        [[10, 0, 0, 1], 1, true],
        [[10, 0, 0, 2], 2, false],
      ]),
      0,
    );
    expect(announce(store, [10, 0, 0, 9], 9, 0).peers).toEqual(["10.0.0.2:2"]);
  });
});

describe("the journal", () => {
  test("a new torrent is wanted and changed; a plain re-announce is published again only when due", () => {
    announce(store, [10, 0, 0, 1], 1, 10, 1000);
    expect(view.takeWanted().length).toBe(20);
    const id = store.idOf(HASH);
    expect([...view.takeChanged()]).toEqual([id]);
    view.published(id, 1000);
    announce(store, [10, 0, 0, 1], 1, 10, 1100);
    expect(view.takeChanged().length).toBe(0);
    announce(store, [10, 0, 0, 1], 1, 10, 1300); // refreshS (300) after the last publication
    expect([...view.takeChanged()]).toEqual([id]);
    announce(store, [10, 0, 0, 1], 1, 0, 1301); // became a seeder: a completion and a change
    expect([...view.takeChanged()]).toEqual([id]);
    announce(store, [10, 0, 0, 1], 1, 0, 1302, EVENT_STOPPED);
    expect([...view.takeChanged()]).toEqual([id]);
  });

  test("scraping an unknown torrent asks for it; a torrent forgotten by the sweep is listed as gone", () => {
    const s = new ScrapeCounts();
    store.scrape("D".repeat(20), s);
    expect(String.fromCharCode(...view.takeWanted())).toBe("D".repeat(20));
    announce(store, [10, 0, 0, 1], 1, 10, 1000);
    store.sweepIds(0, store.idLimit, 1000 + 700);
    expect(store.idOf(HASH)).toBe(-1);
    expect(String.fromCharCode(...view.takeGone())).toBe(HASH);
  });

  test("a torrent whose local peers expired stays while other instances have peers for it", () => {
    announce(store, [10, 0, 0, 1], 1, 10, 1000);
    const id = store.idOf(HASH);
    view.setRemote(id, remoteBlob([[[10, 0, 0, 2], 2, true]]), 0);
    store.sweepIds(0, store.idLimit, 1000 + 700);
    expect(store.idOf(HASH)).toBe(id);
    expect(announce(store, [10, 0, 0, 3], 3, 10, 1700).peers).toEqual(["10.0.0.2:2"]);
  });
});
