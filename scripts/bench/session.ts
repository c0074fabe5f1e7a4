// What every subcommand that talks to a tracker shares: the options that pick or start the targets, a scratch
// directory, and clean-up (trackers stopped, files removed) on success, failure and Ctrl+C alike.

import { rmSync } from "node:fs";
import type { Specs } from "./args.ts";
import { scratchDir } from "./native.ts";
import { progress } from "./report.ts";
import { KINDS, type Kind, parseHostPort, pinPrefix, shouldPin, startTarget, type Target } from "./trackers.ts";

export const TARGET_SPECS = {
  target: {
    kind: "str",
    default: "127.0.0.1:6969",
    help: "tracker to measure, HOST:PORT (IPv4), when not started here",
  },
  pid: { kind: "int", default: 0, help: "pid of the --target tracker, for its CPU% and RSS" },
  start: { kind: "str", default: "", help: `start the tracker here instead: ${KINDS.join(", ")}` },
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

export function parseKinds(text: string): Kind[] {
  const kinds = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const k of kinds)
    if (!(KINDS as readonly string[]).includes(k)) throw new Error(`unknown tracker "${k}": use ${KINDS.join(", ")}`);
  return kinds as Kind[];
}

export interface Session {
  dir: string;
  pin: boolean;
  genPrefix: string[];
  start(
    kind: Kind,
    o: { hashes: Uint8Array; peers: number; torrents: number; host?: string; port?: number },
  ): Promise<Target>;
}

/** Runs fn with a session; whatever it started is stopped and its files removed afterwards, even on Ctrl+C. */
export async function withSession<T>(
  label: string,
  opts: { pin: string; "tracker-cpu": string; "gen-cpu": string; "ot-udp-workers": number; "ours-args": string },
  fn: (s: Session) => Promise<T>,
): Promise<T> {
  const dir = scratchDir(label);
  const pin = shouldPin(opts.pin);
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
      async start(kind, o) {
        progress(`starting ${kind}${pin ? ` on CPU ${opts["tracker-cpu"]}` : ""} ...`);
        const t = await startTarget(kind, {
          ...o,
          pin,
          trackerCpu: opts["tracker-cpu"],
          otUdpWorkers: opts["ot-udp-workers"],
          oursArgs: opts["ours-args"],
          dir,
        });
        started.push(t);
        progress(`  ${kind} at ${t.host}:${t.port}, pid ${t.pid ?? "?"}`);
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
