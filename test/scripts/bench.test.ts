// The benchmark tools (scripts/bench) run for real on small workloads: the CLI as a user runs it, against our
// tracker and the trivial responders it starts itself, over real UDP sockets. Numbers are not judged (the
// machine may be busy), only that the tools measure what they claim: replies counted, no errors, peers per
// announce consistent with the workload, a fill that the tracker's scrape counts confirm peer for peer.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseOptions, UsageError } from "../../scripts/bench/args.ts";
import { parseTargetSpec } from "../../scripts/bench/trackers.ts";
import {
  AliasTable,
  expectedPeersPerAnnounce,
  fillCount,
  fillPlan,
  loadPlan,
  Rng,
  torrentHashes,
} from "../../scripts/bench/workload.ts";

const MAIN = join(import.meta.dir, "..", "..", "scripts", "bench", "main.ts");

/** Runs `bench ARGS --json --pin off` and returns the parsed JSON it printed. */
async function bench(args: string[]): Promise<Record<string, any>> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args, "--json", "--pin", "off"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`bench ${args.join(" ")} exited ${code}:\n${out}\n${err}`);
  return JSON.parse(out);
}

const SMALL = ["--torrents", "1000", "--peers", "2000"];

describe("workload", () => {
  test("the torrent set is seeded and prefix-stable (a big whitelist covers every smaller workload)", () => {
    const big = torrentHashes(7, 1000);
    expect(torrentHashes(7, 1000)).toEqual(big);
    expect(torrentHashes(7, 10)).toEqual(big.subarray(0, 200));
    expect(torrentHashes(8, 10)).not.toEqual(big.subarray(0, 200));
  });

  test("the popularity curve gives about 21.5 peers per announce, as the reference workload does", () => {
    // Same shape as the 1M/2M default at a tenth of the size (the curve scales with the torrent count).
    const plan = loadPlan({ seed: 1, torrents: 100_000, peers: 200_000, scrapeMax: 10 });
    const expected = expectedPeersPerAnnounce(plan, 30);
    expect(expected).toBeGreaterThan(21);
    expect(expected).toBeLessThan(22.2);
    for (let p = 0; p < 1000; p++) {
      const n = plan.scrapeOff[p + 1] - plan.scrapeOff[p];
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(10);
    }
  });

  test("the alias table samples in proportion to the weights", () => {
    const table = new AliasTable(new Float64Array([1, 3, 0, 6]));
    const rng = new Rng(3);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[table.sample(rng)]++;
    expect(counts[2]).toBe(0);
    expect(counts[0] / 100_000).toBeCloseTo(0.1, 1);
    expect(counts[3] / 100_000).toBeCloseTo(0.6, 1);
  });

  test("the fill gives every peer of a torrent its own (source, port) and spreads peers evenly", () => {
    const plan = fillPlan(1, 10, 1003, 4, 8);
    const seen = new Set<string>();
    const perTorrent = new Array(10).fill(0);
    for (let j = 0; j < 1003; j++) {
      const key = `${plan.torrent[j]}/${plan.socket[j] % 4}/${plan.port[j]}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
      perTorrent[plan.torrent[j]]++;
    }
    expect(perTorrent).toEqual(perTorrent.map((_, t) => fillCount(10, 1003, t)));
  });
});

describe("options", () => {
  const specs = { peers: { kind: "int", default: 5, min: 1, help: "" }, json: { kind: "flag", help: "" } } as const;

  test("values, defaults and flags", () => {
    expect(parseOptions("x", specs, [])).toEqual({ peers: 5, json: false });
    expect(parseOptions("x", specs, ["--peers", "2_000", "--json"])).toEqual({ peers: 2000, json: true });
    expect(parseOptions("x", specs, ["--peers=3", "--json=off"])).toEqual({ peers: 3, json: false });
  });

  test("bad input is a usage error naming the option", () => {
    expect(() => parseOptions("x", specs, ["--peers", "0"])).toThrow(UsageError);
    expect(() => parseOptions("x", specs, ["--peers", "1.5"])).toThrow("--peers");
    expect(() => parseOptions("x", specs, ["--nope"])).toThrow("unknown option --nope");
  });
});

describe("targets", () => {
  test("KIND-wN names a thread count; single-threaded kinds and unknown names are refused", () => {
    expect(parseTargetSpec("ours-w2")).toEqual({ kind: "ours", workers: 2, name: "ours-w2" });
    expect(parseTargetSpec("opentracker")).toEqual({ kind: "opentracker", workers: null, name: "opentracker" });
    expect(parseTargetSpec("bun-ceiling-w16")).toEqual({ kind: "bun-ceiling", workers: 16, name: "bun-ceiling-w16" });
    expect(parseTargetSpec("trivial-bun")).toEqual({ kind: "trivial-bun", workers: null, name: "trivial-bun" });
    expect(() => parseTargetSpec("trivial-w2")).toThrow("single-threaded");
    expect(() => parseTargetSpec("ours-w0")).toThrow("1 <= N");
    expect(() => parseTargetSpec("aquatic")).toThrow('unknown target "aquatic"');
  });
});

describe("bench CLI over real sockets", () => {
  test("udp against the trivial responder: every announce answered with its 21 fixed peers", async () => {
    const r = await bench(["udp", "--ceiling", "--duration", "0.5", ...SMALL]);
    expect(r.responsesPerSec).toBeGreaterThan(0);
    expect(r.errors).toBe(0);
    expect(r.timeouts).toBe(0);
    expect(r.peersPerAnnounce).toBe(21);
    expect(r.scrapesPerSec).toBeGreaterThan(0); // the 0/100/1 mix sends a scrape now and then
  });

  test("udp against our tracker: replies, no errors, peers per announce within what the swarms hold", async () => {
    const r = await bench(["udp", "--start", "ours", "--duration", "1", "--mix", "10,100,5", ...SMALL]);
    expect(r.announcesPerSec).toBeGreaterThan(0);
    expect(r.connectsPerSec).toBeGreaterThan(0);
    expect(r.scrapesPerSec).toBeGreaterThan(0);
    expect(r.errors).toBe(0);
    expect(r.timeouts).toBe(0);
    expect(r.prefillSecs).not.toBeNull();
    expect(r.prefillErrors).toBe(0);
    // Never more than the swarms allow; well above zero once the prefill has stored every peer. (Our tracker
    // gives seeders only leechers, so it returns fewer than a tracker that hands everyone everyone.)
    expect(r.peersPerAnnounce).toBeLessThanOrEqual(r.expectedPeersPerAnnounce + 0.5);
    expect(r.peersPerAnnounce).toBeGreaterThan(r.expectedPeersPerAnnounce / 4);
    expect(r.trackerCpuPercent).toBeGreaterThan(0);
    expect(r.trackerRssBytes).toBeGreaterThan(0);
  });

  test("compare: one round each against two targets, medians and ratios", async () => {
    const r = await bench(["compare", "--start", "ours,trivial", "--rounds", "1", "--duration", "0.5", ...SMALL]);
    expect(r.rounds.map((x: { target: string }) => x.target)).toEqual(["ours", "trivial"]);
    for (const s of r.summary) {
      expect(s.median).toBeGreaterThan(0);
      expect(s.errors).toBe(0);
    }
    expect(r.ratios.map((x: { label: string }) => x.label)).toEqual(["trivial/ours", "ours/trivial"]);
    expect(r.ratios[0].ratio * r.ratios[1].ratio).toBeCloseTo(1, 6);
  });

  test("memory: a 20k-peer fill of our tracker is confirmed peer for peer by scrapes, and again after a restart", async () => {
    const r = await bench([
      "memory",
      "--start",
      "ours",
      "--peers",
      "20000",
      "--torrents",
      "1000",
      "--sources",
      "4",
      "--sockets",
      "4",
      "--sample",
      "0",
      "--idle-secs",
      "0.2",
      "--after-secs",
      "0.3",
      "--probe-rate",
      "40",
      "--restart",
    ]);
    // The restart restored every peer from the state file, and timed and measured it.
    expect(r.restart.scrape).toEqual({ torrents: 1000, expected: 20000, seen: 20000, mismatched: 0, unanswered: 0 });
    expect(r.restart.trackerCount).toBe(20000);
    expect(r.restart.fileBytes).toBeGreaterThan(20000 * 12);
    expect(r.restart.healthzSecs).toBeGreaterThan(0);
    expect(r.restart.healthzCpuSecs).toBeGreaterThan(0);
    expect(r.restart.peakRssBytes).toBeGreaterThanOrEqual(r.restart.rssBytes);
    expect(r.fillComplete).toBe(true);
    expect(r.fillErrors).toBe(0);
    expect(r.scrape).toEqual({ torrents: 1000, expected: 20000, seen: 20000, mismatched: 0, unanswered: 0 });
    expect(r.trackerCount).toBe(20000);
    expect(r.rssAfterBytes).toBeGreaterThan(0);
    expect(typeof r.bytesPerPeer).toBe("number");
    expect(r.probeDuring.answered + r.probeAfter.answered).toBeGreaterThan(0);
    expect(r.probeDuring.errors + r.probeAfter.errors).toBe(0);
  }, 60_000);

  test("restore: a state file written in-process is restored whole by a started tracker", async () => {
    const r = await bench(["restore", "--peers", "20000", "--torrents", "1000", "--idle-secs", "0.2"]);
    expect([r.restoredPeers, r.restoredTorrents]).toEqual([20000, 1000]);
    expect(r.fileBytes).toBeGreaterThan(20000 * 12);
    expect(r.healthzCpuSecs).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeGreaterThanOrEqual(r.rssBytes);
  });

  // Debian's opentracker refuses to run as root and is dropped to a user with runuser, so this needs both.
  const otUsable = existsSync("/usr/bin/opentracker") && process.getuid?.() === 0;
  test.skipIf(!otUsable)("memory against opentracker (whitelist written, readiness waits for it)", async () => {
    const r = await bench([
      "memory",
      "--start",
      "opentracker",
      "--peers",
      "20000",
      "--torrents",
      "1000",
      "--sources",
      "4",
      "--sockets",
      "4",
      "--sample",
      "0",
      "--idle-secs",
      "0.2",
      "--after-secs",
      "0.2",
      "--probe-rate",
      "0",
    ]);
    expect(r.fillComplete).toBe(true);
    expect(r.fillErrors).toBe(0);
    expect(r.scrape.seen).toBe(20000);
    expect(r.scrape.mismatched).toBe(0);
  });

  test("cpu-cost offers the same fixed load to each target and divides its CPU time by the responses", async () => {
    const r = await bench([
      "cpu-cost",
      "--start",
      "ours,bun-ceiling-w2",
      "--rounds",
      "1",
      "--duration",
      "2",
      "--warmup",
      "0",
      "--udp-rate",
      "3000",
      "--http-rate",
      "1000",
      "--connections",
      "16",
      ...SMALL,
    ]);
    expect(r.summary.map((x: { proto: string; target: string }) => `${x.proto} ${x.target}`)).toEqual([
      "udp ours",
      "udp bun-ceiling-w2",
      "http ours",
      "http bun-ceiling-w2",
    ]);
    for (const s of r.summary) {
      // Paced, not as fast as the target can: within 15% of what was offered (3,000 UDP, 1,000 HTTP per s).
      expect(s.rate).toBeGreaterThan(0.85 * s.offered);
      expect(s.rate).toBeLessThan(1.15 * s.offered);
      expect(s.cost).toBeGreaterThan(0);
      expect(s.problems).toBe(0);
    }
    expect(r.summary[0].vsOurs1).toBe(1);
  }, 60_000);

  test("cpu-cost --together loads every target at once, each at the offered rate", async () => {
    const r = await bench([
      "cpu-cost",
      "--start",
      "ours,trivial-bun",
      "--together",
      "--proto",
      "udp",
      "--rounds",
      "1",
      "--duration",
      "2",
      "--warmup",
      "0",
      "--udp-rate",
      "3000",
      ...SMALL,
    ]);
    expect(r.summary.map((x: { target: string }) => x.target)).toEqual(["ours", "trivial-bun"]);
    for (const s of r.summary) {
      expect(s.rate).toBeGreaterThan(0.85 * 3000);
      expect(s.rate).toBeLessThan(1.15 * 3000);
      expect(s.cost).toBeGreaterThan(0);
    }
  }, 60_000);

  test("bun-ceiling-w2 answers from two threads on one port", async () => {
    const r = await bench(["udp", "--start", "bun-ceiling-w2", "--duration", "1", ...SMALL]);
    expect(r.errors).toBe(0);
    expect(r.timeouts).toBe(0);
    expect(r.peersPerAnnounce).toBe(21);
    expect(r.trackerCpuPercent).toBeGreaterThan(0);
  });

  test("a bad option exits 2 with one line", async () => {
    const proc = Bun.spawn([process.execPath, MAIN, "udp", "--peers", "many"], { stdout: "pipe", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(err.trim()).toBe('bench: udp: invalid --peers "many": must be an integer >= 1');
  });
});

describe("access-list", () => {
  test("a small list: start, memory, admin requests and a reload are all measured", async () => {
    const proc = Bun.spawn([process.execPath, MAIN, "access-list", "--lines", "3000", "--repeat", "1"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    for (const line of [
      "list: 3000 lines",
      "start: ",
      "start CPU: ",
      "B per listed hash",
      "admin GET lookup",
      "admin GET page",
      "admin POST",
      "admin DELETE",
      "reload: done",
      "peak (VmHWM)",
    ]) {
      expect(out).toContain(line);
    }
  }, 60_000);
});
