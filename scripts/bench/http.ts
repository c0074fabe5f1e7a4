// `http`: HTTP announce load with wrk (C, LuaJIT; Debian's /usr/bin/wrk) and the Lua script http-load.lua.
// wrk rather than a Bun client: a Bun client would cost about what Bun.serve costs per request, so it would
// measure itself against our tracker (the benchmarking guidance in performance-anchors.md §5 says the same).
//
// The torrent set is the first --torrents (10,000) hashes of the seeded set, so one opentracker whitelist of
// the UDP workload covers it. Note opentracker closes every connection after one response, keep-alive or not.

import { dirname, join } from "node:path";
import { type Options, type Specs, UsageError } from "./args.ts";
import { fixed, int, ms, progress, table } from "./report.ts";
import { externalTarget, parseKinds, TARGET_SPECS, withSession } from "./session.ts";
import { cpuSeconds, rssBytes } from "./trackers.ts";
import { torrentHashes } from "./workload.ts";

export const HTTP_SPECS = {
  connections: { kind: "int", default: 128, min: 1, help: "open connections, one request in flight on each" },
  threads: { kind: "int", default: 1, min: 1, help: "wrk threads (1 fits the one generator CPU of profile A)" },
  keepalive: {
    kind: "str",
    default: "on",
    help: "on, or off to send Connection: close (a new connection per request)",
  },
  "http-torrents": { kind: "int", default: 10_000, min: 1, help: "torrents the HTTP load announces to (gamma-chosen)" },
  "http-seeder-p": { kind: "num", default: 0.25, help: "probability an announce is left=0&event=completed" },
} satisfies Specs;

export const HTTP_COMMAND_SPECS = {
  ...TARGET_SPECS,
  duration: { kind: "num", default: 30, min: 1, help: "measured seconds (whole seconds for wrk)" },
  warmup: { kind: "num", default: 0, help: "seconds of load before measuring (a separate wrk run)" },
  ceiling: { kind: "flag", help: "run against the trivial responder instead: the generator's ceiling" },
  seed: { kind: "int", default: 1, help: "seed of the torrent set" },
  ...HTTP_SPECS,
} satisfies Specs;

export interface HttpResult {
  requestsPerSec: number;
  requests: number;
  non200: number;
  failures: number;
  peersPerAnnounce: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  generatorCpuPercent: number;
  /** wrk threads: generatorCpuPercent can reach 100 per thread. */
  generatorThreads: number;
  trackerCpuPercent: number | null;
  /** Tracker CPU seconds over the run, all threads (/proc/PID/stat), when the pid is known. */
  trackerCpuSecs: number | null;
  trackerRssBytes: number | null;
  measuredSecs: number;
}

export interface HttpRunOptions {
  host: string;
  port: number;
  duration: number;
  connections: number;
  threads: number;
  keepalive: string;
  seederP: number;
  /** File of percent-encoded hashes, one per line (writeHashFile). */
  hashFile: string;
  genPrefix: string[];
  pid: number | null;
  /** Offered requests/s, paced by wrk's delay() (cpu-cost); 0 or absent: as fast as the tracker answers. */
  rate?: number;
}

/** A generator busier than this share of its threads' CPUs is the limit of the run, not the tracker. */
export const GENERATOR_SATURATED = 0.9;

/** Whether wrk (or udp-gen) used nearly all of the CPUs it may: its rate then says little of the tracker's. */
export function generatorSaturated(cpuPercent: number, threads = 1): boolean {
  return cpuPercent >= GENERATOR_SATURATED * 100 * threads;
}

/** wrk calls delay() before every request once a script defines it, so paced runs get it from a wrapper. */
async function pacedScript(dir: string, intervalMs: number, port: number): Promise<string> {
  const path = join(dir, `http-load-paced-${port}.lua`); // one per target: cpu-cost --together runs several wrk
  await Bun.write(
    path,
    `dofile(${JSON.stringify(join(import.meta.dir, "http-load.lua"))})
` +
      `function delay() return math.floor(2 * interval_ms * math.random() + 0.5) end -- mean ${intervalMs} ms
`,
  );
  return path;
}

export async function writeHashFile(seed: number, torrents: number, dir: string): Promise<string> {
  const hashes = torrentHashes(seed, torrents);
  const lines: string[] = [];
  for (let i = 0; i < torrents; i++) {
    lines.push(Array.from(hashes.subarray(i * 20, i * 20 + 20), (b) => "%" + b.toString(16).padStart(2, "0")).join(""));
  }
  const path = join(dir, "http-hashes.txt");
  await Bun.write(path, lines.join("\n") + "\n");
  return path;
}

export async function runHttp(o: HttpRunOptions): Promise<HttpResult> {
  const wrk = Bun.which("wrk");
  if (wrk === null) throw new Error("wrk is not installed (Debian: apt-get install wrk)");
  if (o.keepalive !== "on" && o.keepalive !== "off") throw new UsageError("--keepalive must be on or off");
  const secs = Math.max(1, Math.round(o.duration));
  const rate = o.rate ?? 0;
  const intervalMs = rate > 0 ? (o.connections * 1000) / rate : 0;
  const script =
    rate > 0 ? await pacedScript(dirname(o.hashFile), intervalMs, o.port) : join(import.meta.dir, "http-load.lua");
  const argv = [
    ...o.genPrefix,
    wrk,
    "-t",
    String(Math.min(o.threads, o.connections)),
    "-c",
    String(o.connections),
    "-d",
    `${secs}s`,
    "--timeout",
    "2s",
    "-s",
    script,
    `http://${o.host}:${o.port}/announce`,
    "--",
    o.hashFile,
    o.keepalive,
    String(o.seederP),
    String(intervalMs),
  ];
  const cpu0 = o.pid === null ? null : cpuSeconds(o.pid);
  const t0 = performance.now();
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const elapsed = (performance.now() - t0) / 1000;
  const line = out.split("\n").find((l) => l.startsWith("BENCH-JSON "));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}):\n${out}${err}`);
  const r = JSON.parse(line.slice("BENCH-JSON ".length));
  const usage = proc.resourceUsage();
  const measured = r.duration_us / 1e6;
  const cpu1 = o.pid === null ? null : cpuSeconds(o.pid);
  return {
    requestsPerSec: r.requests / measured,
    requests: r.requests,
    non200: r.non200,
    failures: r.failures,
    peersPerAnnounce: r.announces > 0 ? r.peers / r.announces : 0,
    socketErrors: r.socket_errors,
    latencyUs: { p50: r.p50_us, p90: r.p90_us, p99: r.p99_us, max: r.max_us },
    generatorCpuPercent: usage === undefined ? NaN : Number(usage.cpuTime.total) / 1e4 / elapsed,
    generatorThreads: Math.min(o.threads, o.connections),
    trackerCpuPercent: cpu0 === null || cpu1 === null ? null : (100 * (cpu1 - cpu0)) / elapsed,
    trackerCpuSecs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
    trackerRssBytes: o.pid === null ? null : rssBytes(o.pid),
    measuredSecs: measured,
  };
}

export function httpReport(label: string, r: HttpResult): string {
  const se = r.socketErrors;
  const rows = [
    ["requests/s", int(r.requestsPerSec)],
    ["requests", int(r.requests)],
    ["non-200 responses", String(r.non200)],
    ["bencoded failure reasons", String(r.failures)],
    ["socket errors connect/read/write/timeout", `${se.connect}/${se.read}/${se.write}/${se.timeout}`],
    ["peers per announce reply", fixed(r.peersPerAnnounce)],
    [
      "latency p50 / p90 / p99 / max",
      `${ms(r.latencyUs.p50)} / ${ms(r.latencyUs.p90)} / ${ms(r.latencyUs.p99)} / ${ms(r.latencyUs.max)}`,
    ],
    [
      "generator (wrk) CPU",
      `${fixed(r.generatorCpuPercent, 0)}%${generatorSaturated(r.generatorCpuPercent, r.generatorThreads) ? " (SATURATED: wrk is the limit, the rate is a lower bound)" : ""}`,
    ],
  ];
  if (r.trackerCpuPercent !== null) rows.push(["tracker CPU", `${fixed(r.trackerCpuPercent, 0)}%`]);
  if (r.trackerRssBytes !== null) rows.push(["tracker RSS at end", `${(r.trackerRssBytes / 1048576).toFixed(1)} MiB`]);
  rows.push(["measured", `${fixed(r.measuredSecs, 1)} s`]);
  return `${label}\n${table(rows)}`;
}

export function httpRunOptions(o: Options<typeof HTTP_SPECS>, duration: number, hashFile: string, genPrefix: string[]) {
  return {
    duration,
    connections: o.connections,
    threads: o.threads,
    keepalive: o.keepalive,
    seederP: o["http-seeder-p"],
    hashFile,
    genPrefix,
  };
}

export async function httpCommand(o: Options<typeof HTTP_COMMAND_SPECS>): Promise<void> {
  const startKind = o.ceiling ? "trivial" : o.start;
  const specs = startKind === "" ? [] : parseKinds(startKind);
  await withSession("http", { ...o, specs }, async (session) => {
    const hashFile = await writeHashFile(o.seed, o["http-torrents"], session.dir);
    const target =
      startKind !== ""
        ? await session.start(specs[0], {
            hashes: torrentHashes(o.seed, o["http-torrents"]),
            peers: 1_000_000,
            torrents: o["http-torrents"],
          })
        : externalTarget("target", o.target, o.pid);
    const base = { host: target.host, port: target.port, pid: target.pid };
    if (o.warmup > 0) {
      progress(`warm-up ${o.warmup} s ...`);
      await runHttp({ ...base, ...httpRunOptions(o, o.warmup, hashFile, session.genPrefix) });
    }
    progress(
      `http: ${target.host}:${target.port}, ${o.duration} s, ${o.connections} connections, keep-alive ${o.keepalive}`,
    );
    const r = await runHttp({ ...base, ...httpRunOptions(o, o.duration, hashFile, session.genPrefix) });
    const label = o.ceiling ? "HTTP generator ceiling (trivial responder)" : `http against ${startKind || o.target}`;
    console.log(
      o.json ? JSON.stringify({ label, target: `${target.host}:${target.port}`, ...r }) : httpReport(label, r),
    );
  });
}
