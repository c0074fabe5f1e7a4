import { expect, test } from "bun:test";
import { xoshiro128 } from "../../src/core/random.ts";
import { TorrentTable } from "../../src/core/torrent-table.ts";

function randomKey(random: () => number): string {
  let s = "";
  for (let i = 0; i < 20; i++) s += String.fromCharCode(Math.floor(random() * 256));
  return s;
}

test("matches a Map through growth, removals and id reuse", () => {
  const random = xoshiro128(new Uint32Array([7, 7, 7, 7]));
  let capacity = 0;
  const table = new TorrentTable(12345, 67890, (c) => (capacity = c));
  const model = new Map<string, number>();
  const usedIds = new Set<number>();
  const keys: string[] = [];
  for (let step = 0; step < 60_000; step++) {
    if (keys.length === 0 || random() < 0.7) {
      const key = randomKey(random);
      expect(table.find(key)).toBe(-1);
      const id = table.insert(key);
      expect(id).toBeLessThan(capacity);
      expect(usedIds.has(id)).toBe(false);
      usedIds.add(id);
      model.set(key, id);
      keys.push(key);
    } else {
      const i = Math.floor(random() * keys.length);
      const key = keys[i];
      keys[i] = keys[keys.length - 1];
      keys.pop();
      table.remove(model.get(key)!);
      usedIds.delete(model.get(key)!);
      model.delete(key);
      expect(table.find(key)).toBe(-1);
    }
  }
  expect(table.size).toBe(model.size);
  for (const [key, id] of model) {
    expect(table.find(key)).toBe(id);
    expect(table.keyOf(id)).toBe(key);
    expect(id).toBeLessThan(table.highWater);
  }
  // Ids are reused: the id space stays near the peak number of live torrents, not the number ever seen.
  expect(table.highWater).toBeLessThan(60_000 * 0.7);
});

test("keys that share their first bytes (a crafted run) are still told apart", () => {
  const table = new TorrentTable(1, 2, () => {});
  const keys = Array.from({ length: 5000 }, (_, i) => "\u0000".repeat(16) + String.fromCharCode(i & 255, i >> 8, 0, 0));
  const ids = keys.map((k) => table.insert(k));
  keys.forEach((k, i) => expect(table.find(k)).toBe(ids[i]));
  const out = new Uint8Array(20);
  table.copyKey(ids[300], out, 0);
  expect(String.fromCharCode(...out)).toBe(keys[300]);
});

test("growing within the reserved room stops at the room: a table reserved for N ids holds N without a copy", () => {
  let grows = 0;
  let lastRoom = 0;
  const n = 100_000;
  const table = new TorrentTable(
    3,
    4,
    (_capacity, room) => {
      grows++;
      lastRoom = room;
    },
    n,
    n,
  );
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    v.setUint32(0, i);
    v.setUint32(16, i * 2654435761);
    table.insertBytes(b, 0);
  }
  // Before: the last step went from 80% of the room to 125% of it, past the room, and so copied every array.
  expect(table.capacity).toBe(n);
  expect(lastRoom).toBe(n);
  expect(grows).toBeGreaterThan(1);
});
