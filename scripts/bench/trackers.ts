// Starting the trackers under test (ours, Debian's opentracker, the trivial responders) as child processes,
// pinned as §6 profile A describes (tracker on CPU 0, generator on CPU 1), and reading their CPU time and
// resident memory from /proc. Readiness is a real BEP 15 exchange, not a log line: our tracker logs nothing
// at --log-level error, and opentracker answers announces only once its whitelist is loaded.

import type { Subprocess } from "bun";
import { execFileSync } from "node:child_process";
import { chownSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { nativeBinary } from "./native.ts";
import { UdpClient } from "../lib/udp-client.ts";
import { whitelistText } from "./workload.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const KINDS = ["ours", "ours-unsteered", "opentracker", "trivial", "trivial-bun", "bun-ceiling"] as const;
export type Kind = (typeof KINDS)[number];

/**
 * A target as named on the command line: KIND, or KIND-wN for N threads: `ours-w2` runs ours with
 * `--workers 2`, `opentracker-w2` sets its `listen.udp.workers 2`, `bun-ceiling-w2` runs Bun's zero-work
 * responder in 2 threads on one port (SO_REUSEPORT). `trivial` and `trivial-bun` are single-threaded.
 * `ours-unsteered` is ours with `--udp-steering off` (UDP spread by sender, announces handed between threads).
 */
export interface TargetSpec {
  kind: Kind;
  /** Threads asked for with -wN, or null for the kind's default. */
  workers: number | null;
  /** The text it was given as: the target's name in reports. */
  name: string;
}

export function parseTargetSpec(text: string): TargetSpec {
  const m = /^(.*?)(?:-w(\d+))?$/.exec(text.trim());
  const kind = m?.[1] ?? "";
  const workers = m?.[2] === undefined ? null : Number(m[2]);
  if (!(KINDS as readonly string[]).includes(kind))
    throw new Error(`unknown target "${text}": use ${KINDS.join(", ")}, optionally with -wN (e.g. ours-w2)`);
  if (workers !== null && (workers < 1 || workers > 1024)) throw new Error(`"${text}": -wN needs 1 <= N <= 1024`);
  if (workers !== null && (kind === "trivial" || kind === "trivial-bun"))
    throw new Error(`"${text}": ${kind} is single-threaded (bun-ceiling-wN is the threaded Bun responder)`);
  return { kind: kind as Kind, workers, name: text.trim() };
}

/** Threads the target runs its request handling on (1 unless -wN or --ot-udp-workers say more). */
export function targetThreads(spec: TargetSpec, otUdpWorkers: number): number {
  if (spec.workers !== null) return spec.workers;
  return spec.kind === "opentracker" ? Math.max(1, otUdpWorkers) : 1;
}

export interface Target {
  name: string;
  host: string;
  port: number;
  /** The tracker process itself (not a runuser/taskset wrapper), when known. */
  pid: number | null;
  stop(): Promise<void>;
  /** What the process printed (last 64 KiB), for error messages. */
  output(): string;
  /** The command line it was started with (trackers started here). */
  argv?: string[];
}

export interface StartOptions {
  /** Hashes of the workload's torrent set: opentracker's whitelist, and the readiness probe's torrent. */
  hashes: Uint8Array;
  /** Sizes our tracker's limits must allow. */
  peers: number;
  torrents: number;
  pin: boolean;
  trackerCpu: string;
  /** opentracker `listen.udp.workers`; 0 = handle UDP in the event loop (its default). */
  otUdpWorkers: number;
  /** Extra flags for our tracker (space separated). */
  oursArgs: string;
  /** Scratch directory for opentracker's whitelist and config. */
  dir: string;
  host?: string;
  port?: number;
}

export function parseHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`expected HOST:PORT, got "${text}"`);
  return { host: text.slice(0, colon), port };
}

/** `auto` pins when there are at least 2 CPUs to split between tracker and generator. */
export function shouldPin(mode: string): boolean {
  if (mode === "on") return true;
  if (mode === "off") return false;
  if (mode !== "auto") throw new Error(`--pin must be auto, on or off`);
  return availableParallelism() >= 2 && Bun.which("taskset") !== null;
}

export function pinPrefix(pin: boolean, cpus: string): string[] {
  return pin ? ["taskset", "-c", cpus] : [];
}

/** A port free for both TCP and UDP on host (opentracker and ours serve both on one port). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
    const port = tcp.port;
    try {
      const udp = await Bun.udpSocket({ hostname: host, port });
      udp.close();
      return port;
    } catch {
      // UDP side taken: try another
    } finally {
      tcp.stop(true);
    }
  }
  throw new Error("no free port");
}

export async function startTarget(spec: TargetSpec, o: StartOptions): Promise<Target> {
  const kind = spec.kind;
  const host = o.host ?? "127.0.0.1";
  const port = o.port ?? (await freePort(host));
  const pin = pinPrefix(o.pin, o.trackerCpu);
  let argv: string[];
  let comm: string | null = null; // the process to find under a wrapper
  if (kind === "ours" || kind === "ours-unsteered") {
    argv = [
      ...pin,
      process.execPath,
      join(ROOT, "src", "main.ts"),
      "--listen",
      `${host}:${port}`,
      "--rate-limit",
      "0",
      "--max-numwant",
      "30",
      "--default-numwant",
      "30",
      "--log-level",
      "error",
      "--peer-timeout-secs",
      "7200",
      "--max-torrents",
      String(Math.max(500_000, Math.ceil(o.torrents * 1.1))),
      "--max-peers",
      String(Math.max(4_000_000, Math.ceil(o.peers * 1.1))),
      ...(spec.workers === null ? [] : ["--workers", String(spec.workers)]),
      ...(kind === "ours-unsteered" ? ["--udp-steering", "off"] : []),
      ...o.oursArgs.split(" ").filter((s) => s !== ""),
    ];
  } else if (kind === "opentracker") {
    const udpWorkers = spec.workers ?? o.otUdpWorkers;
    argv = [...pin, ...opentrackerCommand({ ...o, otUdpWorkers: udpWorkers }, host, port)];
    comm = "opentracker";
  } else if (kind === "trivial") {
    argv = [...pin, await nativeBinary("trivial"), host, String(port)];
  } else {
    argv = [
      ...pin,
      process.execPath,
      join(import.meta.dir, "main.ts"),
      "serve",
      kind === "bun-ceiling" ? `bun-ceiling-w${spec.workers ?? 1}` : "trivial-bun",
      "--port",
      String(port),
      "--host",
      host,
    ];
  }
  const proc = Bun.spawn(argv, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out = (out + decoder.decode(chunk, { stream: true })).slice(-65536);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const exited = proc.exited.then((code) => {
    throw new Error(`${kind} exited with ${code} before it answered:\n${argv.join(" ")}\n${out}`);
  });
  try {
    await Promise.race([waitReady(host, port, o.hashes), exited]);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  const pid = comm === null ? proc.pid : findDescendant(proc.pid, comm);
  return {
    name: spec.name,
    host,
    port,
    pid,
    stop: () => stopProcess(proc, pid),
    output: () => out,
    argv,
  };
}

function opentrackerCommand(o: StartOptions, host: string, port: number): string[] {
  const bin = Bun.which("opentracker");
  if (bin === null) throw new Error("opentracker is not installed (Debian: apt-get install opentracker)");
  writeFileSync(join(o.dir, "whitelist"), whitelistText(o.hashes));
  // Worker threads must be set before the listen line, so with workers both go in a config file.
  const listen = ["-i", host, "-p", String(port)];
  if (o.otUdpWorkers > 0) {
    writeFileSync(
      join(o.dir, "opentracker.conf"),
      `listen.udp.workers ${o.otUdpWorkers}\nlisten.udp ${host}:${port}\n`,
    );
    listen.push("-f", join(o.dir, "opentracker.conf"));
  } else listen.push("-P", String(port));
  const args = [bin, ...listen, "-A", "127.0.0.1", "-d", o.dir, "-w", "whitelist"];
  // It refuses to run as root: drop to an unprivileged user (created if missing).
  if (process.getuid?.() !== 0) return args;
  if (!spawnOk(["id", "-u", "trackbench"])) execFileSync("useradd", ["-M", "-s", "/usr/sbin/nologin", "trackbench"]);
  const uid = Number(execFileSync("id", ["-u", "trackbench"]).toString());
  const gid = Number(execFileSync("id", ["-g", "trackbench"]).toString());
  chownSync(o.dir, uid, gid);
  return ["runuser", "-u", "trackbench", "--", ...args];
}

function spawnOk(argv: string[]): boolean {
  return Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/**
 * Waits until host:port accepts an announce (event started) for the workload's last torrent, then removes that
 * probe peer again (stopped). It must be `started`: opentracker loads its whitelist in a background thread
 * (about 1 s for a million lines) and refuses announces meanwhile with a bare 8-byte reply, but answers
 * `stopped` without looking at the whitelist.
 */
export async function waitReady(host: string, port: number, hashes: Uint8Array, timeoutMs = 60_000): Promise<void> {
  const client = await UdpClient.open(host, port);
  const hash = hashes.subarray(hashes.length - 20);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const reply = await client.announce({ infoHash: hash, port: 1, event: 2, left: 50n, numWant: 0 }, 200);
      if (reply?.action === "announce") {
        await client.announce({ infoHash: hash, port: 1, event: 3, left: 50n, numWant: 0 }, 1000);
        return;
      }
      await Bun.sleep(100); // polling a process that gives no other signal
    }
    throw new Error(`${host}:${port} did not answer a UDP announce within ${timeoutMs / 1000} s`);
  } finally {
    client.close();
  }
}

function findDescendant(root: number, comm: string): number | null {
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm) return pid;
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
        if (children !== "") queue.push(...children.split(" ").map(Number));
      }
    } catch {
      // the process went away
    }
  }
  return null;
}

async function stopProcess(proc: Subprocess, pid: number | null): Promise<void> {
  if (proc.exitCode !== null) return;
  // Signal the tracker itself: a wrapper (runuser) would otherwise have to forward it.
  try {
    process.kill(pid ?? proc.pid, "SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    if (pid !== null && pid !== proc.pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    proc.kill("SIGKILL");
  }, 5000);
  await proc.exited;
  clearTimeout(timer);
}

/** Resident memory in bytes (VmRSS), or null if the process is gone. */
export function rssBytes(pid: number): number | null {
  return statusField(pid, "VmRSS");
}

/** Peak resident memory in bytes (VmHWM). */
export function peakRssBytes(pid: number): number | null {
  return statusField(pid, "VmHWM");
}

function statusField(pid: number, field: string): number | null {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

const CLK_TCK = 100; // Linux USER_HZ on every mainstream architecture

/** CPU seconds (user + system, all threads) the process has used, or null if it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Kernel UDP counters (/proc/net/snmp): drops here mean a socket buffer overflowed. */
export function udpCounters(): Record<string, number> {
  const lines = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Udp:"));
  if (lines.length < 2) return {};
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}
