// `udp`: one run of the BEP 15 load generator (udp-gen.c) against a target, following the reference
// methodology of performance-anchors.md §4.2/§6, and the report: responses/s (mean of 5 s windows), the split,
// peers per announce reply against what the workload should give, errors, timeouts, latency, CPU.

import type { Subprocess } from "bun";
import { join } from "node:path";
import type { Options, Specs } from "./args.ts";
import { nativeBinary } from "./native.ts";
import { fixed, int, mean, ms, progress, table } from "./report.ts";
import { externalTarget, parseKinds, TARGET_SPECS, withSession } from "./session.ts";
import { cpuSeconds, rssBytes, udpCounters } from "./trackers.ts";
import { expectedPeersPerAnnounce, liveTorrents, loadPlan, type Plan, writePlan } from "./workload.ts";

/** Workload options shared by udp, compare and the tracker launcher. */
export const WORKLOAD_SPECS = {
  torrents: { kind: "int", default: 1_000_000, min: 1, help: "torrents in the seeded set" },
  peers: { kind: "int", default: 2_000_000, min: 1, help: "peers (each announces one fixed torrent)" },
  seed: { kind: "int", default: 1, help: "seed of the torrent set and the peers" },
} satisfies Specs;

export const UDP_SPECS = {
  sockets: { kind: "int", default: 4, min: 1, help: "UDP sockets (each connect()ed, with its own connection id)" },
  inflight: { kind: "int", default: 32, min: 1, help: "requests in flight per socket" },
  mix: {
    kind: "str",
    default: "0,100,1",
    help: "request weights connect,announce,scrape (the reference default is 50,50,1)",
  },
  numwant: { kind: "int", default: 30, help: "num_want in announces" },
  "seeder-p": {
    kind: "num",
    default: 0.75,
    help: "probability an announce is completed+left 0 (else started+left 50)",
  },
  "scrape-max": { kind: "int", default: 10, min: 1, help: "each peer's scrape list has uniform(1..N) hashes" },
  sources: { kind: "str", default: "1", help: "source addresses: a count (127.0.0.1..N) or a list of IPv4 addresses" },
  "timeout-ms": { kind: "int", default: 1000, min: 1, help: "a request unanswered this long counts as a timeout" },
  prefill: {
    kind: "flag",
    default: true,
    help: "announce every peer once before measuring, so swarms are full (--prefill=off)",
  },
} satisfies Specs;

export interface UdpRunOptions {
  planPath: string;
  host: string;
  port: number;
  duration: number;
  warmup: number;
  sockets: number;
  inflight: number;
  mix: string;
  numwant: number;
  seederP: number;
  sources: string;
  timeoutMs: number;
  prefill: boolean;
  genPrefix: string[];
  /** Tracker pid: its CPU% over the measured period and RSS at the end are added when known. */
  pid: number | null;
  quiet: boolean;
}

interface Counts {
  secs: number;
  sent: number;
  connect: number;
  announce: number;
  scrape: number;
  error: number;
  peers: number;
  timeouts: number;
  late: number;
  bad: number;
  send_errors: number;
}

export interface UdpResult {
  responsesPerSec: number;
  announcesPerSec: number;
  scrapesPerSec: number;
  connectsPerSec: number;
  errorsPerSec: number;
  peersPerAnnounce: number;
  errors: number;
  firstError: string;
  timeouts: number;
  unansweredAtEnd: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  generatorCpuPercent: number;
  trackerCpuPercent: number | null;
  trackerRssBytes: number | null;
  measuredSecs: number;
  windows: number[];
  prefillSecs: number | null;
  prefillErrors: number;
  udpRcvbufErrors: number;
  udpSndbufErrors: number;
}

/** Expands "4" to 127.0.0.1,127.0.0.2,... and checks a list. */
export function sourceList(text: string): string {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < 1 || n > 254) throw new Error("--sources: a count from 1 to 254, or a list of addresses");
    return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`).join(",");
  }
  return text;
}

export function makeLoadPlan(o: { seed: number; torrents: number; peers: number; "scrape-max": number }): Plan {
  return loadPlan({ seed: o.seed, torrents: o.torrents, peers: o.peers, scrapeMax: o["scrape-max"] });
}

export async function writeLoadPlan(plan: Plan, dir: string): Promise<string> {
  const path = join(dir, "plan.bin");
  await writePlan(plan, path);
  return path;
}

/** The JSON lines a udp-gen process prints; the process is killed if the reader stops early (an error). */
export async function* jsonLines<T>(
  proc: Subprocess<"ignore" | "inherit" | "pipe", "pipe", "pipe">,
): AsyncGenerator<T> {
  let buffered = "";
  try {
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        yield JSON.parse(line) as T;
      }
    }
  } finally {
    if (proc.exitCode === null) proc.kill();
  }
}

/** Runs udp-gen once and gathers its JSON lines into a result. */
export async function runUdp(o: UdpRunOptions): Promise<UdpResult> {
  const bin = await nativeBinary("udp-gen");
  const argv = [
    ...o.genPrefix,
    bin,
    "--plan",
    o.planPath,
    "--target",
    `${o.host}:${o.port}`,
    "--sources",
    sourceList(o.sources),
    "--sockets",
    String(o.sockets),
    "--inflight",
    String(o.inflight),
    "--duration",
    String(o.duration),
    "--warmup",
    String(o.warmup),
    "--mix",
    o.mix,
    "--numwant",
    String(o.numwant),
    "--seeder-p",
    String(o.seederP),
    "--timeout-ms",
    String(o.timeoutMs),
    "--seed",
    String(Date.now() & 0x7fffffff),
    ...(o.prefill ? ["--prefill"] : []),
  ];
  const udp0 = udpCounters();
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const windows: number[] = [];
  let summary: (Counts & Record<string, number | string>) | null = null;
  let prefillSecs: number | null = null;
  let prefillErrors = 0;
  // Tracker CPU is sampled when the measured period starts (after prefill and warm-up) and at the end.
  let cpuMark: { t: number; cpu: number | null } = {
    t: performance.now(),
    cpu: o.pid === null ? null : cpuSeconds(o.pid),
  };
  const mark = () => (cpuMark = { t: performance.now(), cpu: o.pid === null ? null : cpuSeconds(o.pid) });
  for await (const line of jsonLines<Counts & Record<string, number | string | boolean>>(proc)) {
    if (line.type === "ready" && !o.prefill) mark();
    else if (line.type === "progress" && !o.quiet)
      progress(`  prefill: ${int(Number(line.answered))} of ${int(Number(line.total))} peers announced`);
    else if (line.type === "prefill") {
      prefillSecs = line.secs;
      prefillErrors = line.error;
      if (line.complete !== true) throw new Error(`prefill did not complete: ${JSON.stringify(line)}`);
      mark();
      if (!o.quiet) progress(`  prefill: ${int(Number(line.answered))} peers in ${fixed(line.secs, 1)} s`);
    } else if (line.type === "window") {
      const rps = (line.connect + line.announce + line.scrape + line.error) / line.secs;
      if (line.measured !== true) mark();
      // Only full windows count toward the mean (a last partial window is noisier).
      else if (line.secs >= 4.5 || windows.length === 0) windows.push(rps);
      if (!o.quiet)
        progress(
          `  ${line.measured ? "" : "(warm-up) "}${int(rps)} responses/s, ${fixed(line.peers / Math.max(1, line.announce))} peers/announce, ${line.error} errors, ${line.timeouts} timeouts`,
        );
    } else if (line.type === "summary") summary = line as Counts & Record<string, number | string>;
  }
  const code = await proc.exited;
  if (code !== 0 || summary === null)
    throw new Error(`udp-gen failed (exit ${code}): ${(await new Response(proc.stderr).text()).trim()}`);
  const s = summary;
  const udp1 = udpCounters();
  const trackerCpu = o.pid === null ? null : cpuSeconds(o.pid);
  const elapsed = (performance.now() - cpuMark.t) / 1000;
  const total = s.connect + s.announce + s.scrape + s.error;
  return {
    // If the last window was partial and dropped, the full ones remain; with no full window use the totals.
    responsesPerSec: windows.length > 0 ? mean(windows) : total / s.secs,
    announcesPerSec: s.announce / s.secs,
    scrapesPerSec: s.scrape / s.secs,
    connectsPerSec: s.connect / s.secs,
    errorsPerSec: s.error / s.secs,
    peersPerAnnounce: s.announce > 0 ? s.peers / s.announce : 0,
    errors: s.error,
    firstError: String(s.first_error),
    timeouts: s.timeouts,
    unansweredAtEnd: Number(s.inflight_at_end),
    latencyUs: { p50: Number(s.p50_us), p90: Number(s.p90_us), p99: Number(s.p99_us), max: Number(s.max_us) },
    generatorCpuPercent: Number(s.cpu_percent),
    trackerCpuPercent:
      trackerCpu === null || cpuMark.cpu === null ? null : (100 * (trackerCpu - cpuMark.cpu)) / elapsed,
    trackerRssBytes: o.pid === null ? null : rssBytes(o.pid),
    measuredSecs: s.secs,
    windows,
    prefillSecs,
    prefillErrors,
    udpRcvbufErrors: (udp1.RcvbufErrors ?? 0) - (udp0.RcvbufErrors ?? 0),
    udpSndbufErrors: (udp1.SndbufErrors ?? 0) - (udp0.SndbufErrors ?? 0),
  };
}

export function udpReport(label: string, r: UdpResult, expected: number, live: number): string {
  const rows = [
    ["responses/s (mean of 5 s windows)", int(r.responsesPerSec)],
    ["  announces/s", int(r.announcesPerSec)],
    ["  scrapes/s", int(r.scrapesPerSec)],
    ["  connects/s", int(r.connectsPerSec)],
    ["  error responses/s", int(r.errorsPerSec)],
    ["peers per announce reply", `${fixed(r.peersPerAnnounce)} (workload at steady state: ${fixed(expected)})`],
    ["error responses (action 3)", `${r.errors}${r.firstError ? ` (first: "${r.firstError}")` : ""}`],
    ["timeouts / unanswered at end", `${r.timeouts} / ${r.unansweredAtEnd}`],
    [
      "latency p50 / p90 / p99 / max",
      `${ms(r.latencyUs.p50)} / ${ms(r.latencyUs.p90)} / ${ms(r.latencyUs.p99)} / ${ms(r.latencyUs.max)}`,
    ],
    ["generator CPU", `${fixed(r.generatorCpuPercent, 0)}%`],
  ];
  if (r.trackerCpuPercent !== null) rows.push(["tracker CPU", `${fixed(r.trackerCpuPercent, 0)}%`]);
  if (r.trackerRssBytes !== null) rows.push(["tracker RSS at end", `${(r.trackerRssBytes / 1048576).toFixed(1)} MiB`]);
  rows.push(["kernel UDP RcvbufErrors / SndbufErrors", `${r.udpRcvbufErrors} / ${r.udpSndbufErrors}`]);
  rows.push(["measured", `${fixed(r.measuredSecs, 1)} s, windows: ${r.windows.map((w) => int(w)).join(", ")}`]);
  if (r.prefillSecs !== null)
    rows.push(["prefill", `${fixed(r.prefillSecs, 1)} s, ${r.prefillErrors} error responses`]);
  rows.push(["torrents with peers", int(live)]);
  return `${label}\n${table(rows)}`;
}

export function expectedFor(plan: Plan, numwant: number): { expected: number; live: number } {
  return { expected: expectedPeersPerAnnounce(plan, numwant), live: liveTorrents(plan) };
}

export const UDP_COMMAND_SPECS = {
  ...TARGET_SPECS,
  duration: { kind: "num", default: 30, min: 0.1, help: "measured seconds" },
  warmup: { kind: "num", default: 0, help: "seconds of load before measuring (after the prefill)" },
  ceiling: {
    kind: "flag",
    help: "measure the generator's ceiling: run against the trivial responder (same as --start trivial)",
  },
  ...WORKLOAD_SPECS,
  ...UDP_SPECS,
} satisfies Specs;

export async function udpCommand(o: Options<typeof UDP_COMMAND_SPECS>): Promise<void> {
  const startKind = o.ceiling ? "trivial" : o.start;
  progress(`building the workload: ${int(o.torrents)} torrents, ${int(o.peers)} peers, seed ${o.seed} ...`);
  const plan = makeLoadPlan(o);
  const { expected, live } = expectedFor(plan, o.numwant);
  const specs = startKind === "" ? [] : parseKinds(startKind);
  await withSession("udp", { ...o, specs }, async (session) => {
    const planPath = await writeLoadPlan(plan, session.dir);
    const target =
      startKind !== ""
        ? await session.start(specs[0], { hashes: plan.hashes, peers: o.peers, torrents: o.torrents })
        : externalTarget("target", o.target, o.pid);
    progress(
      `udp: ${target.host}:${target.port}, ${o.duration} s${o.warmup > 0 ? ` after ${o.warmup} s warm-up` : ""}, ${o.sockets} sockets x ${o.inflight} in flight, mix ${o.mix}`,
    );
    const r = await runUdp({
      ...udpRunOptions(o, session.genPrefix),
      planPath,
      host: target.host,
      port: target.port,
      pid: target.pid,
      quiet: o.json,
    });
    const label = o.ceiling ? "generator ceiling (trivial responder)" : `udp against ${startKind || o.target}`;
    if (o.json)
      console.log(
        JSON.stringify({
          label,
          target: `${target.host}:${target.port}`,
          expectedPeersPerAnnounce: expected,
          liveTorrents: live,
          ...r,
        }),
      );
    else console.log(udpReport(label, r, expected, live));
  });
}

/** The runner options that come straight from the command line. */
export function udpRunOptions(
  o: Options<typeof UDP_SPECS> & { duration: number; warmup: number },
  genPrefix: string[],
) {
  return {
    duration: o.duration,
    warmup: o.warmup,
    sockets: o.sockets,
    inflight: o.inflight,
    mix: o.mix,
    numwant: o.numwant,
    seederP: o["seeder-p"],
    sources: o.sources,
    timeoutMs: o["timeout-ms"],
    prefill: o.prefill,
    genPrefix,
  };
}
