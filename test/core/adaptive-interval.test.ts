// The adaptive announce interval, driven by a simulated clock and simulated load: bounds, smoothing (no
// overshoot, no flapping), lag as a load signal, jitter, and a closed loop with simulated clients.

import { describe, expect, test } from "bun:test";
import { AdaptiveInterval, FixedInterval, JITTER_FRACTION, jittered } from "../../src/core/adaptive-interval.ts";
import { Prng } from "../../scripts/lib/prng.ts";

const MIN = 900;
const MAX = 1800;
const BUSY = 1000; // requests per second that count as fully busy
const BUSY_LAG = 100; // ms
const BAND = (MAX - MIN) * JITTER_FRACTION;
const T0 = 1_700_000_000;

const controller = (extra: Partial<ConstructorParameters<typeof AdaptiveInterval>[0]> = {}) =>
  new AdaptiveInterval({ minS: MIN, maxS: MAX, busyRate: BUSY, busyLagMs: BUSY_LAG, ...extra }, T0);

/** Ticks `c` every `step` seconds for `seconds`, from `start`; load(t) gives [rate, lag]. Returns every output. */
function drive(
  c: AdaptiveInterval,
  start: number,
  seconds: number,
  load: (t: number) => [number, number],
  step = 1,
): number[] {
  const out: number[] = [];
  for (let t = step; t <= seconds; t += step) {
    const [rate, lag] = load(start + t);
    out.push(c.tick(start + t, rate, lag));
  }
  return out;
}

function reversals(xs: number[]): number {
  let dir = 0;
  let n = 0;
  for (let i = 1; i < xs.length; i++) {
    const d = Math.sign(xs[i] - xs[i - 1]);
    if (d === 0) continue;
    if (dir !== 0 && d !== dir) n++;
    dir = d;
  }
  return n;
}

/** Total distance moved. */
function travel(xs: number[]): number {
  let sum = 0;
  for (let i = 1; i < xs.length; i++) sum += Math.abs(xs[i] - xs[i - 1]);
  return sum;
}

const HOUR = 3600;

describe("AdaptiveInterval", () => {
  test("an idle tracker stays at the low bound, light noisy load included", () => {
    const c = controller();
    const rnd = new Prng(1);
    // Up to 20% of busy by rate and lag (below the quiet load of 25%), for a day.
    const out = drive(c, T0, 24 * HOUR, () => [rnd.next() * 0.2 * BUSY, rnd.next() * 0.2 * BUSY_LAG]);
    expect(out.every((x) => x === MIN)).toBe(true);
    expect(c.load).toBeLessThan(0.25);
  });

  test("sustained heavy load moves the interval to the high bound, and it stays there", () => {
    const c = controller();
    const out = drive(c, T0, 6 * HOUR, () => [3 * BUSY, 5]);
    const reached = out.indexOf(MAX);
    expect(reached).toBeGreaterThan(0);
    // Not instantly: the average needs a good part of a client cycle (smoothing is half the high bound).
    expect(reached).toBeGreaterThan(300);
    expect(reached).toBeLessThan(2 * HOUR);
    expect(out.slice(reached).every((x) => x === MAX)).toBe(true);
  });

  test("the bounds are never crossed, whatever the readings and the clock do", () => {
    const c = controller({ initialS: 5000 });
    expect(c.intervalS).toBe(MAX); // an out-of-range start is clamped too
    const rnd = new Prng(2);
    const wild = [0, -5, NaN, Infinity, -Infinity, 1e12, BUSY, BUSY * 0.6];
    let now = T0;
    for (let i = 0; i < 50_000; i++) {
      now += rnd.chance(0.05) ? -rnd.int(100) : rnd.chance(0.01) ? rnd.int(100_000) : rnd.int(20);
      const x = c.tick(now, wild[rnd.int(wild.length)], wild[rnd.int(wild.length)]);
      expect(x).toBeGreaterThanOrEqual(MIN);
      expect(x).toBeLessThanOrEqual(MAX);
      expect(Number.isFinite(x)).toBe(true);
    }
  });

  test("a step in load converges monotonically, without overshoot, and a step back returns to the low bound", () => {
    const c = controller();
    const mid = 0.625 * BUSY; // the mapping puts load 0.625 half-way: 1350 s
    const goal = c.targetFor(0.625);
    expect(goal).toBe(1350);
    const up = drive(c, T0, 8 * HOUR, () => [mid, 1]);
    for (let i = 1; i < up.length; i++) expect(up[i]).toBeGreaterThanOrEqual(up[i - 1]);
    expect(Math.max(...up)).toBeLessThanOrEqual(goal);
    expect(up[up.length - 1]).toBeGreaterThanOrEqual(goal - BAND);

    const down = drive(c, T0 + 8 * HOUR, 8 * HOUR, () => [0, 0]);
    for (let i = 1; i < down.length; i++) expect(down[i]).toBeLessThanOrEqual(down[i - 1]);
    expect(down[down.length - 1]).toBe(MIN);
  });

  test("a noisy load around a level does not make the interval flap", () => {
    const c = controller();
    const rnd = new Prng(3);
    // Mean load 0.625 (the middle of the mapping), ±60% second to second, plus lag spikes now and then.
    const noisy = (): [number, number] => [0.625 * BUSY * (0.4 + 1.2 * rnd.next()), rnd.chance(0.01) ? 400 : 2];
    drive(c, T0, 4 * HOUR, noisy); // settle
    const settled = drive(c, T0 + 4 * HOUR, 24 * HOUR, noisy);
    expect(reversals(settled)).toBe(0);
    // Resting anywhere within the dead band of the level is by design; wandering is not.
    expect(travel(settled)).toBeLessThanOrEqual(2 * BAND);
    expect(Math.abs(settled[settled.length - 1] - c.targetFor(0.625))).toBeLessThanOrEqual(2 * BAND);
  });

  test("a load that crosses the quiet threshold back and forth every few minutes does not flap either", () => {
    const c = controller();
    // Square wave between load 0.15 and 0.45 (around the 0.25 threshold), period 10 minutes.
    const out = drive(c, T0, 24 * HOUR, (t) => [(Math.floor((t - T0) / 300) % 2 === 0 ? 0.15 : 0.45) * BUSY, 1]);
    expect(reversals(out)).toBe(0);
    // It settles where the average load (0.3) says, give or take the dead band.
    expect(Math.abs(out[out.length - 1] - c.targetFor(0.3))).toBeLessThanOrEqual(BAND);
  });

  test("event-loop lag alone raises the interval", () => {
    const c = controller();
    const out = drive(c, T0, 6 * HOUR, () => [0, 2 * BUSY_LAG]);
    expect(out[out.length - 1]).toBe(MAX);
    const half = controller();
    drive(half, T0, 8 * HOUR, () => [0, 0.625 * BUSY_LAG]);
    expect(Math.abs(half.intervalS - 1350)).toBeLessThanOrEqual(BAND);
  });

  test("the interval moves at most (max - min) / slewS per second, even with fast smoothing or a long gap", () => {
    const c = controller({ smoothingS: 1, slewS: 600 });
    const perS = (MAX - MIN) / 600;
    let prev = c.intervalS;
    let now = T0;
    for (const dt of [1, 1, 5, 1, 30, 1, 1, 200, 1, 1, 1, 1000]) {
      now += dt;
      const x = c.tick(now, 5 * BUSY, 0);
      expect(x - prev).toBeLessThanOrEqual(perS * dt + 1e-9);
      expect(x).toBeGreaterThan(prev); // and does move, so the bound is what held it
      prev = x;
      if (x === MAX) break;
    }
  });

  test("the tick rate does not change the trajectory", () => {
    const every1 = controller();
    const every10 = controller();
    const load = (t: number): [number, number] => [(t - T0 < HOUR ? 0.9 : 0.1) * BUSY, 1];
    const a = drive(every1, T0, 3 * HOUR, load, 1);
    const b = drive(every10, T0, 3 * HOUR, load, 10);
    for (let i = 0; i < b.length; i++) expect(Math.abs(b[i] - a[i * 10 + 9])).toBeLessThanOrEqual(BAND / 2);
    expect(Math.max(...a)).toBeGreaterThan(MIN + 3 * BAND); // it did move, so the comparison means something
  });

  test("a closed loop with clients that obey the interval settles instead of ringing", () => {
    // 8,437 simulated clients, each announcing again after the (jittered) interval it was last given. The
    // mapping's equilibrium for that population is 1350 s (load 0.625 at 10 requests/s busy).
    const rnd = new Prng(4);
    const c = new AdaptiveInterval({ minS: MIN, maxS: MAX, busyRate: 10, busyLagMs: BUSY_LAG }, 0);
    const horizon = 16 * HOUR;
    const due = new Int32Array(horizon + 2 * MAX);
    for (let i = 0; i < 8437; i++) due[rnd.int(MIN)]++;
    const trace: number[] = [];
    for (let t = 0; t < horizon; t++) {
      for (let k = 0; k < due[t]; k++) due[t + jittered(c.intervalS, () => rnd.next(), MIN, MAX)]++;
      trace.push(c.tick(t + 1, due[t], 1));
    }
    const secondHalf = trace.slice(horizon / 2);
    expect(reversals(secondHalf)).toBe(0);
    expect(Math.max(...secondHalf) - Math.min(...secondHalf)).toBeLessThanOrEqual(BAND);
    expect(Math.abs(secondHalf[secondHalf.length - 1] - 1350)).toBeLessThanOrEqual(BAND);
  });

  test("refuses bounds that make no sense", () => {
    expect(() => new AdaptiveInterval({ minS: 100, maxS: 50, busyRate: 1, busyLagMs: 1 }, 0)).toThrow(RangeError);
    expect(() => new AdaptiveInterval({ minS: 0, maxS: 50, busyRate: 1, busyLagMs: 1 }, 0)).toThrow(RangeError);
    expect(() => new AdaptiveInterval({ minS: 10, maxS: 50, busyRate: 0, busyLagMs: 1 }, 0)).toThrow(RangeError);
  });
});

describe("FixedInterval", () => {
  test("is the configured interval whatever the load", () => {
    const f = new FixedInterval(1800);
    expect(f.tick(T0, 1e9, 1e9)).toBe(1800);
    expect(f.intervalS).toBe(1800);
    expect(f.mode).toBe("fixed");
  });
});

describe("jittered", () => {
  const sample = (n: number, interval: number, lo: number, hi: number, seed = 5) => {
    const rnd = new Prng(seed);
    return Array.from({ length: n }, () => jittered(interval, () => rnd.next(), lo, hi));
  };

  test("stays within ±10%, whole seconds, spread over the window and centred", () => {
    const xs = sample(20_000, 1800, 900, 3000);
    expect(xs.every((x) => Number.isInteger(x) && x >= 1620 && x <= 1980)).toBe(true);
    expect(new Set(xs).size).toBeGreaterThan(300);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean - 1800)).toBeLessThan(5);
    expect(Math.min(...xs)).toBeLessThan(1630);
    expect(Math.max(...xs)).toBeGreaterThan(1970);
  });

  test("never goes below the low bound nor above the high one; the window is moved, not cut", () => {
    const low = sample(20_000, 900, 900, 3000);
    expect(Math.min(...low)).toBe(900);
    expect(Math.max(...low)).toBeLessThanOrEqual(1080);
    // Moved inside: still spread out, no pile-up on the bound.
    expect(low.filter((x) => x === 900).length / low.length).toBeLessThan(0.01);
    expect(Math.max(...low)).toBeGreaterThan(1070);

    const high = sample(20_000, 1800, 900, 1800);
    expect(Math.max(...high)).toBe(1800);
    expect(Math.min(...high)).toBeGreaterThanOrEqual(1440);
    expect(high.filter((x) => x === 1800).length / high.length).toBeLessThan(0.01);
  });

  test("a window wider than the bounds allow fills the bounds", () => {
    const xs = sample(5000, 100, 95, 104);
    expect(Math.min(...xs)).toBe(95);
    expect(Math.max(...xs)).toBe(104);
  });

  test("the extremes of the random source map to the window's ends", () => {
    expect(jittered(1000, () => 0, 1, 5000)).toBe(900);
    expect(jittered(1000, () => 0.9999999, 1, 5000)).toBe(1100);
    expect(jittered(1000, () => 0.5, 1, 5000)).toBe(1000);
  });

  test("varies between calls", () => {
    expect(new Set(sample(100, 600, 300, 3000)).size).toBeGreaterThan(50);
  });
});
