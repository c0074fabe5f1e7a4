import { describe, expect, test } from "bun:test";
import { grown, idArray } from "../../src/core/id-arrays.ts";
import { AnnounceRequest, AnnounceResult } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";

describe("per-id arrays", () => {
  test("grow in place within their room: same memory, contents kept, new ids zero", () => {
    const a = idArray(Uint32Array, 4, 100_000);
    a.set([1, 2, 3, 4]);
    const b = grown(a, 80_000, 100_000);
    expect(b.buffer).toBe(a.buffer); // no copy
    expect(b.length).toBe(80_000);
    expect([...b.subarray(0, 6)]).toEqual([1, 2, 3, 4, 0, 0]);
    expect(b[79_999]).toBe(0);
  });

  test("past their room (or from a plain array) they are copied into a new array with the room asked for", () => {
    const a = grown(idArray(Int32Array, 2, 2).fill(-7), 3, 100_000);
    expect([...a]).toEqual([-7, -7, 0]);
    expect(grown(a, 100_000).buffer).toBe(a.buffer);
    const plain = grown(new Uint8Array([9]), 2, 500_000);
    expect([...plain]).toEqual([9, 0]);
    expect(grown(plain, 500_000).buffer).toBe(plain.buffer);
  });

  test("a reservation under 256 KiB is a plain array (QEMU cannot start small resizable ones); it grows by copying", () => {
    const small = idArray(Uint32Array, 4, 1000).fill(5);
    expect((small.buffer as ArrayBuffer).resizable).toBe(false);
    const bigger = grown(small, 2000, 4000);
    expect(bigger.buffer).not.toBe(small.buffer);
    expect([bigger[0], bigger[3], bigger[4], bigger[1999]]).toEqual([5, 5, 0, 0]);
  });

  test("a store with a torrent limit grows its torrent table in place and keeps every torrent's numbers", () => {
    const store = new Store({
      peerTimeoutS: 300,
      random: xoshiro128(new Uint32Array([5, 6, 7, 8])),
      maxTorrents: 20_000,
    });
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
    for (let t = 0; t < 10_000; t += 997)
      expect(store.get(hash(t))).toMatchObject({ seeders: 1 - (t % 2), leechers: t % 2 });
  });
});
