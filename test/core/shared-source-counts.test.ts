import { afterEach, describe, expect, test } from "bun:test";
import { xoshiro128 } from "../../src/core/random.ts";
import { SharedSourceCounts } from "../../src/core/shared-source-counts.ts";
import { SourceCounts } from "../../src/core/source-quota.ts";
import { startWorker, type TestWorker } from "../helpers/workers.ts";
import { sourceKey } from "./fixtures/source-keys.ts";

let workers: TestWorker[] = [];
afterEach(() => {
  for (const w of workers) w.terminate();
  workers = [];
});

describe("SharedSourceCounts", () => {
  test("counts as SourceCounts does, through growth and deletions, and frees every slot it used", () => {
    const shared = new SharedSourceCounts(SharedSourceCounts.memory(100_000, 42));
    const model = new SourceCounts();
    const random = xoshiro128(new Uint32Array([5, 6, 7, 8]));
    // 30,000 sources, few enough keys that counts climb and fall to 0 over and over.
    for (let i = 0; i < 300_000; i++) {
      const key = sourceKey(Math.floor(random() * 30_000));
      const op = random();
      if (op < 0.5) {
        shared.add(key);
        model.add(key);
      } else if (op < 0.6) expect(shared.tryAdd(key, 3)).toBe(model.tryAdd(key, 3));
      else {
        shared.remove(key);
        model.remove(key);
      }
    }
    expect(shared.size).toBe(model.size);
    for (let n = 0; n < 30_000; n++) expect(shared.get(sourceKey(n))).toBe(model.get(sourceKey(n)));
    for (let n = 0; n < 30_000; n++) while (shared.get(sourceKey(n)) > 0) shared.remove(sourceKey(n));
    expect(shared.size).toBe(0);
    shared.remove(sourceKey(1)); // not there: nothing happens
    shared.remove(-1); // (a WebRTC peer without an owner)
    expect(shared.size).toBe(0);
  });

  test("tryAdd stops at the limit; another source is unaffected", () => {
    const counts = new SharedSourceCounts(SharedSourceCounts.memory(10, 1));
    for (let i = 0; i < 3; i++) expect(counts.tryAdd(sourceKey(1), 3)).toBe(true);
    expect(counts.tryAdd(sourceKey(1), 3)).toBe(false);
    expect(counts.get(sourceKey(1))).toBe(3);
    expect(counts.tryAdd(sourceKey(2), 3)).toBe(true);
    expect(counts.size).toBe(2);
  });

  test("two Workers counting the same sources at once, while the table grows, leave exact counts", async () => {
    const memory = SharedSourceCounts.memory(100_000, 7);
    const gate = new SharedArrayBuffer(8);
    workers = [0, 1].map(() => startWorker(new URL("./fixtures/source-counts-worker.ts", import.meta.url)));
    for (const w of workers) w.post({ memory, gate, keys: 20_000, rounds: 3 });
    for (const w of workers) expect(await w.next()).toBe("ready");
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    for (const w of workers) expect(await w.next()).toBe("done");
    const counts = new SharedSourceCounts(memory);
    expect(counts.size).toBe(20_000);
    let wrong = 0;
    for (let n = 0; n < 20_000; n++) if (counts.get(sourceKey(n)) !== 2) wrong++;
    expect(wrong).toBe(0);
    // The table grew from its 4,096 slots to hold them, in every thread's view.
    expect(memory.byteLength).toBeGreaterThan(4096 * 12 * 8);
    for (const w of workers) w.post("drop");
    for (const w of workers) expect(await w.next()).toBe("dropped");
    expect(counts.size).toBe(0);
  });

  test("rejects memory it did not make", () => {
    expect(() => new SharedSourceCounts(new SharedArrayBuffer(1 << 20))).toThrow(RangeError);
  });
});
