import { describe, expect, test } from "bun:test";
import { grown, idArray } from "../../src/core/id-arrays.ts";
import { AnnounceRequest, AnnounceResult } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";

describe("per-id arrays", () => {
  test("grow in place within their room: same memory, contents kept, new ids zero", () => {
    const a = idArray(Uint32Array, 4, 1000);
    a.set([1, 2, 3, 4]);
    const b = grown(a, 800, 1000);
    expect(b.buffer).toBe(a.buffer); // no copy
    expect(b.length).toBe(800);
    expect([...b.subarray(0, 6)]).toEqual([1, 2, 3, 4, 0, 0]);
    expect(b[799]).toBe(0);
  });

  test("past their room (or from a plain array) they are copied into a new array with the room asked for", () => {
    const a = grown(idArray(Int32Array, 2, 2).fill(-7), 3, 10);
    expect([...a]).toEqual([-7, -7, 0]);
    expect(grown(a, 10).buffer).toBe(a.buffer);
    const plain = grown(new Uint8Array([9]), 2, 5);
    expect([...plain]).toEqual([9, 0]);
    expect(grown(plain, 5).buffer).toBe(plain.buffer);
  });

  test("a store with a torrent limit grows its torrent table in place and keeps every torrent's numbers", () => {
    const store = new Store({ peerTimeoutS: 300, random: xoshiro128(new Uint32Array([5, 6, 7, 8])), maxTorrents: 20_000 });
    const req = new AnnounceRequest();
    const res = new AnnounceResult(10);
    const hash = (t: number) => `torrent ${t}`.padEnd(20, "#");
    for (let t = 0; t < 10_000; t++) {
      req.infoHash = hash(t);
      req.ip.set([10, 0, t >> 8, t & 255]);
      req.port = 1000 + (t % 3);
      req.left = t % 2; // even torrents: a seeder
      store.announce(req, 1000, res);
    }
    expect([store.torrents, store.peers, store.seeders]).toEqual([10_000, 10_000, 5_000]);
    for (let t = 0; t < 10_000; t += 997) expect(store.get(hash(t))).toMatchObject({ seeders: 1 - (t % 2), leechers: t % 2 });
  });
});
