// `memory`: fill a tracker with N peers over M torrents (evenly spread) through the real UDP protocol, then
// read its resident memory (VmRSS): (RSS after the fill - RSS idle) / N is the cost of a stored peer, all in
// (torrent entries, indexes and allocator slack included). Peers must be told apart the way trackers key
// UDP peers, by (source IP, announced port), so the fill sends from several 127.0.0.x sources and gives every
// peer of a torrent its own (source, port) pair (workload.ts fillPlan).
//
// Checked, not assumed: every announce must be answered (timeouts are retried), and a sample of torrents is
// scraped afterwards and its seeders + leechers compared with what the fill put there. A low-rate probe
// announces throughout (re-announcing peers of the fill, so it adds none) and reports its latency during and
// after the fill: a store that stalls while growing shows up there.
//
// --restart (ours only) then stops the tracker with SIGTERM, which writes its --state-file, starts the same
// command again, and times the restore to the first /healthz answer; RSS after the restore and its peak
// (VmHWM) are set against the fill's RSS.

import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Options, type Specs, UsageError } from "./args.ts";
import { nativeBinary } from "./native.ts";
import { fixed, int, mib, ms, progress, table } from "./report.ts";
import { externalTarget, parseKinds, TARGET_SPECS, withSession } from "./session.ts";
import { cpuSeconds, peakRssBytes, rssBytes, type Target } from "./trackers.ts";
import { UdpClient } from "../lib/udp-client.ts";
import { jsonLines, sourceList } from "./udp.ts";
import { fillCount, fillPlan, writePlan } from "./workload.ts";

export const MEMORY_SPECS = {
  ...TARGET_SPECS,
  torrents: { kind: "int", default: 100_000, min: 1, help: "torrents to spread the peers over" },
  peers: { kind: "int", default: 2_350_000, min: 1, help: "peers to store" },
  seed: { kind: "int", default: 1, help: "seed of the torrent set" },
  sources: {
    kind: "int",
    default: 16,
    min: 1,
    help: "source addresses 127.0.0.1..N (peers per torrent / N must stay under 64,000)",
  },
  sockets: { kind: "int", default: 16, min: 1, help: "sockets (a multiple of --sources)" },
  // 16 x 8 = 128 in flight: a tracker's default 212,992-byte socket buffer holds about 256 small datagrams.
  inflight: { kind: "int", default: 8, min: 1, help: "announces in flight per socket" },
  numwant: {
    kind: "int",
    default: 0,
    help: "num_want of the fill's announces (0 keeps replies small; the probe asks for 30)",
  },
  "timeout-ms": { kind: "int", default: 1000, min: 1, help: "an announce unanswered this long is sent again" },
  "probe-rate": { kind: "num", default: 50, help: "probe announces per second (0: no probe)" },
  "idle-secs": { kind: "num", default: 2, help: "seconds to let the tracker settle before the idle reading" },
  "after-secs": { kind: "num", default: 5, help: "seconds of probing after the fill, before the final reading" },
  sample: { kind: "int", default: 1000, help: "torrents to scrape for the fill check (0: all)" },
  restart: {
    kind: "flag",
    help: "then stop ours with SIGTERM (it saves --state-file), start it again from the file and measure the restore",
  },
} satisfies Specs;

interface ProbeStats {
  latenciesUs: number[];
  timeouts: number;
  errors: number;
}

export interface MemoryResult {
  tracker: string;
  peers: number;
  torrents: number;
  fillSecs: number;
  fillComplete: boolean;
  fillErrors: number;
  firstError: string;
  fillTimeouts: number;
  rssIdleBytes: number | null;
  rssAfterBytes: number | null;
  peakRssBytes: number | null;
  bytesPerPeer: number | null;
  scrape: { torrents: number; expected: number; seen: number; mismatched: number; unanswered: number };
  trackerCount: number | null;
  probeDuring: ReturnType<typeof probeSummary>;
  probeAfter: ReturnType<typeof probeSummary>;
  restart?: RestartResult;
}

export interface RestartResult {
  /** SIGTERM to exit (the final save), and the file it wrote. */
  saveSecs: number;
  fileBytes: number;
  /** Start of the new process to its first /healthz answer (the restore runs before it listens), and the
   * CPU seconds it had used by then (what a busy machine does not inflate). */
  healthzSecs: number;
  healthzCpuSecs: number | null;
  /** After --idle-secs of rest, and the peak over the whole restore. */
  rssBytes: number | null;
  peakRssBytes: number | null;
  scrape: MemoryResult["scrape"];
  trackerCount: number | null;
}

export async function memoryCommand(o: Options<typeof MEMORY_SPECS>): Promise<void> {
  if (o.sockets % o.sources !== 0) throw new UsageError("--sockets must be a multiple of --sources");
  if (o.restart && o.start !== "ours") throw new UsageError("--restart needs --start ours");
  // Outside the session's folder, which is removed when the first tracker is stopped.
  const statePath = join(tmpdir(), `buntracker-bench-state-${process.pid}.bin`);
  if (o.restart) o = { ...o, "ours-args": `${o["ours-args"]} --state-file ${statePath}` };
  progress(
    `building the fill: ${int(o.peers)} peers over ${int(o.torrents)} torrents from ${o.sources} source addresses ...`,
  );
  const plan = fillPlan(o.seed, o.torrents, o.peers, o.sources, o.sockets);
  const specs = o.start === "" ? [] : parseKinds(o.start);
  await withSession("memory", { ...o, specs }, async (session) => {
    const planPath = `${session.dir}/fill.bin`;
    await writePlan(plan, planPath);
    const target =
      o.start !== ""
        ? await session.start(specs[0], { hashes: plan.hashes, peers: o.peers, torrents: o.torrents })
        : externalTarget("target", o.target, o.pid);
    if (target.pid === null) progress("no --pid: memory cannot be read, only the fill is checked");
    await Bun.sleep(o["idle-secs"] * 1000); // let start-up garbage settle before the idle reading
    const rssIdle = target.pid === null ? null : rssBytes(target.pid);
    if (rssIdle !== null) progress(`idle RSS ${mib(rssIdle)}`);

    const probe = await startProbe(target, plan.hashes, o);
    const fill = await runFill(await nativeBinary("udp-gen"), session.genPrefix, planPath, target, o);
    const during = probe.switchPhase();
    await Bun.sleep(o["after-secs"] * 1000); // the probe keeps measuring meanwhile
    const after = await probe.stop();
    const rssAfter = target.pid === null ? null : rssBytes(target.pid);
    const scrape = await verify(target, plan.hashes, o);
    const r: MemoryResult = {
      tracker: o.start || o.target,
      peers: o.peers,
      torrents: o.torrents,
      fillSecs: Number(fill.secs),
      fillComplete: fill.complete === true,
      fillErrors: Number(fill.error),
      firstError: String(fill.first_error),
      fillTimeouts: Number(fill.timeouts),
      rssIdleBytes: rssIdle,
      rssAfterBytes: rssAfter,
      peakRssBytes: target.pid === null ? null : peakRssBytes(target.pid),
      bytesPerPeer: rssIdle === null || rssAfter === null ? null : (rssAfter - rssIdle) / o.peers,
      scrape,
      trackerCount: await trackerPeerCount(target, specs[0]?.kind ?? ""),
      probeDuring: probeSummary(during),
      probeAfter: probeSummary(after),
    };
    if (o.restart) {
      try {
        r.restart = await restart(target, statePath, plan.hashes, o);
      } finally {
        rmSync(statePath, { force: true });
      }
    }
    console.log(o.json ? JSON.stringify(r) : memoryReport(r));
  });
}

/**
 * Stops the tracker with SIGTERM (it writes its state file on the way out), starts the same command again and
 * times the restore to the first /healthz answer; then, after --idle-secs, reads its RSS and peak and checks a
 * scrape sample against the fill.
 */
async function restart(
  t: Target,
  statePath: string,
  hashes: Uint8Array,
  o: Options<typeof MEMORY_SPECS>,
): Promise<RestartResult> {
  const pid = t.pid!;
  progress("restart: SIGTERM, waiting for the final save ...");
  const t0 = performance.now();
  process.kill(pid, "SIGTERM");
  while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")) await Bun.sleep(10);
  const saveSecs = (performance.now() - t0) / 1000;
  const fileBytes = statSync(statePath).size;
  progress(`  saved ${mib(fileBytes)} in ${fixed(saveSecs, 2)} s; starting again ...`);
  const t1 = performance.now();
  const proc = Bun.spawn(t.argv!, { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`the restarted tracker exited with ${proc.exitCode}`);
      const ok = await fetch(`http://${t.host}:${t.port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await Bun.sleep(10);
    }
    const healthzSecs = (performance.now() - t1) / 1000;
    const healthzCpuSecs = cpuSeconds(proc.pid);
    progress(`  /healthz answered after ${fixed(healthzSecs, 2)} s`);
    await Bun.sleep(o["idle-secs"] * 1000);
    const again: Target = { ...t, pid: proc.pid };
    return {
      saveSecs,
      fileBytes,
      healthzSecs,
      healthzCpuSecs,
      rssBytes: rssBytes(proc.pid),
      peakRssBytes: peakRssBytes(proc.pid),
      scrape: await verify(again, hashes, o),
      trackerCount: await trackerPeerCount(again, "ours"),
    };
  } finally {
    proc.kill("SIGKILL"); // no second save needed
    await proc.exited;
  }
}

async function runFill(bin: string, prefix: string[], planPath: string, t: Target, o: Options<typeof MEMORY_SPECS>) {
  const argv = [
    ...prefix,
    bin,
    "--fill",
    "--plan",
    planPath,
    "--target",
    `${t.host}:${t.port}`,
    "--sources",
    sourceList(String(o.sources)),
    "--sockets",
    String(o.sockets),
    "--inflight",
    String(o.inflight),
    "--timeout-ms",
    String(o["timeout-ms"]),
    "--fill-numwant",
    String(o.numwant),
  ];
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  let last: Record<string, unknown> | null = null;
  for await (const line of jsonLines<Record<string, unknown>>(proc)) {
    if (line.type === "progress")
      progress(
        `  fill: ${int(Number(line.answered))} of ${int(Number(line.total))} peers answered, ${line.timeouts} timeouts, ${fixed(Number(line.secs), 0)} s`,
      );
    if (line.type === "fill") last = line;
  }
  const code = await proc.exited;
  if (code !== 0 || last === null)
    throw new Error(`udp-gen failed (exit ${code}): ${(await new Response(proc.stderr).text()).trim()}`);
  progress(
    `  fill: ${int(Number(last.answered))} peers in ${fixed(Number(last.secs), 1)} s (${int(Number(last.answered) / Number(last.secs))}/s)`,
  );
  return last;
}

/**
 * Announces, at a low steady rate, peers the fill also announces: from source 127.0.0.1 (the fill's source 0),
 * with the port the fill gives the r-th peer of a torrent for r a multiple of the source count.
 */
async function startProbe(t: Target, hashes: Uint8Array, o: Options<typeof MEMORY_SPECS>) {
  let current: ProbeStats = { latenciesUs: [], timeouts: 0, errors: 0 };
  if (o["probe-rate"] <= 0) {
    return { switchPhase: () => current, stop: async () => ({ latenciesUs: [], timeouts: 0, errors: 0 }) };
  }
  const client = await UdpClient.open(t.host, t.port, "127.0.0.1");
  const inFlight = new Set<Promise<void>>();
  const send = () => {
    const torrent = Math.floor(Math.random() * o.torrents);
    const rows = Math.ceil(fillCount(o.torrents, o.peers, torrent) / o.sources);
    if (rows === 0) return;
    const port = 1024 + Math.floor(Math.random() * rows);
    const stats = current;
    const t0 = performance.now();
    const p = client
      .announce(
        { infoHash: hashes.subarray(torrent * 20, torrent * 20 + 20), port, event: 0, left: 50n, numWant: 30 },
        2000,
      )
      .then((reply) => {
        if (reply === null) stats.timeouts++;
        else if (reply.action !== "announce") stats.errors++;
        else stats.latenciesUs.push((performance.now() - t0) * 1000);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const timer = setInterval(send, 1000 / o["probe-rate"]);
  return {
    /** Ends the "during the fill" phase and returns its numbers; later probes count as "after". */
    switchPhase(): ProbeStats {
      const done = current;
      current = { latenciesUs: [], timeouts: 0, errors: 0 };
      return done;
    },
    async stop(): Promise<ProbeStats> {
      clearInterval(timer);
      await Promise.all(inFlight);
      client.close();
      return current;
    },
  };
}

function probeSummary(s: ProbeStats) {
  const xs = [...s.latenciesUs].sort((a, b) => a - b);
  const q = (p: number) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]);
  return {
    answered: xs.length,
    timeouts: s.timeouts,
    errors: s.errors,
    p50Us: q(0.5),
    p90Us: q(0.9),
    p99Us: q(0.99),
    maxUs: xs.length === 0 ? NaN : xs[xs.length - 1],
  };
}

/** Scrapes a sample of torrents (evenly spaced) and compares seeders + leechers with the fill's counts. */
async function verify(t: Target, hashes: Uint8Array, o: Options<typeof MEMORY_SPECS>) {
  const n = o.sample === 0 ? o.torrents : Math.min(o.sample, o.torrents);
  const picks = Array.from({ length: n }, (_, i) => Math.floor((i * o.torrents) / n));
  const client = await UdpClient.open(t.host, t.port, "127.0.0.1");
  let expected = 0,
    seen = 0,
    mismatched = 0,
    unanswered = 0;
  try {
    for (let i = 0; i < picks.length; i += 50) {
      const chunk = picks.slice(i, i + 50);
      const counts = await client.scrape(chunk.map((k) => hashes.subarray(k * 20, k * 20 + 20)));
      chunk.forEach((k, j) => {
        const want = fillCount(o.torrents, o.peers, k);
        expected += want;
        if (counts === null) return void unanswered++;
        const got = counts[j].seeders + counts[j].leechers;
        seen += got;
        if (got !== want) mismatched++;
      });
    }
  } finally {
    client.close();
  }
  return { torrents: n, expected, seen, mismatched, unanswered };
}

/** The tracker's own peer count where it offers one: ours in /api/stats, opentracker in /stats?mode=peer. */
async function trackerPeerCount(t: Target, kind: string): Promise<number | null> {
  try {
    if (kind === "ours") {
      const stats = (await (await fetch(`http://${t.host}:${t.port}/api/stats`)).json()) as { peers?: number };
      return stats.peers ?? null;
    }
    if (kind === "opentracker") {
      const text = await (await fetch(`http://${t.host}:${t.port}/stats?mode=peer`)).text();
      const m = text.match(/\d+/);
      return m === null ? null : Number(m[0]);
    }
  } catch {
    // no stats page: the scrape check stands alone
  }
  return null;
}

function memoryReport(r: MemoryResult): string {
  const p = (s: MemoryResult["probeDuring"]) =>
    `${s.answered} answered, ${s.timeouts} timeouts, ${s.errors} errors; p50 ${ms(s.p50Us)} p90 ${ms(s.p90Us)} p99 ${ms(s.p99Us)} max ${ms(s.maxUs)}`;
  const rows = [
    [
      "fill",
      `${int(r.peers)} peers over ${int(r.torrents)} torrents in ${fixed(r.fillSecs, 1)} s (${int(r.peers / r.fillSecs)}/s), ${r.fillComplete ? "all answered" : "INCOMPLETE"}`,
    ],
    [
      "fill errors / retried timeouts",
      `${r.fillErrors}${r.firstError ? ` (first: "${r.firstError}")` : ""} / ${r.fillTimeouts}`,
    ],
    ["RSS idle", r.rssIdleBytes === null ? "-" : mib(r.rssIdleBytes)],
    ["RSS after fill", r.rssAfterBytes === null ? "-" : mib(r.rssAfterBytes)],
    ["peak RSS (VmHWM)", r.peakRssBytes === null ? "-" : mib(r.peakRssBytes)],
    ["growth", r.rssIdleBytes === null || r.rssAfterBytes === null ? "-" : mib(r.rssAfterBytes - r.rssIdleBytes)],
    ["bytes per peer (growth / peers)", r.bytesPerPeer === null ? "-" : fixed(r.bytesPerPeer, 1)],
    [
      "scrape check",
      `${int(r.scrape.seen)} of ${int(r.scrape.expected)} peers seen in ${int(r.scrape.torrents)} torrents; ${r.scrape.mismatched} torrents differ, ${r.scrape.unanswered} unanswered`,
    ],
    ["tracker's own peer count", r.trackerCount === null ? "-" : int(r.trackerCount)],
    ["probe during fill", p(r.probeDuring)],
    ["probe after fill", p(r.probeAfter)],
  ];
  const x = r.restart;
  if (x !== undefined) {
    const ratio = (a: number | null, b: number | null) => (a === null || b === null ? "-" : `${fixed(a / b, 2)}x`);
    rows.push(
      ["restart: SIGTERM to exit (save)", `${fixed(x.saveSecs, 2)} s, state file ${mib(x.fileBytes)}`],
      [
        "restart: start to /healthz",
        `${fixed(x.healthzSecs, 2)} s (${x.healthzCpuSecs === null ? "-" : fixed(x.healthzCpuSecs, 2)} CPU seconds)`,
      ],
      [
        "restart: RSS after restore",
        `${x.rssBytes === null ? "-" : mib(x.rssBytes)} (${ratio(x.rssBytes, r.rssAfterBytes)} the fill's)`,
      ],
      [
        "restart: peak RSS (VmHWM)",
        `${x.peakRssBytes === null ? "-" : mib(x.peakRssBytes)} (${ratio(x.peakRssBytes, r.rssAfterBytes)} the fill's RSS)`,
      ],
      [
        "restart: scrape check",
        `${int(x.scrape.seen)} of ${int(x.scrape.expected)} peers seen; ${x.scrape.mismatched} torrents differ, ${x.scrape.unanswered} unanswered`,
      ],
      ["restart: tracker's own peer count", x.trackerCount === null ? "-" : int(x.trackerCount)],
    );
  }
  return `memory: ${r.tracker}\n${table(rows)}`;
}
