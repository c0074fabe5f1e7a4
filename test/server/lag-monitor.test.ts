// The event-loop lag monitor behind /metrics and the admin /healthz: a real stall shows, and stays visible for a
// few seconds.
import { expect, test } from "bun:test";
import { Faults } from "../../src/server/faults.ts";
import { LAG_TICK_MS, LagMonitor, WINDOW_TICKS } from "../../src/server/lag-monitor.ts";
import { Logger } from "../../src/server/logger.ts";
import { startTestTracker } from "../helpers/in-process.ts";

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

test("the worst of the last few ticks counts; older ones drop out", () => {
  const lag = new LagMonitor();
  lag.record(800);
  for (let i = 0; i < WINDOW_TICKS - 1; i++) lag.record(5);
  expect(lag.worstMs).toBe(800);
  lag.record(5);
  expect(lag.worstMs).toBe(5);
});

test("/metrics shows a stall as event-loop lag, without --admin-listen and in fixed mode", async () => {
  const t = await startTestTracker(["--udp-listen", "off", "--interval-mode", "fixed"]);
  try {
    const lagSeconds = async () => {
      const text = await (await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).text();
      return Number(/^buntracker_event_loop_lag_seconds (\S+)$/m.exec(text)![1]);
    };
    const until = performance.now() + LAG_TICK_MS + 300;
    while (performance.now() < until) {}
    const deadline = performance.now() + 5 * LAG_TICK_MS;
    while (t.lag.worstMs < 150 && performance.now() < deadline) await Bun.sleep(20);
    expect(await lagSeconds()).toBeGreaterThan(0.15);
  } finally {
    await t.stop();
  }
});
