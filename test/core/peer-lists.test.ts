import { describe, expect, test } from "bun:test";
import { CHUNK_BYTES } from "../../src/core/peer-arena.ts";
import { FLAG_SEEDER, PeerLists, timeUnitFor } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";

const ip4 = (n: number) => new Uint8Array([10, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
type Model = Map<string, { seeder: boolean; time: number }>;
/** When expectMatches reads ages (model times stay below it, within the one-byte clock's 256 s at unit 1). */
const NOW = 255;

/** The compact form (address + port) of record r of torrent `id`, as a reply would carry it. */
function compactOf(lists: PeerLists, id: number, r: number): Uint8Array {
  const o = lists.offsetOf(id, r);
  return lists.dataOf(id).slice(o, o + lists.compactLen);
}

function family(torrents: number): PeerLists {
  const lists = new PeerLists(4);
  lists.resize(torrents);
  return lists;
}

/** Checks every invariant a caller relies on for torrent `id` against a plain Map model. */
function expectMatches(lists: PeerLists, id: number, model: Model) {
  expect(lists.count(id)).toBe(model.size);
  expect(lists.leechers(id)).toBe([...model.values()].filter((p) => !p.seeder).length);
  for (let r = 0; r < lists.count(id); r++) {
    const out = compactOf(lists, id, r);
    const key = `${out.subarray(0, 4).join(".")}:${(out[4] << 8) | out[5]}`;
    const p = model.get(key);
    expect(p).toBeDefined();
    const seeder = (lists.flags(id, r) & FLAG_SEEDER) !== 0;
    expect(seeder).toBe(p!.seeder);
    expect(r < lists.leechers(id)).toBe(!seeder); // partition: leechers first
    expect(lists.age(id, r, NOW)).toBe(NOW - p!.time);
    expect(lists.find(id, out, (out[4] << 8) | out[5])).toBe(r);
  }
}

describe("PeerLists", () => {
  test("finds, updates and removes peers; keeps leechers before seeders; torrents do not mix", () => {
    const lists = family(2);
    const a = lists.insert(0, ip4(1), 6881, false, 0, 0, 100);
    const b = lists.insert(0, ip4(2), 6881, true, 0, 0, 100);
    lists.insert(1, ip4(3), 6881, true, 0, 0, 100);
    expect(lists.find(0, ip4(1), 6881)).toBe(a);
    expect(lists.find(0, ip4(2), 6881)).toBe(b);
    expect(lists.find(0, ip4(1), 6882)).toBe(-1); // same IP, other port: another peer
    expect(lists.find(0, ip4(3), 6881)).toBe(-1); // in torrent 1 only
    expect([lists.leechers(0), lists.seeders(0), lists.count(1)]).toEqual([1, 1, 1]);
    const r = lists.setSeeder(0, lists.find(0, ip4(1), 6881), true);
    expect(lists.leechers(0)).toBe(0);
    expect(lists.flags(0, r) & FLAG_SEEDER).toBe(FLAG_SEEDER);
    lists.remove(0, lists.find(0, ip4(2), 6881));
    expect(lists.count(0)).toBe(1);
    expect(lists.find(0, ip4(2), 6881)).toBe(-1);
    expect(lists.find(0, ip4(1), 6881)).toBe(0);
    lists.remove(0, 0);
    expect(lists.count(0)).toBe(0);
    expect(lists.find(1, ip4(3), 6881)).toBe(0);
  });

  test("keeps time in ticks of a hundredth of the timeout and ages across the time byte's wrap", () => {
    expect([timeUnitFor(3000), timeUnitFor(100), timeUnitFor(101), timeUnitFor(30), timeUnitFor(7 * 86400)]).toEqual([
      30, 1, 2, 1, 6048,
    ]);
    const lists = new PeerLists(16, 30);
    lists.resize(1);
    const t = 1_700_000_000 - (1_700_000_000 % 7680) + 255 * 30; // the last tick before the byte wraps
    const r = lists.insert(0, new Uint8Array(16).fill(0xfe), 1, false, 0, 7, t + 29);
    expect(lists.age(0, r, t + 29)).toBe(0);
    expect(lists.age(0, r, t + 30)).toBe(30); // one tick later, past the wrap: ages are known to within a tick
    expect(lists.age(0, r, t + 3000)).toBe(3000);
    expect(lists.tag(0, r)).toBe(7);
    expect(lists.stride).toBe(20); // 16-byte address, port, tag byte, time byte
  });

  test("expires by whole ticks: a peer goes once its age in ticks is past the timeout", () => {
    const lists = new PeerLists(4, timeUnitFor(3000));
    lists.resize(1);
    const t = 1_700_000_010; // a multiple of 30
    lists.insert(0, ip4(1), 1, false, 0, 0, t);
    lists.insert(0, ip4(2), 1, true, 0, 0, t + 100);
    const gone: boolean[] = [];
    expect(lists.expire(0, t + 3029, 3000, (_tag, seeder) => gone.push(seeder))).toBe(0); // 100 ticks: not past
    expect(lists.expire(0, t + 3030, 3000, (_tag, seeder) => gone.push(seeder))).toBe(1); // 101 ticks
    expect(gone).toEqual([false]);
    expect(lists.find(0, ip4(2), 1)).toBe(0);
    expect(lists.stride).toBe(8);
  });

  // Random operations against a model, across the size where the hash index switches on and off.
  for (const seed of [1, 2, 3]) {
    test(`stays consistent with a model under random inserts, role changes and removals (seed ${seed})`, () => {
      const random = xoshiro128(new Uint32Array([seed, 7, 11, 13]));
      const lists = family(3);
      const models: Model[] = [new Map(), new Map(), new Map()];
      let sawIndexSize = false;
      for (let step = 0; step < 9000; step++) {
        const id = Math.floor(random() * 3);
        const model = models[id];
        if (lists.count(id) > 100) sawIndexSize = true;
        // 300 possible peers: a list crosses the size where its hash index is built and dropped.
        const n = Math.floor(random() * 300);
        const ip = ip4(n % 100);
        const port = 1000 + (n % 3);
        const key = `${ip.join(".")}:${port}`;
        const r = lists.find(id, ip, port);
        expect(r >= 0).toBe(model.has(key));
        const op = random();
        if (r < 0) {
          const seeder = op < 0.4;
          lists.insert(id, ip, port, seeder, 0, 0, step >> 6);
          model.set(key, { seeder, time: step >> 6 });
        } else if (op < 0.35) {
          lists.remove(id, r);
          model.delete(key);
        } else {
          const seeder = op < 0.7;
          const r2 = lists.setSeeder(id, r, seeder);
          lists.setTime(id, r2, step >> 6);
          model.set(key, { seeder, time: step >> 6 });
        }
        if (step % 500 === 0) lists.shrink(id);
      }
      for (let id = 0; id < 3; id++) expectMatches(lists, id, models[id]);
      expect(sawIndexSize).toBe(true);
    });
  }

  test("shrinks a list's storage after most peers leave", () => {
    const lists = family(1);
    for (let i = 0; i < 1000; i++) lists.insert(0, ip4(i), 1, i % 2 === 0, 0, 0, 1);
    const big = lists.arena.liveBytes;
    for (let i = 0; i < 990; i++) lists.remove(0, lists.find(0, ip4(i), 1));
    lists.shrink(0);
    expect(lists.arena.liveBytes).toBeLessThan(big / 8);
    for (let i = 990; i < 1000; i++) expect(lists.find(0, ip4(i), 1)).toBeGreaterThanOrEqual(0);
  });

  test("compaction moves lists without losing a record, and memory stays near what the lists hold", () => {
    // Thousands of torrents growing in random order: outgrown blocks die scattered among live ones, so no
    // chunk ever empties by itself.
    const T = 5000;
    const lists = family(T);
    const random = xoshiro128(new Uint32Array([3, 1, 4, 1]));
    const order = Array.from({ length: T * 60 }, (_, i) => i % T);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const id of order) {
      const round = lists.count(id);
      lists.insert(id, ip4(round), 1000 + (id % 7), random() < 0.3, 0, id & 0x7f, round);
      lists.arena.compactStep();
    }
    // Then most peers leave some torrents, as expiry would do.
    for (let id = 0; id < T; id += 3) {
      while (lists.count(id) > 2) lists.remove(id, lists.count(id) - 1);
      lists.shrink(id);
      lists.arena.compactStep();
    }
    const live = lists.arena.liveBytes;
    expect(lists.arena.reservedBytes).toBeLessThan(live * 1.2 + 4 * CHUNK_BYTES);
    for (let id = 0; id < T; id++) {
      expect(lists.count(id)).toBe(id % 3 === 0 ? 2 : 60);
      if (id % 3 !== 0) {
        for (let round = 0; round < 60; round++) {
          const r = lists.find(id, ip4(round), 1000 + (id % 7));
          expect(r).toBeGreaterThanOrEqual(0);
          expect([lists.tag(id, r), lists.age(id, r, 60)]).toEqual([id & 0x7f, 60 - round]);
        }
      }
      for (let r = 0; r < lists.count(id); r++) {
        const out = compactOf(lists, id, r);
        expect(lists.age(id, r, 60)).toBe(60 - out[3]); // each record still whole: address and time agree
        expect((out[4] << 8) | out[5]).toBe(1000 + (id % 7));
      }
    }
  });

  test("a list bigger than a chunk gets a block of its own and gives it back when emptied", () => {
    const lists = family(1);
    const n = Math.ceil(CHUNK_BYTES / lists.stride) + 10;
    for (let i = 0; i < n; i++) lists.insert(0, ip4(i), 1, false, 0, 0, 1);
    expect(lists.find(0, ip4(n - 1), 1)).toBeGreaterThanOrEqual(0);
    expect(lists.find(0, ip4(0), 1)).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < n; i++) lists.remove(0, lists.count(0) - 1);
    expect(lists.arena.liveBytes).toBe(0);
    expect(lists.arena.reservedBytes).toBeLessThanOrEqual(3 * CHUNK_BYTES);
  });
});
