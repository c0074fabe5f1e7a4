// Three cluster instances and their engine on this machine under the UDP workload spread over all three
// (BENCHMARKS.md, "Cluster mode"):
//
//   bun scripts/bench/cluster-three.ts [PEERS_EACH] [TORRENTS] [SECONDS]     (default 300,000 100,000 10)
//
// Starts a redis-server and three trackers (--redis, --cluster-sync-ms 1000), then runs one `udp` load per
// tracker at once: the same torrents (same seed), each from its own source address (127.0.0.2, .3, .4), so
// each instance has its own peers of every torrent. Afterwards, the convergence: 2,000 of the torrents are
// scraped at every instance every 250 ms until all three report the same counts.

import { createServer } from "node:net";
import { join } from "node:path";
import { torrentHashes } from "./workload.ts";

const PEERS = Number(process.argv[2] ?? 300_000);
const TORRENTS = Number(process.argv[3] ?? 100_000);
const SECONDS = Number(process.argv[4] ?? 10);
const ROOT = join(import.meta.dir, "..", "..");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

const redisPort = await freePort();
const redis = Bun.spawn(["redis-server", "--port", String(redisPort), "--save", "", "--appendonly", "no"], {
  stdout: "ignore",
});
await Bun.sleep(500);
const ports = [await freePort(), await freePort(), await freePort()];
const trackers = ports.map((port, i) =>
  Bun.spawn(
    [
      process.execPath,
      join(ROOT, "src", "main.ts"),
      ...["--listen", `127.0.0.1:${port}`, "--rate-limit", "0", "--max-numwant", "30", "--default-numwant", "30"],
      ...["--log-level", "warn", "--peer-timeout-secs", "7200", "--max-peers", "4000000"],
      ...["--redis", `redis://127.0.0.1:${redisPort}`, "--cluster-instance-id", `inst${i}`],
    ],
    { stdout: "inherit", stderr: "inherit" },
  ),
);
await Bun.sleep(1500);

const loads = ports.map((port, i) =>
  Bun.spawn(
    [
      process.execPath,
      join(ROOT, "scripts", "bench", "main.ts"),
      "udp",
      ...["--target", `127.0.0.1:${port}`, "--pid", String(trackers[i].pid), "--pin", "off"],
      ...["--peers", String(PEERS), "--torrents", String(TORRENTS), "--sources", `127.0.0.${i + 2}`],
      ...["--duration", String(SECONDS), "--json"],
    ],
    { stdout: "pipe", stderr: "inherit" },
  ),
);
interface UdpResult {
  responsesPerSec: number;
  errors: number;
  timeouts: number;
  prefillSecs: number | null;
}
const results = await Promise.all(
  loads.map(async (p) => JSON.parse((await new Response(p.stdout).text()).trim().split("\n").at(-1)!) as UdpResult),
);
const stopped = performance.now();
for (const [i, r] of results.entries()) {
  console.log(
    `instance ${i}: ${Math.round(r.responsesPerSec)} responses/s, ${r.errors} errors, ${r.timeouts} timeouts, ` +
      `prefill ${r.prefillSecs?.toFixed(1) ?? "?"} s`,
  );
}
console.log(`total: ${Math.round(results.reduce((n, r) => n + r.responsesPerSec, 0))} responses/s`);

// Convergence of counts.
const hashes = torrentHashes(1, TORRENTS);
const sample = Array.from({ length: 2000 }, (_, k) => Math.floor((k * TORRENTS) / 2000));
const query = (from: number, to: number) =>
  sample
    .slice(from, to)
    .map(
      (t) =>
        `info_hash=${[...hashes.subarray(t * 20, t * 20 + 20)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")}`,
    )
    .join("&");
async function counts(port: number): Promise<string> {
  let all = "";
  for (let i = 0; i < sample.length; i += 100) {
    const body = new Uint8Array(
      await (await fetch(`http://127.0.0.1:${port}/scrape?${query(i, i + 100)}`)).arrayBuffer(),
    );
    all += Buffer.from(body).toString("latin1");
  }
  return all;
}
for (;;) {
  const c = await Promise.all(ports.map(counts));
  const waited = performance.now() - stopped;
  if (c[0] === c[1] && c[1] === c[2]) {
    console.log(
      `converged: all three report the same counts for 2,000 torrents ${(waited / 1000).toFixed(1)} s after the load ended`,
    );
    break;
  }
  if (waited > 30_000) {
    console.log("not converged within 30 s");
    break;
  }
  await Bun.sleep(250);
}
const stats = (await (await fetch(`http://127.0.0.1:${ports[0]}/api/stats`)).json()) as {
  cluster: { instances: number; peers: number; seeders: number };
};
console.log(
  `instance 0's /api/stats cluster: ${JSON.stringify({ instances: stats.cluster.instances, peers: stats.cluster.peers, seeders: stats.cluster.seeders })}`,
);
for (const t of trackers) t.kill();
await Promise.all(trackers.map((t) => t.exited));
redis.kill();
await redis.exited;
