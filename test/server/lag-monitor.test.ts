// The event-loop lag monitor behind the admin /healthz: a real stall shows, and stays visible for a few seconds.
import { expect, test } from "bun:test";
import { Faults } from "../../src/server/faults.ts";
import { LAG_TICK_MS, LagMonitor } from "../../src/server/lag-monitor.ts";
import { Logger } from "../../src/server/logger.ts";

test("a blocked event loop shows as lag, in every interval mode (nothing else has to run)", async () => {
  const lag = new LagMonitor();
  lag.start(new Faults(new Logger("error", () => {})));
  try {
    expect(lag.worstMs).toBe(0);
    // A stall past the first tick's time: that tick fires about 300 ms late.
    const until = performance.now() + LAG_TICK_MS + 300;
    while (performance.now() < until) {}
    const deadline = performance.now() + 5 * LAG_TICK_MS;
    while (lag.worstMs < 150 && performance.now() < deadline) await Bun.sleep(20); // the late tick runs now
    expect(lag.worstMs).toBeGreaterThan(150);
    expect(lag.worstMs).toBeLessThan(2000);
  } finally {
    lag.stop();
  }
});

test("the worst of the last ten ticks counts; older ones drop out", () => {
  const lag = new LagMonitor();
  lag.record(800);
  for (let i = 0; i < 9; i++) lag.record(5);
  expect(lag.worstMs).toBe(800);
  lag.record(5);
  expect(lag.worstMs).toBe(5);
});
