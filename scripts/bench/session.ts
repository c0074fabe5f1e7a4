// What every subcommand that talks to a tracker shares: the options that pick or start the targets, a scratch
// directory, and clean-up (trackers stopped, files removed) on success, failure and Ctrl+C alike.

import { rmSync } from "node:fs";
import type { Specs } from "./args.ts";
import { scratchDir } from "./native.ts";
import { progress } from "./report.ts";
import {
  KINDS,
  parseHostPort,
  parseTargetSpec,
  pinPrefix,
  shouldPin,
  startTarget,
  type Target,
  targetThreads,
  type TargetSpec,
} from "./trackers.ts";

export const TARGET_SPECS = {
  target: {
    kind: "str",
    default: "127.0.0.1:6969",
    help: "tracker to measure, HOST:PORT (IPv4), when not started here",
  },
  pid: { kind: "int", default: 0, help: "pid of the --target tracker, for its CPU% and RSS" },
  start: {
    kind: "str",
    default: "",
    help: `start the tracker here instead: ${KINDS.join(", ")}; KIND-wN for N threads (ours-w2 passes --workers 2)`,
  },
  pin: {
    kind: "str",
    default: "auto",
    help: "pin tracker and generator to separate CPUs with taskset: auto (if >= 2 CPUs), on, off",
  },
  "tracker-cpu": { kind: "str", default: "0", help: "CPU list for a tracker started here (taskset -c)" },
  "gen-cpu": { kind: "str", default: "1", help: "CPU list for the generator (taskset -c)" },
  "ot-udp-workers": {
    kind: "int",
    default: 0,
    help: "opentracker listen.udp.workers (0: UDP in its event loop, its default)",
  },
  "ours-args": { kind: "str", default: "", help: "extra flags for our tracker, space separated" },
  json: { kind: "flag", help: "print one JSON object instead of the table" },
} satisfies Specs;

/** "ours,ours-w2,opentracker-w2" as target specs; names must differ (they label the results). */
export function parseKinds(text: string): TargetSpec[] {
  const specs = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(parseTargetSpec);
  const names = new Set(specs.map((s) => s.name));
  if (names.size < specs.length) throw new Error(`--start names a target twice: ${text}`);
  return specs;
}

export interface Session {
  dir: string;
  pin: boolean;
  genPrefix: string[];
  start(
    spec: TargetSpec,
    o: { hashes: Uint8Array; peers: number; torrents: number; host?: string; port?: number },
  ): Promise<Target>;
}

/** Runs fn with a session; whatever it started is stopped and its files removed afterwards, even on Ctrl+C. */
export async function withSession<T>(
  label: string,
  opts: {
    pin: string;
    "tracker-cpu": string;
    "gen-cpu": string;
    "ot-udp-workers": number;
    "ours-args": string;
    /** Targets to be started: with --pin auto, a multi-threaded one turns pinning off for all (a fair race). */
    specs?: TargetSpec[];
  },
  fn: (s: Session) => Promise<T>,
): Promise<T> {
  const dir = scratchDir(label);
  const threaded = (opts.specs ?? []).some((s) => targetThreads(s, opts["ot-udp-workers"]) > 1);
  const pin = shouldPin(opts.pin) && (opts.pin === "on" || !threaded);
  if (threaded && opts.pin === "auto")
    progress("a target runs several threads: nothing is pinned (--pin on pins trackers to --tracker-cpu)");
  const started: Target[] = [];
  const cleanup = async () => {
    await Promise.all(started.map((t) => t.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    progress("interrupted: stopping trackers");
    void cleanup().then(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await fn({
      dir,
      pin,
      genPrefix: pinPrefix(pin, opts["gen-cpu"]),
      async start(spec, o) {
        progress(`starting ${spec.name}${pin ? ` on CPU ${opts["tracker-cpu"]}` : ""} ...`);
        const t = await startTarget(spec, {
          ...o,
          pin,
          trackerCpu: opts["tracker-cpu"],
          otUdpWorkers: opts["ot-udp-workers"],
          oursArgs: opts["ours-args"],
          dir,
        });
        started.push(t);
        progress(`  ${spec.name} at ${t.host}:${t.port}, pid ${t.pid ?? "?"}`);
        return t;
      },
    });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}

/** A target given by address (not started here). */
export function externalTarget(name: string, text: string, pid: number): Target {
  const { host, port } = parseHostPort(text);
  return { name, host, port, pid: pid > 0 ? pid : null, stop: async () => {}, output: () => "" };
}
