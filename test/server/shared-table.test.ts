// The lock-protected table the threads share for WebSocket limits (src/server/workers/shared-table.ts): a
// random run of sets and removes on a small table (long clusters, wrapping at the end) agrees with a Map at
// every step, and a purge leaves exactly the entries it did not pick.

import { expect, test } from "bun:test";
import { SharedTable } from "../../src/server/workers/shared-table.ts";

const SLOTS = 64;

function keyed(t: SharedTable, k: number): SharedTable {
  t.key[0] = k;
  t.key[1] = k * 7;
  return t;
}

test("sets, gets and removes agree with a Map, through collisions and wrap-around", () => {
  const t = new SharedTable(SharedTable.memory(SLOTS, 2), 2, 0);
  const model = new Map<number, number>();
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  t.locked(() => {
    for (let step = 0; step < 20_000; step++) {
      const k = random(80);
      if (random(3) === 0) {
        keyed(t, k).remove();
        model.delete(k);
      } else {
        const value = 1 + random(1000);
        const stored = keyed(t, k).set(value);
        // Refused only when the key is new and the table is at its load limit.
        expect(stored).toBe(model.has(k) || model.size < SLOTS * 0.75);
        if (stored) model.set(k, value);
      }
      if (step % 97 === 0) for (let q = 0; q < 80; q++) expect(keyed(t, q).get()).toBe(model.get(q) ?? 0);
    }
    expect(t.size).toBe(model.size);
    t.purge((value) => value % 2 === 0);
    for (let q = 0; q < 80; q++) {
      const v = model.get(q);
      expect(keyed(t, q).get()).toBe(v === undefined || v % 2 === 0 ? 0 : v);
    }
  });
});

test("a lock left held by a thread that died is taken over: at once by its successor, after a while by others", () => {
  const memory = SharedTable.memory(SLOTS, 2);
  const lock = new Int32Array(memory);
  lock[0] = 2; // thread 1 died holding it
  let started = performance.now();
  expect(new SharedTable(memory, 2, 1).locked(() => 42)).toBe(42); // thread 1, started again
  expect(performance.now() - started).toBeLessThan(100);
  expect(lock[0]).toBe(0);
  lock[0] = 2;
  started = performance.now();
  expect(new SharedTable(memory, 2, 0).locked(() => 7)).toBe(7); // thread 0, after STALE_LOCK_MS
  expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  expect(lock[0]).toBe(0);
});
