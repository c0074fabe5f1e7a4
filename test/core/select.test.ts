import { describe, expect, test } from "bun:test";
import { PeerLists } from "../../src/core/peer-lists.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { selectPeers, splitByFamily } from "../../src/core/select.ts";

/** Torrent 0 of a fresh family store, with n leechers 10.0.x.y:6881 where (x, y) spells the peer's number. */
function listOf(n: number): PeerLists {
  const lists = new PeerLists(4);
  lists.resize(1);
  for (let i = 0; i < n; i++) lists.insert(0, new Uint8Array([10, 0, i >> 8, i & 0xff]), 6881, false, 0, 0, 1);
  return lists;
}

function picked(out: Uint8Array, n: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((out[i * 6 + 2] << 8) | out[i * 6 + 3]);
  return ids;
}

describe("selectPeers", () => {
  const random = xoshiro128(new Uint32Array([42, 1, 2, 3]));

  test("returns everyone but the requester when the swarm is small", () => {
    const list = listOf(5);
    const out = new Uint8Array(50 * 6);
    const n = selectPeers(list, 0, 0, 5, 2, 50, random, out, 0);
    expect(n).toBe(4);
    expect(picked(out, n).sort()).toEqual([0, 1, 3, 4]);
  });

  test("returns distinct peers, never the requester, spread over the whole swarm", () => {
    const list = listOf(1000);
    const out = new Uint8Array(50 * 6);
    const seen = new Set<number>();
    for (let round = 0; round < 200; round++) {
      const n = selectPeers(list, 0, 0, 1000, 500, 50, random, out, 0);
      expect(n).toBe(50);
      const ids = picked(out, n);
      expect(new Set(ids).size).toBe(50);
      expect(ids).not.toContain(500);
      // Even spacing: every tenth of the swarm is represented in every reply.
      const tenths = new Set(ids.map((id) => Math.floor(id / 100)));
      expect(tenths.size).toBe(10);
      ids.forEach((id) => seen.add(id));
    }
    // Different on every call: over 200 replies nearly every peer has been handed out.
    expect(seen.size).toBeGreaterThan(990);
  });

  test("selects from a sub-range only (e.g. leechers for a seeder)", () => {
    const list = listOf(100);
    const out = new Uint8Array(10 * 6);
    const n = selectPeers(list, 0, 0, 20, -1, 10, random, out, 0);
    expect(n).toBe(10);
    for (const id of picked(out, n)) expect(id).toBeLessThan(20);
  });

  test("wants 0 gives nothing", () => {
    expect(selectPeers(listOf(10), 0, 0, 10, -1, 0, random, new Uint8Array(60), 0)).toBe(0);
  });
});

describe("splitByFamily", () => {
  test("takes everything when there is room", () => {
    expect(splitByFamily(50, 10, 5)).toBe(10);
  });
  test("guarantees each family a quarter", () => {
    expect(splitByFamily(40, 1000, 1000)).toBe(20);
    const v4 = splitByFamily(40, 10000, 20);
    expect(40 - v4).toBeGreaterThanOrEqual(10);
  });
  test("fills from the other family when one runs short", () => {
    expect(splitByFamily(50, 100, 3)).toBe(47);
    expect(splitByFamily(50, 3, 100)).toBe(3);
  });
  test("never exceeds what is available or wanted", () => {
    for (let want = 0; want < 60; want += 7) {
      for (const [a4, a6] of [
        [0, 0],
        [0, 9],
        [9, 0],
        [30, 30],
        [100, 1],
        [1, 100],
      ]) {
        const n4 = splitByFamily(want, a4, a6);
        const n6 = Math.min(a6, want - n4);
        expect(n4).toBeLessThanOrEqual(a4);
        expect(n4 + n6).toBe(Math.min(want, a4 + a6));
      }
    }
  });
});
