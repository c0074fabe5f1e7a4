// `cpu-cost`: tracker CPU time per response under the SAME fixed load for every target (issue 18's "CPU cost
// per response"). Each target is offered --udp-rate UDP requests/s (the reference workload's popularity curve,
// spread over --sockets sockets from --sources addresses) and --http-rate HTTP announces/s (the gamma choice of
// http-load.lua), below saturation, for --duration seconds; the tracker's utime + stime from /proc/PID/stat
// (every thread) over the measured period, divided by the responses it sent, is the figure. Unlike
// throughput it barely depends on what else the machine runs, and it carries to machines with more cores:
// the tracker that spends fewer CPU-microseconds per response serves more per core.
//
// Targets: ours-wN for each N of --workers, opentracker-wN likewise (its listen.udp.workers; its HTTP is one
// event loop whatever N), bun-ceiling-wN with --bun-ceiling, or any list with --start. Rounds are interleaved
// (target A, B, C, A, B, C, ...), medians reported; or, with --together, every target is loaded at the same
// time by its own generators, so two builds meet the same interference from other jobs (a paired measurement
// for a shared machine: run them on the same CPUs, e.g. trackers started by hand under one `taskset`, and
// give them with --targets). Nothing is pinned by default: threaded targets need every
// CPU, and CPU time per response does not need pinning. Defaults scale with the CPU count (generator
// processes and wrk threads), so the same command runs on a 16-core machine:
//   npm run bench -- cpu-cost --workers 1,2,4,16

import { availableParallelism } from "node:os";
import { type Options, type Specs, UsageError } from "./args.ts";
import { generatorSaturated, runHttp, writeHashFile } from "./http.ts";
import { nativeBinary } from "./native.ts";
import { fixed, int, median, progress, table } from "./report.ts";
import { parseTargets } from "./compare.ts";
import { parseKinds, TARGET_SPECS, withSession } from "./session.ts";
import { cpuSeconds, parseTargetSpec, type Target, type TargetSpec, targetThreads } from "./trackers.ts";
import { jsonLines, makeLoadPlan, runUdp, sourceList, WORKLOAD_SPECS, writeLoadPlan } from "./udp.ts";

const CPUS = availableParallelism();
/** One generator process (udp-gen) or wrk thread per 8 CPUs: about 200k UDP requests/s each. */
const GEN_DEFAULT = Math.max(1, Math.round(CPUS / 8));

export const CPU_COST_SPECS = {
  workers: { kind: "str", default: "1,2,4", help: "thread counts: ours-wN (--workers N) for each" },
  opentracker: {
    kind: "flag",
    default: Bun.which("opentracker") !== null,
    help: "also opentracker-wN (listen.udp.workers N) for each N; on when it is installed",
  },
  "bun-ceiling": { kind: "flag", help: "also bun-ceiling-wN: Bun's zero-work responder in N threads" },
  start: { kind: "str", default: "", help: "or exactly these targets (ours, ours-w2, opentracker-w2, ...)" },
  targets: {
    kind: "str",
    default: "",
    help: "or trackers already running: NAME=HOST:PORT@PID,... (NAME a target name like ours-w2 gets its ratios)",
  },
  together: {
    kind: "flag",
    help: "load all targets at the same time (each its own generators) instead of in turn: a paired measurement",
  },
  proto: { kind: "str", default: "udp,http", help: "udp, http or both" },
  rounds: { kind: "int", default: 3, min: 1, help: "rounds per target and protocol" },
  duration: { kind: "num", default: 10, min: 1, help: "measured seconds per round" },
  warmup: { kind: "num", default: 2, help: "seconds of the same load before each measurement" },
  "udp-rate": {
    kind: "num",
    default: 40_000,
    min: 1,
    help: "UDP requests/s offered (keep it below one worker's saturation to compare 1 and N workers)",
  },
  "http-rate": {
    kind: "num",
    default: 8_000,
    min: 1,
    help: "HTTP requests/s offered (opentracker takes a new connection per request: keep it low)",
  },
  "gen-procs": { kind: "int", default: GEN_DEFAULT, min: 1, help: "udp-gen processes sharing the UDP rate" },
  "wrk-threads": { kind: "int", default: GEN_DEFAULT, min: 1, help: "wrk threads" },
  sockets: { kind: "int", default: 64, min: 1, help: "UDP sockets in all (split over the generator processes)" },
  sources: { kind: "str", default: "16", help: "source addresses: a count (127.0.0.1..N) or a list" },
  inflight: { kind: "int", default: 32, min: 1, help: "most UDP requests in flight per socket" },
  connections: { kind: "int", default: 128, min: 1, help: "HTTP connections (keep-alive)" },
  "http-torrents": { kind: "int", default: 10_000, min: 1, help: "torrents the HTTP load announces to" },
  pin: { ...TARGET_SPECS.pin, default: "off" },
  "tracker-cpu": TARGET_SPECS["tracker-cpu"],
  "gen-cpu": TARGET_SPECS["gen-cpu"],
  "ot-udp-workers": TARGET_SPECS["ot-udp-workers"],
  "ours-args": TARGET_SPECS["ours-args"],
  json: TARGET_SPECS.json,
  ...WORKLOAD_SPECS,
} satisfies Specs;

type CpuCostOptions = Options<typeof CPU_COST_SPECS>;

interface Sample {
  target: string;
  proto: "udp" | "http";
  round: number;
  offered: number;
  /** Responses per second actually answered. */
  rate: number;
  cpuUsPerResponse: number;
  trackerCpuPercent: number;
  generatorCpuPercent: number;
  generatorThreads: number;
  /**
   * UDP: timeouts + error responses; HTTP: non-200 + failure reasons + timeouts (not read/write errors:
   * opentracker closes every connection, which wrk counts as such).
   */
  problems: number;
}

export function cpuCostTargets(
  o: Pick<CpuCostOptions, "start" | "targets" | "workers" | "opentracker" | "bun-ceiling">,
): TargetSpec[] {
  if (o.targets !== "") return [];
  if (o.start !== "") return parseKinds(o.start);
  const ns = o.workers
    .split(",")
    .filter((s) => s.trim() !== "")
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers: "${s}" is not a thread count`);
      return n;
    });
  if (ns.length === 0) throw new UsageError("--workers needs at least one count");
  const names = ns.map((n) => `ours-w${n}`);
  if (o.opentracker) names.push(...ns.map((n) => `opentracker-w${n}`));
  if (o["bun-ceiling"]) names.push(...ns.map((n) => `bun-ceiling-w${n}`));
  return names.map(parseTargetSpec);
}

export async function cpuCostCommand(o: CpuCostOptions): Promise<void> {
  const protos = o.proto.split(",").map((p) => p.trim());
  for (const p of protos) if (p !== "udp" && p !== "http") throw new UsageError("--proto: udp, http or udp,http");
  if (o.targets !== "" && o.start !== "") throw new UsageError("give --targets or --start, not both");
  const specs = cpuCostTargets(o);
  const external = o.targets === "" ? [] : parseTargets(o.targets);
  for (const t of external)
    if (t.pid === null) throw new UsageError(`--targets: ${t.name} needs @PID for its CPU time`);
  const udp = protos.includes("udp");
  const http = protos.includes("http");
  if (o["gen-procs"] > o.sockets) throw new UsageError("--gen-procs must not exceed --sockets");
  progress(`building the workload: ${int(o.torrents)} torrents, ${int(o.peers)} peers, seed ${o.seed} ...`);
  const plan = makeLoadPlan({ ...o, "scrape-max": 10 });
  const samples: Sample[] = [];
  await withSession("cpu-cost", { ...o, specs }, async (session) => {
    const targets: Target[] = [...external];
    for (const spec of specs) {
      targets.push(await session.start(spec, { hashes: plan.hashes, peers: o.peers, torrents: o.torrents }));
    }
    const planPath = await writeLoadPlan(plan, session.dir);
    const hashFile = http ? await writeHashFile(o.seed, o["http-torrents"], session.dir) : "";
    if (udp) {
      for (const t of targets) {
        progress(`prefill of ${t.name}: every peer announces once ...`);
        await runUdp({
          planPath,
          host: t.host,
          port: t.port,
          duration: 0.5,
          warmup: 0,
          sockets: o.sockets,
          inflight: o.inflight,
          mix: "0,100,1",
          numwant: 30,
          seederP: 0.75,
          sources: o.sources,
          timeoutMs: 1000,
          prefill: true,
          genPrefix: session.genPrefix,
          pid: null,
          quiet: true,
        });
      }
    }
    const keep = (s: Sample) => {
      samples.push(s);
      progress(`  ${sampleLine(s)}`);
    };
    for (let round = 1; round <= o.rounds; round++) {
      if (o.together) {
        if (udp)
          for (const s of await Promise.all(targets.map((t) => udpSample(o, t, round, planPath, session.genPrefix))))
            keep(s);
        if (http)
          for (const s of await Promise.all(targets.map((t) => httpSample(o, t, round, hashFile, session.genPrefix))))
            keep(s);
        continue;
      }
      for (const t of targets) {
        if (udp) keep(await udpSample(o, t, round, planPath, session.genPrefix));
        if (http) keep(await httpSample(o, t, round, hashFile, session.genPrefix));
      }
    }
    const named = targets.map((t) => {
      try {
        const spec = parseTargetSpec(t.name);
        return { name: t.name, kind: spec.kind as string, threads: targetThreads(spec, o["ot-udp-workers"]) };
      } catch {
        return { name: t.name, kind: "", threads: 0 }; // a name of the user's: no ratios
      }
    });
    report(o, named, samples, protos as ("udp" | "http")[]);
  });
}

async function udpSample(o: CpuCostOptions, t: Target, round: number, planPath: string, genPrefix: string[]) {
  if (t.pid === null) throw new Error(`${t.name}: no pid, so no CPU time`);
  const bin = await nativeBinary("udp-gen");
  const procs = o["gen-procs"];
  const sources = sourceList(o.sources).split(",");
  progress(`round ${round}: ${t.name} udp, ${int(o["udp-rate"])} requests/s offered for ${o.duration} s`);
  const runs = Array.from({ length: procs }, (_, g) => {
    // Each process its own share of sockets, sources and rate; all walk the same peers (a peer is keyed by
    // source address and port, so a peer seen from two processes' sources counts as two, as in the prefill).
    const mySources = sources.filter((_, i) => i % procs === g);
    const argv = [
      ...genPrefix,
      bin,
      "--plan",
      planPath,
      "--target",
      `${t.host}:${t.port}`,
      "--sources",
      (mySources.length > 0 ? mySources : sources).join(","),
      "--sockets",
      String(Math.max(1, Math.floor(o.sockets / procs))),
      "--inflight",
      String(o.inflight),
      "--duration",
      String(o.duration),
      "--warmup",
      String(o.warmup),
      "--rate",
      String(o["udp-rate"] / procs),
      "--seed",
      String((Date.now() + g * 7919) & 0x7fffffff),
    ];
    return Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  });
  // The tracker's CPU is read when the first generator's warm-up ends and when its measurement ends; the
  // others started within milliseconds of it, so their measured periods match to well under 1%.
  let cpuStart: number | null = null;
  let cpuEnd: number | null = null;
  let tStart = 0;
  let tEnd = 0;
  const summaries = await Promise.all(
    runs.map(async (proc, g) => {
      let summary: Record<string, number> | null = null;
      for await (const line of jsonLines<Record<string, number | string>>(proc)) {
        if (line.type === "ready" && g === 0) {
          setTimeout(() => {
            cpuStart = cpuSeconds(t.pid!);
            tStart = performance.now();
          }, o.warmup * 1000);
        } else if (line.type === "summary") {
          summary = line as Record<string, number>;
          if (cpuEnd === null) (cpuEnd = cpuSeconds(t.pid!)), (tEnd = performance.now());
        }
      }
      const code = await proc.exited;
      if (code !== 0 || summary === null)
        throw new Error(`udp-gen failed (exit ${code}): ${(await new Response(proc.stderr).text()).trim()}`);
      return summary as Record<string, number>;
    }),
  );
  if (cpuStart === null || cpuEnd === null) throw new Error(`${t.name}: the tracker's CPU could not be read`);
  const responses = summaries.reduce((a, s) => a + s.connect + s.announce + s.scrape + s.error, 0);
  const secs = median(summaries.map((s) => s.secs));
  const cpu = (cpuEnd as number) - (cpuStart as number);
  return {
    target: t.name,
    proto: "udp",
    round,
    offered: o["udp-rate"],
    rate: responses / secs,
    cpuUsPerResponse: (cpu * 1e6) / responses,
    trackerCpuPercent: (100 * cpu) / ((tEnd - tStart) / 1000),
    generatorCpuPercent: summaries.reduce((a, s) => a + Number(s.cpu_percent), 0),
    generatorThreads: procs,
    problems: summaries.reduce((a, s) => a + s.timeouts + s.error, 0),
  } satisfies Sample;
}

async function httpSample(o: CpuCostOptions, t: Target, round: number, hashFile: string, genPrefix: string[]) {
  if (t.pid === null) throw new Error(`${t.name}: no pid, so no CPU time`);
  progress(`round ${round}: ${t.name} http, ${int(o["http-rate"])} requests/s offered for ${o.duration} s`);
  const base = {
    host: t.host,
    port: t.port,
    pid: t.pid,
    connections: o.connections,
    threads: o["wrk-threads"],
    keepalive: "on",
    seederP: 0.25,
    hashFile,
    genPrefix,
    rate: o["http-rate"],
  };
  if (o.warmup > 0) await runHttp({ ...base, duration: o.warmup });
  const r = await runHttp({ ...base, duration: o.duration });
  const se = r.socketErrors;
  return {
    target: t.name,
    proto: "http",
    round,
    offered: o["http-rate"],
    rate: r.requestsPerSec,
    cpuUsPerResponse: ((r.trackerCpuSecs ?? NaN) * 1e6) / r.requests,
    trackerCpuPercent: r.trackerCpuPercent ?? NaN,
    generatorCpuPercent: r.generatorCpuPercent,
    generatorThreads: r.generatorThreads,
    problems: r.non200 + r.failures + se.connect + se.timeout,
  } satisfies Sample;
}

function sampleLine(s: Sample): string {
  return `round ${s.round} ${s.target} ${s.proto}: ${fixed(s.cpuUsPerResponse)} us CPU/response at ${int(s.rate)} responses/s (offered ${int(s.offered)}), tracker CPU ${fixed(s.trackerCpuPercent, 0)}%, generator CPU ${fixed(s.generatorCpuPercent, 0)}%, ${s.problems} timeouts/errors`;
}

function report(
  o: CpuCostOptions,
  specs: { name: string; kind: string; threads: number }[],
  samples: Sample[],
  protos: ("udp" | "http")[],
): void {
  const rows = protos.flatMap((proto) =>
    specs.map((spec) => {
      const ss = samples.filter((s) => s.proto === proto && s.target === spec.name);
      const cost = median(ss.map((s) => s.cpuUsPerResponse));
      const rate = median(ss.map((s) => s.rate));
      return {
        proto,
        target: spec.name,
        kind: spec.kind,
        threads: spec.threads,
        cost,
        min: Math.min(...ss.map((s) => s.cpuUsPerResponse)),
        max: Math.max(...ss.map((s) => s.cpuUsPerResponse)),
        rate,
        offered: ss[0]?.offered ?? NaN,
        problems: ss.reduce((a, s) => a + s.problems, 0),
        generatorCpu: median(ss.map((s) => s.generatorCpuPercent)),
        generatorThreads: ss[0]?.generatorThreads ?? 1,
      };
    }),
  );
  // Ratios: against ours with one thread, and against opentracker with the same thread count.
  const find = (proto: string, kind: string, threads: number) =>
    rows.find((r) => r.proto === proto && r.kind === kind && r.threads === threads);
  const withRatios = rows.map((r) => {
    const ours1 = find(r.proto, "ours", 1);
    const ot = find(r.proto, "opentracker", r.threads);
    return {
      ...r,
      vsOurs1: r.kind === "ours" && ours1 !== undefined ? r.cost / ours1.cost : NaN,
      vsOpentracker: r.kind === "ours" && ot !== undefined ? r.cost / ot.cost : NaN,
    };
  });
  if (o.json) {
    console.log(JSON.stringify({ cpus: CPUS, options: o, samples, summary: withRatios }));
    return;
  }
  console.log(
    `\ncpu-cost: ${o.rounds} rounds of ${o.duration} s (after ${o.warmup} s warm-up), ${o.together ? "all targets loaded together" : "interleaved"}; ${CPUS} CPUs; tracker CPU = utime + stime of all its threads\n`,
  );
  console.log(
    table([
      [
        "proto",
        "target",
        "median us CPU/response",
        "min",
        "max",
        "responses/s",
        "offered",
        "timeouts/errors",
        "vs ours-w1",
        "vs opentracker, same N",
      ],
      ...withRatios.map((r) => [
        r.proto,
        r.target,
        fixed(r.cost),
        fixed(r.min),
        fixed(r.max),
        int(r.rate),
        int(r.offered),
        String(r.problems),
        fixed(r.vsOurs1, 3),
        fixed(r.vsOpentracker, 3),
      ]),
    ]),
  );
  for (const r of withRatios) {
    // HTTP pacing runs a little under the offer even when the tracker keeps up: each connection's cycle is
    // its delay plus the response time. A larger shortfall means the target (or the machine) could not keep up.
    if (r.rate < (r.proto === "udp" ? 0.95 : 0.9) * r.offered)
      console.log(
        `${r.proto} ${r.target}: answered ${int(r.rate)} of ${int(r.offered)} requests/s offered: it (or the machine) did not keep up, so its cost is not at the same load`,
      );
    if (generatorSaturated(r.generatorCpu, r.generatorThreads))
      console.log(
        `${r.proto} ${r.target}: the generator used ${fixed(r.generatorCpu, 0)}% of ${r.generatorThreads} CPU(s): add --gen-procs / --wrk-threads`,
      );
  }
  if (protos.includes("http") && rows.some((r) => r.kind === "opentracker"))
    console.log(
      "(opentracker serves HTTP in its one event loop whatever its UDP workers, and closes every connection)",
    );
}
