import { afterEach, describe, expect, test } from "bun:test";
import { AnnounceRequest, AnnounceResult, EVENT_COMPLETED } from "../../src/core/announce.ts";
import { PeerRecord } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { SharedTotals } from "../../src/core/shared-counts.ts";
import { SharedSourceCounts } from "../../src/core/shared-source-counts.ts";
import { Store, type StoreOptions } from "../../src/core/store.ts";
import { startWorker, type TestWorker } from "../helpers/workers.ts";
import type { Filled } from "./fixtures/store-worker.ts";

// Stores of several threads (--workers) holding --max-peers and --max-torrents together.

let workers: TestWorker[] = [];
afterEach(() => {
  for (const w of workers) w.terminate();
  workers = [];
});

/** Two Worker threads, each with its own Store over `totals` (and `sources`, bounding `sourceShare`). */
async function twoStores(
  totals: SharedArrayBuffer,
  maxPeers: number,
  maxTorrents: number,
  sources?: SharedArrayBuffer,
  sourceShare?: number,
) {
  const gate = new SharedArrayBuffer(8);
  workers = [0, 1].map(() => startWorker(new URL("./fixtures/store-worker.ts", import.meta.url)));
  workers.forEach((w, index) => w.post({ totals, gate, index, maxPeers, maxTorrents, sources, sourceShare }));
  for (const w of workers) expect(await w.next()).toBe("ready");
  let phase = 0;
  return {
    /** Both threads announce new peers (or torrents) at once until refused; what each store then holds. */
    async fill(fill: "peers" | "torrents" | "source", now: number): Promise<Filled[]> {
      phase++;
      for (const w of workers) w.post({ fill, phase, now });
      for (const w of workers) expect(await w.next()).toBe("armed");
      const g = new Int32Array(gate);
      Atomics.store(g, 0, phase);
      Atomics.notify(g, 0);
      return (await Promise.all(workers.map((w) => w.next()))) as Filled[];
    },
    async sweep(now: number): Promise<Filled[]> {
      for (const w of workers) w.post({ sweep: now });
      return (await Promise.all(workers.map((w) => w.next()))) as Filled[];
    },
  };
}

const sum = (filled: Filled[], k: "peers" | "torrents") => filled.reduce((n, f) => n + f[k], 0);

describe("Stores in two Workers sharing totals", () => {
  test("hold --max-peers peers together, exactly, and get the room back after expiry", async () => {
    const memory = SharedTotals.memory();
    const totals = new SharedTotals(memory);
    const stores = await twoStores(memory, 20_000, 1000);
    let filled = await stores.fill("peers", 1000);
    expect(filled.map((f) => f.refused)).toEqual(["peer_limit", "peer_limit"]);
    expect(sum(filled, "peers")).toBe(20_000);
    expect(totals.peers).toBe(20_000);
    expect(filled.every((f) => f.peers > 0)).toBe(true); // both took part
    // Expired everywhere: the room comes back, and is shared out again.
    filled = await stores.sweep(1000 + 310);
    expect(sum(filled, "peers")).toBe(0);
    expect(totals.peers).toBe(0);
    expect(totals.torrents).toBe(0);
    filled = await stores.fill("peers", 2000);
    expect(sum(filled, "peers")).toBe(20_000);
    expect(totals.peers).toBe(20_000);
  });

  test("hold --max-torrents torrents together, exactly, and get the room back after expiry", async () => {
    const memory = SharedTotals.memory();
    const totals = new SharedTotals(memory);
    const stores = await twoStores(memory, 1_000_000, 20_000);
    let filled = await stores.fill("torrents", 1000);
    expect(filled.map((f) => f.refused)).toEqual(["torrent_limit", "torrent_limit"]);
    expect(sum(filled, "torrents")).toBe(20_000);
    expect(totals.torrents).toBe(20_000);
    expect(sum(filled, "peers")).toBe(20_000); // a peer in each
    expect(filled.every((f) => f.torrents > 0)).toBe(true);
    filled = await stores.sweep(1000 + 310);
    expect(sum(filled, "torrents")).toBe(0);
    expect(totals.torrents).toBe(0);
    filled = await stores.fill("torrents", 2000);
    expect(sum(filled, "torrents")).toBe(20_000);
    expect(totals.torrents).toBe(20_000);
  });
});

describe("Stores in two Workers sharing per-source counts", () => {
  test("one source spread over both stores holds its share of --max-peers, exactly", async () => {
    const sources = SharedSourceCounts.memory(100_000, 3);
    const counts = new SharedSourceCounts(sources);
    // A share of 10,000 peers; torrents do not bind (each thread's one torrent is started at once).
    const stores = await twoStores(SharedTotals.memory(), 100_000, 1_000_000, sources, 0.1);
    let filled = await stores.fill("source", 1000);
    expect(filled.map((f) => f.refused)).toEqual(["source_share", "source_share"]);
    expect(sum(filled, "peers")).toBe(10_000);
    expect(filled.every((f) => f.peers > 0)).toBe(true);
    expect(counts.get(2 ** 48 + ((10 << 24) | (99 << 16) | 1))).toBe(10_000);
    expect(counts.size).toBe(1);
    // Expired in both stores: the source is forgotten (no slot kept), and has its share again.
    filled = await stores.sweep(1000 + 310);
    expect(counts.size).toBe(0);
    filled = await stores.fill("source", 2000);
    expect(sum(filled, "peers")).toBe(10_000);
  });
});

describe("Stores sharing totals, in one thread", () => {
  const req = new AnnounceRequest();
  const res = new AnnounceResult(50);

  function announce(store: Store, hash: string, ip: number, now: number, event = 0, left = 1) {
    req.infoHash = hash.padEnd(20, "x");
    req.ip.set([10, 0, ip >> 8, ip & 255]);
    req.port = 6881;
    req.event = event;
    req.left = left;
    store.announce(req, now, res);
    return res.refused;
  }

  const make = (memory: SharedArrayBuffer, o: Partial<StoreOptions> = {}) =>
    new Store({
      peerTimeoutS: 300,
      random: xoshiro128(new Uint32Array([1, 2, 3, 4])),
      maxTorrents: 2,
      shared: new SharedTotals(memory),
      ...o,
    });

  test("another store's dormant torrents never refuse a new torrent; a waking one may be", () => {
    const memory = SharedTotals.memory();
    const a = make(memory);
    const b = make(memory);
    // B's two torrents get a completion each, then go quiet: dormant, kept for their counts.
    expect(announce(b, "b1", 1, 1000, EVENT_COMPLETED, 0)).toBeNull();
    expect(announce(b, "b2", 2, 1000, EVENT_COMPLETED, 0)).toBeNull();
    expect(announce(a, "a0", 3, 1000)).toBe("torrent_limit"); // two live torrents: the limit
    b.sweepIds(0, b.idLimit, 1310);
    expect(b.dormant).toBe(2);
    // A has no dormant torrent to forget and B's cannot be reached, yet A is not refused.
    expect(announce(a, "a1", 3, 1400)).toBeNull();
    expect(announce(a, "a2", 4, 1400)).toBeNull();
    expect(announce(a, "a3", 5, 1400)).toBe("torrent_limit");
    // B's dormant torrent waking up needs a live torrent's room: refused while A holds both.
    expect(announce(b, "b1", 6, 1400)).toBe("torrent_limit");
    expect(b.get("b1".padEnd(20, "x"))).toMatchObject({ dormant: true, downloaded: 1 });
    a.sweepIds(0, a.idLimit, 1710);
    expect(announce(b, "b1", 6, 1710)).toBeNull();
    expect(b.get("b1".padEnd(20, "x"))).toMatchObject({ dormant: false, downloaded: 1, peers: 1 });
    // B makes room for a new torrent by forgetting its own other dormant one, as a store alone does.
    expect(announce(b, "b3", 7, 1710)).toBeNull();
    expect(b.get("b2".padEnd(20, "x"))).toBeUndefined();
    expect([b.torrents, b.dormant, new SharedTotals(memory).torrents]).toEqual([2, 0, 2]);
  });

  test("every way a peer or torrent goes gives its room back", () => {
    const memory = SharedTotals.memory();
    const totals = new SharedTotals(memory);
    const a = make(memory, { maxTorrents: 10, maxPeers: 3, maxPeersPerTorrent: 2, sourceShare: 0.5 });
    const b = make(memory, { maxTorrents: 10, maxPeers: 3 });
    expect(announce(a, "t1", 1, 1000)).toBeNull();
    expect(announce(a, "t1", 2, 1000)).toBeNull();
    expect(announce(a, "t1", 3, 1000)).toBeNull(); // the torrent is full: the longest-silent peer makes way
    expect(a.evictedPeers).toBe(1);
    expect(announce(b, "t2", 4, 1000)).toBeNull();
    expect([totals.peers, totals.torrents]).toEqual([3, 2]);
    expect(announce(b, "t2", 5, 1000)).toBe("peer_limit");
    expect(announce(a, "t1", 2, 1000, 3 /* stopped */)).toBeNull();
    expect(totals.peers).toBe(2);
    // Refused by the source share after taking the room: the room is given back.
    req.ip.set([10, 0, 0, 3]);
    expect(announce(a, "t3", 3, 1000)).toBe("source_share");
    expect([totals.peers, totals.torrents]).toEqual([2, 2]);
    expect(a.dropTorrent("t1".padEnd(20, "x"))).toBe(true);
    expect([totals.peers, totals.torrents]).toEqual([1, 1]);
    b.sweepIds(0, b.idLimit, 1310);
    expect([totals.peers, totals.torrents]).toEqual([0, 0]);
  });

  test("a restore takes room for what it puts back, and gives it back when undone", () => {
    const memory = SharedTotals.memory();
    const totals = new SharedTotals(memory);
    const other = make(memory, { maxTorrents: 10, maxPeers: 3 });
    expect(announce(other, "o1", 1, 1000)).toBeNull();
    const a = make(memory, { maxTorrents: 10, maxPeers: 3 });
    const id = a.restoreTorrent("r1".padEnd(20, "x"), 5);
    const rec = new PeerRecord();
    rec.ipLen = 4;
    rec.time = 1000;
    for (let p = 1; p <= 3; p++) {
      rec.ip.set([10, 9, 9, p]);
      rec.port = p;
      expect(a.restorePeer(id, rec, 1000)).toBe(p <= 2); // the third would be the fourth peer of the two stores
    }
    a.finishRestore(id);
    expect([a.peers, totals.peers, totals.torrents]).toEqual([2, 3, 2]);
    a.undoRestore();
    expect([a.peers, a.torrents, totals.peers, totals.torrents]).toEqual([0, 0, 1, 1]);
  });
});
