// HashList over a shared (frozen) table, as the threads of --workers hold the main thread's access list: lookups
// by key and by packet bytes, with the edits made since kept beside it.

import { expect, test } from "bun:test";
import { HashList } from "../../src/core/hash-list.ts";

const bytes = (n: number) => {
  const b = new Uint8Array(20);
  b[0] = n;
  b[19] = 255 - n;
  return b;
};
const key = (n: number) => String.fromCharCode(...bytes(n));

test("a list over a shared copy finds what the original held, and its own edits, by key and by bytes", () => {
  const main = new HashList(11, 22);
  for (let n = 0; n < 100; n++) main.addUnsorted(bytes(n), 0);
  for (const _ of main.sortSteps()); // (a load: then edits keep the order)
  main.delete(key(5)); // a freed id inside the copied range: not found
  const other = HashList.fromShared(main.share());
  expect(other.size).toBe(99);
  expect(other.has(key(5))).toBe(false);
  expect(other.hasBytes(bytes(7), 0)).toBe(true);
  expect(other.has(key(150))).toBe(false);
  // Edits: added and removed, undone, and repeated.
  expect(other.add(key(150))).toBe(true);
  expect(other.add(key(150))).toBe(false);
  expect(other.delete(key(7))).toBe(true);
  expect(other.delete(key(7))).toBe(false);
  for (const has of [(n: number) => other.has(key(n)), (n: number) => other.hasBytes(bytes(n), 0)]) {
    expect([has(150), has(7), has(8)]).toEqual([true, false, true]);
  }
  expect(other.size).toBe(99);
  expect(other.add(key(7))).toBe(true);
  expect(other.delete(key(150))).toBe(true);
  expect([other.has(key(7)), other.hasBytes(bytes(150), 0), other.size]).toEqual([true, false, 99]);
  // The original is untouched by the other's edits.
  expect([main.has(key(150)), main.has(key(7)), main.size]).toEqual([false, true, 99]);
});
