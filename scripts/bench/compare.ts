// `compare`: alternate rounds between targets (A, B, A, B, ...), the same seeded workload for all, then the
// medians and the ratios. Interleaving spreads slow drifts of a shared machine (another job, thermal, page
// cache) over every target instead of charging them to whichever ran last (performance-anchors.md §4.6).
// Trackers keep their state between rounds, so from round 2 on every target is at steady state; with the
// prefill (UDP, on by default) round 1 already is.

import { type Options, type Specs, UsageError } from "./args.ts";
import { generatorSaturated, type HttpResult, HTTP_SPECS, httpRunOptions, runHttp, writeHashFile } from "./http.ts";
import { fixed, int, median, ms, progress, table } from "./report.ts";
import { parseKinds, TARGET_SPECS, withSession } from "./session.ts";
import { parseHostPort, type Target, type TargetSpec } from "./trackers.ts";
import {
  expectedFor,
  makeLoadPlan,
  runUdp,
  UDP_SPECS,
  udpRunOptions,
  type UdpResult,
  WORKLOAD_SPECS,
  writeLoadPlan,
} from "./udp.ts";
import { torrentHashes } from "./workload.ts";

export const COMPARE_SPECS = {
  targets: {
    kind: "str",
    default: "",
    help: "NAME=HOST:PORT[@PID],... to measure (PID adds the tracker's CPU% and RSS)",
  },
  start: { kind: "str", default: "", help: "or start them here: a list of ours, opentracker, trivial, trivial-bun" },
  proto: { kind: "str", default: "udp", help: "udp or http" },
  rounds: { kind: "int", default: 5, min: 1, help: "rounds per target" },
  duration: { kind: "num", default: 30, min: 0.1, help: "measured seconds per round (HTTP: whole seconds)" },
  warmup: { kind: "num", default: 0, help: "seconds of load before each round's measurement" },
  pin: TARGET_SPECS.pin,
  "tracker-cpu": TARGET_SPECS["tracker-cpu"],
  "gen-cpu": TARGET_SPECS["gen-cpu"],
  "ot-udp-workers": TARGET_SPECS["ot-udp-workers"],
  "ours-args": TARGET_SPECS["ours-args"],
  json: TARGET_SPECS.json,
  ...WORKLOAD_SPECS,
  ...UDP_SPECS,
  ...HTTP_SPECS,
} satisfies Specs;

interface Round {
  round: number;
  target: string;
  rate: number;
  result: UdpResult | HttpResult;
}

/** NAME=HOST:PORT[@PID],... : trackers already running. */
export function parseTargets(text: string): Target[] {
  return text
    .split(",")
    .filter((s) => s !== "")
    .map((item) => {
      const eq = item.indexOf("=");
      if (eq <= 0) throw new Error(`--targets: expected NAME=HOST:PORT[@PID], got "${item}"`);
      const [addr, pid] = item.slice(eq + 1).split("@");
      const { host, port } = parseHostPort(addr);
      return {
        name: item.slice(0, eq),
        host,
        port,
        pid: pid === undefined ? null : Number(pid),
        stop: async () => {},
        output: () => "",
      };
    });
}

export async function compareCommand(o: Options<typeof COMPARE_SPECS>): Promise<void> {
  if (o.proto !== "udp" && o.proto !== "http") throw new UsageError("--proto must be udp or http");
  if ((o.targets === "") === (o.start === "")) throw new UsageError("give either --targets or --start");
  const udp = o.proto === "udp";
  progress(`building the workload: ${int(o.torrents)} torrents, ${int(o.peers)} peers, seed ${o.seed} ...`);
  const plan = udp ? makeLoadPlan(o) : null;
  // HTTP's torrents are a prefix of the same seeded set, so one whitelist serves both protocols.
  const hashes = plan?.hashes ?? torrentHashes(o.seed, Math.max(o.torrents, o["http-torrents"]));
  const rounds: Round[] = [];
  const specs = o.start === "" ? [] : parseKinds(o.start);
  await withSession("compare", { ...o, specs }, async (session) => {
    const targets =
      o.start !== ""
        ? await startAll(specs, (k) => session.start(k, { hashes, peers: o.peers, torrents: o.torrents }))
        : parseTargets(o.targets);
    const planPath = plan === null ? "" : await writeLoadPlan(plan, session.dir);
    const hashFile = udp ? "" : await writeHashFile(o.seed, o["http-torrents"], session.dir);
    for (let round = 1; round <= o.rounds; round++) {
      for (const t of targets) {
        progress(`round ${round}/${o.rounds}: ${t.name} (${t.host}:${t.port})`);
        const base = { host: t.host, port: t.port, pid: t.pid };
        let result: UdpResult | HttpResult;
        if (udp) {
          result = await runUdp({
            ...udpRunOptions(o, session.genPrefix),
            ...base,
            planPath,
            quiet: true,
            prefill: o.prefill && round === 1,
          });
        } else {
          if (o.warmup > 0) await runHttp({ ...base, ...httpRunOptions(o, o.warmup, hashFile, session.genPrefix) });
          result = await runHttp({ ...base, ...httpRunOptions(o, o.duration, hashFile, session.genPrefix) });
        }
        const rate = "responsesPerSec" in result ? result.responsesPerSec : result.requestsPerSec;
        rounds.push({ round, target: t.name, rate, result });
        progress(`  ${roundLine(rounds[rounds.length - 1])}`);
      }
    }
    const names = targets.map((t) => t.name);
    const summary = names.map((name) =>
      summarize(
        name,
        rounds.filter((r) => r.target === name),
        session.pin,
      ),
    );
    const ratios = ratioList(summary);
    if (o.json) {
      const expected = plan === null ? null : expectedFor(plan, o.numwant).expected;
      console.log(JSON.stringify({ proto: o.proto, rounds, summary, ratios, expectedPeersPerAnnounce: expected }));
      return;
    }
    console.log(`\n${o.proto.toUpperCase()} compare, ${o.rounds} rounds of ${o.duration} s, interleaved\n`);
    console.log(rounds.map(roundLine).join("\n") + "\n");
    const unit = udp ? "responses/s" : "requests/s";
    console.log(
      table([
        [
          "target",
          `median ${unit}`,
          "min",
          "max",
          "peers/announce",
          "errors",
          "failures/non-200",
          "timeouts",
          "median p99",
          "tracker CPU",
          "generator CPU",
        ],
        ...summary.map((s) => [
          s.name,
          int(s.median),
          int(s.min),
          int(s.max),
          fixed(s.peersPerAnnounce),
          String(s.errors),
          String(s.non200),
          String(s.timeouts),
          ms(s.p99Us),
          s.trackerCpu === null ? "-" : `${fixed(s.trackerCpu, 0)}%`,
          `${fixed(s.generatorCpu, 0)}%`,
        ]),
      ]),
    );
    if (plan !== null)
      console.log(
        `(peers per announce at steady state for this workload: ${fixed(expectedFor(plan, o.numwant).expected)})`,
      );
    console.log("\n" + ratios.map((r) => `${r.label}: ${fixed(r.ratio, 3)}`).join("\n"));
    for (const x of summary) {
      if (generatorSaturated(x.generatorCpu, x.generatorThreads))
        console.log(
          `${x.name}: the generator ran at ${fixed(x.generatorCpu, 0)}% of its ${x.generatorThreads} CPU(s) (median): it was the limit, so ${int(x.median)} is a lower bound of ${x.name}'s rate and the ratios with it are not the trackers' own`,
        );
      if (x.starvedRounds > 0)
        console.log(
          `${x.name}: ${x.starvedRounds} of ${o.rounds} rounds had neither tracker nor generator above 85% of a CPU while pinned: other jobs took the CPUs, so those rates are low`,
        );
    }
    // §6: a result above ~70% of the generator's ceiling is generator-bound, so it is only a lower bound.
    const ceiling = summary.find((x) => x.name === "trivial");
    for (const x of summary) {
      if (ceiling !== undefined && x !== ceiling && x.median >= 0.7 * ceiling.median) {
        console.log(
          `${x.name} reached ${fixed((100 * x.median) / ceiling.median, 0)}% of the generator's ceiling: report it as >= ${int(x.median)}`,
        );
      }
    }
  });
}

async function startAll(kinds: TargetSpec[], start: (k: TargetSpec) => Promise<Target>): Promise<Target[]> {
  const out: Target[] = [];
  for (const k of kinds) out.push(await start(k)); // one at a time: start-up is CPU-heavy
  return out;
}

function roundLine(r: Round): string {
  const x = r.result;
  const lat = `p50 ${ms(x.latencyUs.p50)} p99 ${ms(x.latencyUs.p99)}`;
  const cpu = x.trackerCpuPercent === null ? "" : `, tracker CPU ${fixed(x.trackerCpuPercent, 0)}%`;
  if ("responsesPerSec" in x) {
    return `round ${r.round} ${r.target}: ${int(r.rate)} responses/s, ${fixed(x.peersPerAnnounce)} peers/announce, ${x.errors} errors, ${x.timeouts} timeouts, ${lat}, generator CPU ${fixed(x.generatorCpuPercent, 0)}%${cpu}`;
  }
  return `round ${r.round} ${r.target}: ${int(r.rate)} requests/s, ${x.non200} non-200, ${x.failures} failures, ${fixed(x.peersPerAnnounce)} peers/announce, ${lat}, wrk CPU ${fixed(x.generatorCpuPercent, 0)}%${cpu}`;
}

interface Summary {
  name: string;
  median: number;
  min: number;
  max: number;
  peersPerAnnounce: number;
  errors: number;
  non200: number;
  timeouts: number;
  p99Us: number;
  trackerCpu: number | null;
  generatorCpu: number;
  generatorThreads: number;
  /** Rounds in which, pinned, neither side was busy: the machine's other jobs had the CPUs. */
  starvedRounds: number;
}

function summarize(name: string, rs: Round[], pinned: boolean): Summary {
  const rates = rs.map((r) => r.rate);
  const udp = rs.map((r) => r.result).filter((x): x is UdpResult => "responsesPerSec" in x);
  const http = rs.map((r) => r.result).filter((x): x is HttpResult => "requestsPerSec" in x);
  const cpus = rs.map((r) => r.result.trackerCpuPercent).filter((c): c is number => c !== null);
  return {
    name,
    median: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    peersPerAnnounce: median(rs.map((r) => r.result.peersPerAnnounce)),
    errors: udp.reduce((a, x) => a + x.errors, 0),
    non200: http.reduce((a, x) => a + x.non200 + x.failures, 0),
    timeouts: udp.reduce((a, x) => a + x.timeouts, 0) + http.reduce((a, x) => a + x.socketErrors.timeout, 0),
    p99Us: median(rs.map((r) => r.result.latencyUs.p99)),
    trackerCpu: cpus.length === 0 ? null : median(cpus),
    generatorCpu: median(rs.map((r) => r.result.generatorCpuPercent)),
    generatorThreads: http.length > 0 ? http[0].generatorThreads : 1,
    starvedRounds: pinned
      ? rs.filter((r) => r.result.generatorCpuPercent < 85 && (r.result.trackerCpuPercent ?? 100) < 85).length
      : 0,
  };
}

/** B/A and A/B for every pair, in target order (A before B). */
function ratioList(s: Summary[]): { label: string; ratio: number }[] {
  const out: { label: string; ratio: number }[] = [];
  for (let i = 0; i < s.length; i++) {
    for (let j = i + 1; j < s.length; j++) {
      out.push({ label: `${s[j].name}/${s[i].name}`, ratio: s[j].median / s[i].median });
      out.push({ label: `${s[i].name}/${s[j].name}`, ratio: s[i].median / s[j].median });
    }
  }
  return out;
}
