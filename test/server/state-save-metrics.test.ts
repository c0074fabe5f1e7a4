// What /metrics says about state file saves (buntracker_state_*): a save that works sets the last save time
// and counts; one that fails (its folder gone) counts as a failure and leaves the last save time as it was, so
// the example alert (time since the last save) fires.
import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { Logger } from "../../src/server/logger.ts";
import { StateFile } from "../../src/server/state-file.ts";

let dir: string | null = null;
afterEach(async () => {
  if (dir !== null) await rm(dir, { recursive: true, force: true });
});

test("a save sets the last save time; a failed one counts as a failure and leaves it", async () => {
  dir = await mkdtemp(join(tmpdir(), "buntracker-state-metrics-"));
  const store = new Store({ peerTimeoutS: 3000, random: xoshiro128(new Uint32Array([1, 2, 3, 4])) });
  const warnings: string[] = [];
  const state = new StateFile(join(dir, "state.bin"), store, new Logger("warn", (l) => warnings.push(l)));
  expect([state.saves, state.saveFailures, state.lastSaveAt]).toEqual([0, 0, 0]);
  const before = Math.floor(Date.now() / 1000);
  await state.save();
  expect(state.saves).toBe(1);
  expect(state.saveFailures).toBe(0);
  expect(state.lastSaveAt).toBeGreaterThanOrEqual(before);
  expect(state.lastSaveAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  const saved = state.lastSaveAt;
  await rm(dir, { recursive: true, force: true }); // the folder is gone: the next save cannot be written
  await state.save();
  expect(state.saves).toBe(1);
  expect(state.saveFailures).toBe(1);
  expect(state.lastSaveAt).toBe(saved);
  expect(warnings.join("\n")).toContain("state: cannot write the state file");
});
