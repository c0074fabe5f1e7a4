import { describe, expect, test } from "bun:test";
import { TREND_INTERVAL_S, TREND_RETENTION_S, type TrendSample, TrendStore } from "../../src/stats/trends.ts";

const sample = (t: number, peers = 1): TrendSample => ({
  t,
  torrents: 1,
  peers,
  seeders: 0,
  leechers: peers,
  clients: { qBittorrent: peers },
});
const T0 = 1_800_000_000 - (1_800_000_000 % TREND_INTERVAL_S);

describe("TrendStore", () => {
  test("keeps one sample per 10-minute bucket, the latest winning", () => {
    const s = new TrendStore();
    s.add(sample(T0 + 5, 1));
    s.add(sample(T0 + 300, 2));
    s.add(sample(T0 + TREND_INTERVAL_S, 3));
    expect(s.all().map((x) => x.peers)).toEqual([2, 3]);
  });
  test("drops samples older than 7 days", () => {
    const s = new TrendStore();
    s.add(sample(T0));
    s.add(sample(T0 + TREND_INTERVAL_S));
    s.add(sample(T0 + TREND_RETENTION_S + TREND_INTERVAL_S));
    expect(s.all().map((x) => x.t)).toEqual([T0 + TREND_INTERVAL_S, T0 + TREND_RETENTION_S + TREND_INTERVAL_S]);
  });
  test("loads unsorted, duplicated history into order, within retention", () => {
    const s = new TrendStore();
    s.load([sample(T0 + 1200), sample(T0 - TREND_RETENTION_S - 1), sample(T0, 1), sample(T0 + 1, 9)], T0 + 1200);
    expect(s.all().map((x) => [x.t, x.peers])).toEqual([
      [T0 + 1, 9],
      [T0 + 1200, 1],
    ]);
  });
  test("a sample from a clock that stepped back still lands in order", () => {
    const s = new TrendStore();
    s.add(sample(T0 + 2 * TREND_INTERVAL_S));
    s.add(sample(T0));
    expect(s.all().map((x) => x.t)).toEqual([T0, T0 + 2 * TREND_INTERVAL_S]);
  });
  test("hasBucketOf tells whether the latest sample covers a time's bucket", () => {
    const s = new TrendStore();
    expect(s.hasBucketOf(T0)).toBe(false);
    s.add(sample(T0 + 10));
    expect(s.hasBucketOf(T0 + TREND_INTERVAL_S - 1)).toBe(true);
    expect(s.hasBucketOf(T0 + TREND_INTERVAL_S)).toBe(false);
  });
  test("since() selects a range", () => {
    const s = new TrendStore();
    for (let i = 0; i < 10; i++) s.add(sample(T0 + i * TREND_INTERVAL_S));
    expect(s.since(T0 + 7 * TREND_INTERVAL_S)).toHaveLength(3);
  });
});
