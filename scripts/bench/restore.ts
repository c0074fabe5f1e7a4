// `restore`: how long a start from a large state file takes, without a long UDP fill first. Fills a store
// in-process (IPv4 peers spread evenly, the same shape as `memory`), writes it with the tracker's own
// StateFile, then starts `bun src/main.ts --state-file FILE` and times it to the first /healthz answer (the
// tracker listens only once the restore is done); reads its CPU seconds then, and VmRSS and VmHWM after
// --idle-secs. `memory --restart` measures the same after a real UDP fill, which takes far longer.

import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnnounceRequest, AnnounceResult } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { Logger } from "../../src/server/logger.ts";
import { StateFile } from "../../src/server/state-file.ts";
import type { Options, Specs } from "./args.ts";
import { fixed, int, mib, progress, table } from "./report.ts";
import { cpuSeconds, freePort, peakRssBytes, pinPrefix, rssBytes, shouldPin } from "./trackers.ts";

export const RESTORE_SPECS = {
  torrents: { kind: "int", default: 100_000, min: 1, help: "torrents to spread the peers over" },
  peers: { kind: "int", default: 2_350_000, min: 1, help: "peers to store" },
  "idle-secs": { kind: "num", default: 2, help: "seconds after /healthz answered before the RSS reading" },
  pin: {
    kind: "str",
    default: "auto",
    help: "pin the tracker to --tracker-cpu with taskset: auto (if >= 2 CPUs), on, off",
  },
  "tracker-cpu": { kind: "str", default: "0", help: "CPU list for the tracker (taskset -c)" },
  json: { kind: "flag", help: "print one JSON object instead of the table" },
} satisfies Specs;

const ROOT = join(import.meta.dir, "..", "..");

export async function restoreCommand(o: Options<typeof RESTORE_SPECS>): Promise<void> {
  const path = join(tmpdir(), `buntracker-bench-restore-${process.pid}.bin`);
  try {
    progress(`filling ${int(o.peers)} peers over ${int(o.torrents)} torrents in-process ...`);
    const now = Math.floor(Date.now() / 1000);
    await writeStateFile(path, o.peers, o.torrents, now);
    const fileBytes = Bun.file(path).size;
    progress(`  state file ${mib(fileBytes)}; starting the tracker on it ...`);
    const port = await freePort();
    const argv = [
      ...pinPrefix(shouldPin(o.pin), o["tracker-cpu"]),
      process.execPath,
      join(ROOT, "src", "main.ts"),
      "--listen",
      `127.0.0.1:${port}`,
      "--udp-listen",
      "off",
      "--peer-timeout-secs",
      "7200",
      "--max-torrents",
      String(Math.ceil(o.torrents * 1.1)),
      "--max-peers",
      String(Math.ceil(o.peers * 1.1)),
      "--state-file",
      path,
    ];
    const t0 = performance.now();
    const proc = Bun.spawn(argv, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    try {
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`the tracker exited with ${proc.exitCode}`);
        if (
          await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        await Bun.sleep(10);
      }
      const healthzSecs = (performance.now() - t0) / 1000;
      const healthzCpuSecs = cpuSeconds(proc.pid);
      await Bun.sleep(o["idle-secs"] * 1000);
      const stats = (await (await fetch(`http://127.0.0.1:${port}/api/stats`)).json()) as {
        peers: number;
        torrents: number;
      };
      const r = {
        peers: o.peers,
        torrents: o.torrents,
        fileBytes,
        healthzSecs,
        healthzCpuSecs,
        rssBytes: rssBytes(proc.pid),
        peakRssBytes: peakRssBytes(proc.pid),
        restoredPeers: stats.peers,
        restoredTorrents: stats.torrents,
      };
      console.log(
        o.json
          ? JSON.stringify(r)
          : table([
              ["state file", `${mib(r.fileBytes)} (${int(r.peers)} peers over ${int(r.torrents)} torrents)`],
              [
                "start to /healthz",
                `${fixed(r.healthzSecs, 2)} s (${r.healthzCpuSecs === null ? "-" : fixed(r.healthzCpuSecs, 2)} CPU seconds)`,
              ],
              ["RSS after restore", r.rssBytes === null ? "-" : mib(r.rssBytes)],
              ["peak RSS (VmHWM)", r.peakRssBytes === null ? "-" : mib(r.peakRssBytes)],
              ["restored", `${int(r.restoredPeers)} peers, ${int(r.restoredTorrents)} torrents`],
            ]),
      );
    } finally {
      proc.kill("SIGKILL"); // no save on the way out: the file is thrown away
      await proc.exited;
    }
  } finally {
    rmSync(path, { force: true });
  }
}

/** Peer p goes to torrent p mod `torrents`, from 127.0.x.y by its row; a quarter leech, the rest seed. */
async function writeStateFile(path: string, peers: number, torrents: number, now: number): Promise<void> {
  const store = new Store({
    peerTimeoutS: 7200,
    random: xoshiro128(new Uint32Array([1, 2, 3, 4])),
    maxTorrents: torrents,
    maxPeers: peers,
  });
  const req = new AnnounceRequest();
  const res = new AnnounceResult(0);
  req.numWant = 0;
  req.ipLen = 4;
  const hash = new Uint8Array(20);
  const view = new DataView(hash.buffer);
  for (let p = 0; p < peers; p++) {
    const t = p % torrents;
    const row = Math.floor(p / torrents);
    view.setUint32(0, Math.imul(t, 0x9e3779b1) >>> 0);
    view.setUint32(4, t);
    req.infoHash = String.fromCharCode(...hash);
    req.ip.set([127, (row >> 16) & 255, (row >> 8) & 255, row & 255]);
    req.port = 1024 + (p & 1023);
    req.left = p % 4 === 0 ? 50 : 0;
    req.clientTag = 1;
    store.announce(req, now, res);
  }
  const file = new StateFile(path, store, new Logger("error"));
  await file.save();
  if (file.saves !== 1) throw new Error("the state file could not be written");
}
