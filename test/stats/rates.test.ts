import { expect, test } from "bun:test";
import { RateWindow } from "../../src/stats/rates.ts";

test("rates are the change in totals over the sliding window", () => {
  const w = new RateWindow(10);
  expect(w.perSecond()).toEqual([]);
  w.record(0, [0, 0]);
  expect(w.perSecond()).toEqual([0, 0]);
  for (let t = 1; t <= 20; t++) w.record(t, [t * 5, t < 15 ? 0 : (t - 14) * 2]);
  // The window now spans t=10..20: 50 per 10 s for the first total, 12 per 10 s for the second.
  const [a, b] = w.perSecond();
  expect(a).toBe(5);
  expect(b).toBeCloseTo(1.2, 5);
});
