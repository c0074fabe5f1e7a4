// `serve KIND`: start one target in the foreground (ours, opentracker with the workload's whitelist, a
// trivial responder, or Bun's zero-work responder in N threads: bun-ceiling-wN), print its address and pid, and stop it on Ctrl+C. For manual runs and for pointing a
// generator on another machine at it. `trivial` and `opentracker` are shorthands for `serve trivial` etc.

import type { Options, Specs } from "./args.ts";
import { progress } from "./report.ts";
import { parseKinds, TARGET_SPECS, withSession } from "./session.ts";
import { runBunCeiling, runBunTrivial } from "./trivial-bun.ts";
import { WORKLOAD_SPECS } from "./udp.ts";
import { torrentHashes } from "./workload.ts";

export const SERVE_SPECS = {
  host: { kind: "str", default: "127.0.0.1", help: "address to listen on (IPv4)" },
  port: { kind: "int", default: 6969, help: "port, TCP and UDP (0 picks a free one)" },
  pin: TARGET_SPECS.pin,
  "tracker-cpu": TARGET_SPECS["tracker-cpu"],
  "ot-udp-workers": TARGET_SPECS["ot-udp-workers"],
  "ours-args": TARGET_SPECS["ours-args"],
  ...WORKLOAD_SPECS,
} satisfies Specs;

export async function serveCommand(kindText: string, o: Options<typeof SERVE_SPECS>): Promise<void> {
  const spec = parseKinds(kindText)[0];
  if (spec.kind === "trivial-bun" || spec.kind === "bun-ceiling") {
    // In this process: the launcher starts `serve trivial-bun` / `serve bun-ceiling-wN` as its child.
    const server =
      spec.kind === "trivial-bun"
        ? await runBunTrivial(o.host, o.port)
        : await runBunCeiling(o.host, o.port, spec.workers ?? 1);
    const stop = () => {
      server.close();
      process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    return new Promise(() => {});
  }
  const hashes = torrentHashes(o.seed, o.torrents);
  await withSession("serve", { ...o, "gen-cpu": "", specs: [spec] }, async (session) => {
    const t = await session.start(spec, {
      hashes,
      peers: o.peers,
      torrents: o.torrents,
      host: o.host,
      ...(o.port > 0 ? { port: o.port } : {}),
    });
    console.log(
      JSON.stringify({
        tracker: spec.name,
        udp: `udp://${t.host}:${t.port}/announce`,
        http: `http://${t.host}:${t.port}/announce`,
        pid: t.pid,
      }),
    );
    progress("running; Ctrl+C stops it");
    await new Promise(() => {}); // the session's signal handler stops the tracker and exits
  });
}
