// The one place components register their stop (src/server/lifecycle.ts): reverse order, every step run even
// when one fails or hangs, each failure logged once, and a second stop waits for the first.

import { expect, test } from "bun:test";
import { Lifecycle } from "../../src/server/lifecycle.ts";
import { Logger } from "../../src/server/logger.ts";

function lifecycle() {
  const logs: string[] = [];
  return { life: new Lifecycle(new Logger("info", (l) => logs.push(l))), logs };
}

test("steps stop in reverse order of registration", async () => {
  const { life } = lifecycle();
  const order: string[] = [];
  for (const name of ["state", "access", "listeners", "udp"]) life.add(name, () => void order.push(name));
  await life.stop();
  expect(order).toEqual(["udp", "listeners", "access", "state"]);
});

test("a failing step is logged and the steps after it still run", async () => {
  const { life, logs } = lifecycle();
  const order: string[] = [];
  life.add("state file (final save)", () => void order.push("state"));
  life.add("statistics", async () => {
    throw new Error("disk full");
  });
  life.add("listeners", () => void order.push("listeners"));
  await life.stop();
  expect(order).toEqual(["listeners", "state"]);
  expect(logs.filter((l) => l.includes('"stop: a step failed; going on"'))).toHaveLength(1);
  expect(logs[0]).toContain('"step":"statistics"');
  expect(logs[0]).toContain('"err":"disk full"');
});

test("a step that hangs is abandoned after its bound; the final save still runs", async () => {
  const { life, logs } = lifecycle();
  let saved = false;
  life.add("state file (final save)", () => {
    saved = true;
  });
  life.add("HTTP listeners", () => new Promise(() => {}), 50);
  const started = performance.now();
  await life.stop();
  expect(saved).toBe(true);
  expect(performance.now() - started).toBeLessThan(2000);
  expect(
    logs.some(
      (l) => l.includes('"stop: a step took too long; going on without it"') && l.includes('"step":"HTTP listeners"'),
    ),
  ).toBe(true);
});

test("stop twice: one run of each step, and the second call waits for the first", async () => {
  const { life } = lifecycle();
  let runs = 0;
  let release!: () => void;
  life.add("slow", () => new Promise<void>((r) => (release = () => ((runs += 1), r()))));
  const first = life.stop();
  const second = life.stop();
  await Promise.resolve();
  release();
  await Promise.all([first, second]);
  expect(runs).toBe(1);
  expect(() => life.add("late", () => {})).toThrow(/already stopping/);
});
