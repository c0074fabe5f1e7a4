// docs/statistics.md's metrics table against a real /metrics: a tracker with every part that adds metrics (UDP,
// WebSocket, TLS, a state file, an admin listener) serves exactly the metrics the table lists, with the type the
// table gives. A metric added without a row, or a row left behind by a rename, fails here.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type MetricsTracker, startMetricsTracker } from "../helpers/metrics-tracker.ts";

const DOC = join(import.meta.dir, "..", "..", "docs", "statistics.md");

let metrics: MetricsTracker;
/** Metric name -> type, from the `# TYPE` lines of /metrics. */
let served: Map<string, string>;
let exposition: string;

beforeAll(async () => {
  metrics = await startMetricsTracker();
  exposition = metrics.exposition;
  served = new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
});

afterAll(() => metrics?.stop());

/** The table rows of docs/statistics.md whose first cell is a metric: name -> type (second cell). */
async function documented(): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  for (const m of (await readFile(DOC, "utf8")).matchAll(/^\| `((?:buntracker|process)_[a-z0-9_]+)` \| (\w+) \|/gm)) {
    expect(rows.has(m[1])).toBe(false); // one row each
    rows.set(m[1], m[2]);
  }
  return rows;
}

test("every metric /metrics serves has a row in docs/statistics.md, with its type", async () => {
  const rows = await documented();
  expect(served.size).toBeGreaterThan(30);
  const missing = [...served].filter(([name, type]) => rows.get(name) !== type).map(([n, t]) => `${n} (${t})`);
  expect(missing).toEqual([]);
});

test("every metric docs/statistics.md lists is served", async () => {
  const rows = await documented();
  expect([...rows.keys()].filter((name) => !served.has(name))).toEqual([]);
});

test("the operations metrics carry real values: build, process, lag, state file, certificate", () => {
  const value = (series: string) => {
    const line = exposition.split("\n").find((l) => l.startsWith(`${series} `));
    if (line === undefined) throw new Error(`no ${series} in\n${exposition}`);
    return Number(line.slice(series.length + 1));
  };
  const now = Date.now() / 1000;
  expect(exposition).toMatch(/^buntracker_build_info\{version="\d+\.\d+\.\d+[^"]*",commit="[^"]+"\} 1$/m);
  expect(exposition).not.toContain("buntracker_info{");
  expect(value("process_start_time_seconds")).toBeGreaterThan(now - 3600);
  expect(value("process_start_time_seconds")).toBeLessThanOrEqual(now);
  expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
  if (process.platform === "linux") {
    expect(value("process_open_fds")).toBeGreaterThan(3);
    expect(value("process_max_fds")).toBeGreaterThanOrEqual(value("process_open_fds"));
  }
  expect(value("buntracker_event_loop_lag_seconds")).toBeGreaterThanOrEqual(0);
  expect(value("buntracker_state_last_save_timestamp_seconds")).toBe(0); // no save yet: the first is 5 min away
  expect(value("buntracker_state_save_failures_total")).toBe(0);
  // makePair: valid 30 days from now.
  const expiry = value("buntracker_tls_certificate_expiry_timestamp_seconds");
  expect(Math.abs(expiry - (now + 30 * 86400))).toBeLessThan(3600);
  // One outcome vocabulary for every protocol.
  const outcomes = new Set(
    [...exposition.matchAll(/^buntracker_requests_total\{[^}]*outcome="(\w+)"/gm)].map((m) => m[1]),
  );
  expect([...outcomes].sort()).toEqual(["ok", "refused"]);
});
