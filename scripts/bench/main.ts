// Benchmark tools: `npm run bench -- <subcommand> [options]` (or `bun scripts/bench/main.ts ...`).
// Each subcommand lives in its own file; this one only dispatches. See scripts/bench/README.md.

import { ACCESS_LIST_SPECS, accessListCommand } from "./access-list.ts";
import { helpText, parseOptions, type Specs, UsageError } from "./args.ts";
import { COMPARE_SPECS, compareCommand } from "./compare.ts";
import { CPU_COST_SPECS, cpuCostCommand } from "./cpu-cost.ts";
import { HTTP_COMMAND_SPECS, httpCommand } from "./http.ts";
import { MEMORY_SPECS, memoryCommand } from "./memory.ts";
import { RESTORE_SPECS, restoreCommand } from "./restore.ts";
import { SERVE_SPECS, serveCommand } from "./serve.ts";
import { UDP_COMMAND_SPECS, udpCommand } from "./udp.ts";
import { WORKLOAD_SPECS } from "./udp.ts";
import { torrentHashes, whitelistText } from "./workload.ts";

interface Command {
  summary: string;
  specs: Specs;
  /** Positional arguments before the options (serve's KIND). */
  positional?: number;
  run(o: never, positional: string[]): Promise<void>;
}

const WHITELIST_SPECS = {
  ...WORKLOAD_SPECS,
  out: { kind: "str", default: "whitelist", help: "file to write" },
} satisfies Specs;

const COMMANDS: Record<string, Command> = {
  udp: {
    summary:
      "UDP (BEP 15) load in the reference methodology; reports responses/s, peers per announce, errors, latency, CPU.\n--ceiling runs it against the trivial responder: the generator's ceiling on this machine.",
    specs: UDP_COMMAND_SPECS,
    run: (o: Parameters<typeof udpCommand>[0]) => udpCommand(o),
  },
  http: {
    summary:
      "HTTP announce load with wrk (H-plain: 10,000 torrents, gamma choice, compact=1).\n--ceiling runs it against the trivial responder.",
    specs: HTTP_COMMAND_SPECS,
    run: (o: Parameters<typeof httpCommand>[0]) => httpCommand(o),
  },
  compare: {
    summary: "Interleaved rounds (A,B,A,B,...) against several trackers; medians and ratios.",
    specs: COMPARE_SPECS,
    run: (o: Parameters<typeof compareCommand>[0]) => compareCommand(o),
  },
  "cpu-cost": {
    summary:
      "Tracker CPU microseconds per response at the same fixed UDP and HTTP load for every target (ours-wN, opentracker-wN).\nRuns unchanged on bigger machines: --workers 1,2,4,16; generator processes and wrk threads scale with the CPUs.",
    specs: CPU_COST_SPECS,
    run: (o: Parameters<typeof cpuCostCommand>[0]) => cpuCostCommand(o),
  },
  memory: {
    summary:
      "Fill a tracker with N peers over M torrents over real UDP; resident memory per peer, fill check, probe latency.",
    specs: MEMORY_SPECS,
    run: (o: Parameters<typeof memoryCommand>[0]) => memoryCommand(o),
  },
  "access-list": {
    summary:
      "A 1M-line deny list in a tracker process: start time, RSS per hash, admin API latency, /healthz during a reload.",
    specs: ACCESS_LIST_SPECS,
    run: (o: Parameters<typeof accessListCommand>[0]) => accessListCommand(o),
  },
  restore: {
    summary:
      "Write a state file of N peers over M torrents in-process, start the tracker on it; time to /healthz, CPU, RSS and peak.",
    specs: RESTORE_SPECS,
    run: (o: Parameters<typeof restoreCommand>[0]) => restoreCommand(o),
  },
  serve: {
    summary:
      "serve ours|opentracker|trivial|trivial-bun|bun-ceiling-wN: start one target in the foreground (Ctrl+C stops it).",
    specs: SERVE_SPECS,
    positional: 1,
    run: (o: Parameters<typeof serveCommand>[1], pos: string[]) => serveCommand(pos[0], o),
  },
  trivial: {
    summary: "The trivial responder (C, UDP and HTTP on one port) in the foreground: same as serve trivial.",
    specs: SERVE_SPECS,
    run: (o: Parameters<typeof serveCommand>[1]) => serveCommand("trivial", o),
  },
  opentracker: {
    summary: "Debian's opentracker in the foreground with the workload's whitelist: same as serve opentracker.",
    specs: SERVE_SPECS,
    run: (o: Parameters<typeof serveCommand>[1]) => serveCommand("opentracker", o),
  },
  whitelist: {
    summary: "Write the seeded torrent set as an opentracker whitelist (40 hex characters per line).",
    specs: WHITELIST_SPECS,
    run: async (o: { seed: number; torrents: number; out: string }) => {
      await Bun.write(o.out, whitelistText(torrentHashes(o.seed, o.torrents)));
    },
  },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary.split("\n")[0]}`);
  return `npm run bench -- <subcommand> [options]   (--help after a subcommand lists its options)\n\n${rows.join("\n")}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    console.error(`bench: unknown subcommand "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(helpText(name, command.summary, command.specs));
    return 0;
  }
  const npos = command.positional ?? 0;
  const positional = rest.slice(0, npos);
  if (positional.length < npos || positional.some((p) => p.startsWith("--"))) {
    console.error(`bench: ${name} needs ${npos} argument(s) before the options (see --help)`);
    return 2;
  }
  try {
    const options = parseOptions(name, command.specs, rest.slice(npos));
    await command.run(options as never, positional);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bench: ${err.message}`);
      return 2;
    }
    console.error(`bench ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
