import { describe, expect, test } from "bun:test";
import { FLAG_SEEDER, PeerList } from "../../src/core/peer-list.ts";
import { xoshiro128 } from "../../src/core/random.ts";

const ip4 = (n: number) => new Uint8Array([10, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

/** Checks every invariant a caller relies on against a plain Map model. */
function expectMatches(list: PeerList, model: Map<string, { seeder: boolean; time: number }>) {
  expect(list.count).toBe(model.size);
  expect(list.leechers).toBe([...model.values()].filter((p) => !p.seeder).length);
  const out = new Uint8Array(6);
  for (let r = 0; r < list.count; r++) {
    list.copyCompact(r, out, 0);
    const key = `${out.subarray(0, 4).join(".")}:${(out[4] << 8) | out[5]}`;
    const p = model.get(key);
    expect(p).toBeDefined();
    const seeder = (list.flags(r) & FLAG_SEEDER) !== 0;
    expect(seeder).toBe(p!.seeder);
    expect(r < list.leechers).toBe(!seeder); // partition: leechers first
    expect(list.time(r)).toBe(p!.time);
    expect(list.find(out, (out[4] << 8) | out[5])).toBe(r);
  }
}

describe("PeerList", () => {
  test("finds, updates and removes peers; keeps leechers before seeders", () => {
    const list = new PeerList(4);
    const a = list.insert(ip4(1), 6881, false, 0, 0, 100);
    const b = list.insert(ip4(2), 6881, true, 0, 0, 100);
    expect(list.find(ip4(1), 6881)).toBe(a);
    expect(list.find(ip4(2), 6881)).toBe(b);
    expect(list.find(ip4(1), 6882)).toBe(-1); // same IP, other port: another peer
    expect(list.leechers).toBe(1);
    expect(list.seeders).toBe(1);
    const r = list.setSeeder(list.find(ip4(1), 6881), true);
    expect(list.leechers).toBe(0);
    expect(list.flags(r) & FLAG_SEEDER).toBe(FLAG_SEEDER);
    list.remove(list.find(ip4(2), 6881));
    expect(list.count).toBe(1);
    expect(list.find(ip4(2), 6881)).toBe(-1);
    expect(list.find(ip4(1), 6881)).toBe(0);
  });

  test("stores times up to 2^32-1 seconds", () => {
    const list = new PeerList(16);
    const r = list.insert(new Uint8Array(16).fill(0xfe), 1, false, 0, 7, 0xfffffffe);
    expect(list.time(r)).toBe(0xfffffffe);
    expect(list.tag(r)).toBe(7);
  });

  // Random operations against a model, across the size where the hash index switches on and off.
  for (const seed of [1, 2, 3]) {
    test(`stays consistent with a model under random inserts, role changes and removals (seed ${seed})`, () => {
      const random = xoshiro128(new Uint32Array([seed, 7, 11, 13]));
      const list = new PeerList(4);
      const model = new Map<string, { seeder: boolean; time: number }>();
      let sawIndexSize = false;
      for (let step = 0; step < 6000; step++) {
        if (list.count > 100) sawIndexSize = true;
        // 300 possible peers: the list crosses the size where its hash index is built and dropped.
        const n = Math.floor(random() * 300);
        const ip = ip4(n % 100);
        const port = 1000 + (n % 3);
        const key = `${ip.join(".")}:${port}`;
        const r = list.find(ip, port);
        expect(r >= 0).toBe(model.has(key));
        const op = random();
        if (r < 0) {
          const seeder = op < 0.4;
          list.insert(ip, port, seeder, 0, 0, step);
          model.set(key, { seeder, time: step });
        } else if (op < 0.35) {
          list.remove(r);
          model.delete(key);
        } else {
          const seeder = op < 0.7;
          const r2 = list.setSeeder(r, seeder);
          list.setTime(r2, step);
          model.set(key, { seeder, time: step });
        }
        if (step % 500 === 0) list.shrink();
      }
      expectMatches(list, model);
      expect(sawIndexSize).toBe(true);
    });
  }

  test("shrinks its storage after most peers leave", () => {
    const list = new PeerList(4);
    for (let i = 0; i < 1000; i++) list.insert(ip4(i), 1, i % 2 === 0, 0, 0, 1);
    const big = list.capacity;
    for (let i = 0; i < 990; i++) list.remove(list.find(ip4(i), 1));
    list.shrink();
    expect(list.capacity).toBeLessThan(big / 8);
    for (let i = 990; i < 1000; i++) expect(list.find(ip4(i), 1)).toBeGreaterThanOrEqual(0);
  });
});
