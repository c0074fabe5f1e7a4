// The adaptive interval as the tracker runs it: counters and the event-loop lag in, the base interval of
// replies out, on a simulated clock (the controller's own smoothing and bounds are in
// test/core/adaptive-interval.test.ts). And over real sockets: the mode and interval in /api/stats and
// /metrics, and the ±10% jitter on replies.

import { describe, expect, test } from "bun:test";
import { Counters } from "../../src/frontend/counters.ts";
import { IntervalSource } from "../../src/frontend/settings.ts";
import { IntervalControl, TICK_MS } from "../../src/server/interval-control.ts";
import { LagMonitor } from "../../src/server/lag-monitor.ts";
import { decodeBencode } from "../../src/codec/bencode-decode.ts";
import { pct, sha1 } from "../helpers/http-client.ts";
import { startTestTracker } from "../helpers/in-process.ts";

const MIN = 600;
const MAX = 1800;

function setup(busyRate = 10_000) {
  const counters = new Counters();
  const control = new IntervalControl({ mode: "adaptive", minS: MIN, maxS: MAX, busyRate, counters, nowMs: 0 });
  const source = new IntervalSource(control.controller, MIN, 3000, Math.random);
  return { counters, source, control };
}

describe("IntervalControl on a simulated clock", () => {
  test("an idle tracker hands out the low bound; sustained traffic above the busy rate takes it to the high bound", () => {
    const { counters, source, control } = setup();
    expect(source.baseS).toBe(MIN);
    let t = 0;
    for (let s = 0; s < 600; s++) control.step((t += TICK_MS));
    expect(source.baseS).toBe(MIN);
    const seen: number[] = [];
    for (let s = 0; s < 4 * 3600; s++) {
      counters.udpAnnounce += 15_000; // 1.5x the busy rate
      control.step((t += TICK_MS));
      seen.push(source.baseS);
    }
    expect(source.baseS).toBe(MAX);
    // It only ever rose on the way (no overshoot and fall-back), and stayed in bounds.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    expect(Math.max(...seen)).toBeLessThanOrEqual(MAX);
  });

  test("a lagging event loop alone raises the interval, and it comes back down once the lag is gone", () => {
    const { source, control } = setup();
    let t = 0;
    for (let s = 0; s < 2 * 3600; s++) control.step((t += TICK_MS + 150)); // each tick 150 ms late: load 1.5
    expect(source.baseS).toBe(MAX);
    for (let s = 0; s < 4 * 3600; s++) control.step((t += TICK_MS));
    expect(source.baseS).toBe(MIN);
  });

  test("started, it steps on the lag monitor's tick with the lag that monitor measured (one lag timer)", () => {
    const { source, control } = setup();
    const lag = new LagMonitor();
    control.start(lag);
    let t = performance.now();
    // Ticks on time by the clock, but the monitor says each was 150 ms late: its figure is the one used.
    for (let s = 0; s < 2 * 3600; s++) lag.onTick!((t += TICK_MS), 150);
    expect(source.baseS).toBe(MAX);
    control.stop();
    expect(lag.onTick).toBeNull();
  });

  test("requests of every protocol count", () => {
    const { counters, source, control } = setup(1000);
    let t = 0;
    for (let s = 0; s < 4 * 3600; s++) {
      counters.httpAnnounce += 400;
      counters.wsAnnounce += 400;
      counters.udpScrape += 400;
      control.step((t += TICK_MS));
    }
    expect(source.baseS).toBe(MAX);
  });
});

describe("over real sockets", () => {
  test("adaptive mode: /api/stats and /metrics show the mode and the interval, replies carry it jittered", async () => {
    const t = await startTestTracker([
      "--udp-listen",
      "off",
      "--interval-mode",
      "adaptive",
      "--interval-secs",
      String(MAX),
      "--min-interval-secs",
      String(MIN),
    ]);
    try {
      const stats = (await (await fetch(`http://127.0.0.1:${t.httpPort}/api/stats`)).json()) as Record<string, unknown>;
      expect(stats).toMatchObject({ interval: MIN, interval_mode: "adaptive", interval_load: 0, min_interval: MIN });
      const metrics = await (await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).text();
      expect(metrics).toContain(`buntracker_announce_interval_seconds ${MIN}\n`);
      const r = await fetch(
        `http://127.0.0.1:${t.httpPort}/announce?info_hash=${pct(sha1("adaptive"))}&peer_id=-qB4650-000000000001&port=6881&left=0`,
      );
      const body = decodeBencode(new Uint8Array(await r.arrayBuffer())) as Record<string, number>;
      // Never below the min interval: at the low bound the jitter window shifts up.
      expect(body.interval).toBeWithin(MIN, MIN * 1.2 + 1);
      expect(body["min interval"]).toBe(MIN);
    } finally {
      await t.stop();
    }
  });

  test("fixed mode: every reply's interval is within ±10% of --interval-secs, and they differ", async () => {
    const t = await startTestTracker(["--udp-listen", "off"]);
    try {
      const seen = new Set<number>();
      for (let i = 0; i < 40; i++) {
        const r = await fetch(
          `http://127.0.0.1:${t.httpPort}/announce?info_hash=${pct(sha1("fixed"))}&peer_id=-qB4650-000000000001&port=${7000 + i}&left=0`,
        );
        const interval = (decodeBencode(new Uint8Array(await r.arrayBuffer())) as Record<string, number>).interval;
        expect(interval).toBeWithin(1620, 1981);
        seen.add(interval);
      }
      expect(seen.size).toBeGreaterThan(10);
      const stats = (await (await fetch(`http://127.0.0.1:${t.httpPort}/api/stats`)).json()) as Record<string, unknown>;
      expect(stats).toMatchObject({ interval: 1800, interval_mode: "fixed", interval_load: 0 });
    } finally {
      await t.stop();
    }
  });
});
