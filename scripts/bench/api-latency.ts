// Announce latency while readers hammer the statistics API (BENCHMARKS.md "Statistics API under load").
//
//   bun scripts/bench/api-latency.ts [--src DIR] [--torrents N] [--readers N] [--secs N] [--remote-readers]
//
// Starts `bun DIR/main.ts` (default: this checkout's src; DIR/../web must hold the dashboard) on a free port
// with loopback exempt from the rate limit (the default), fills N torrents (one peer each) over HTTP, then
// measures sequential announces for --secs seconds without readers and again with --readers loops fetching
// /api/top100?limit=500. With --remote-readers the tracker trusts 127.0.0.1 as a proxy and each reader says
// it is 192.0.2.K (X-Forwarded-For): readers from elsewhere, which the per-source rate limit counts.

import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    src: { type: "string", default: `${import.meta.dir}/../../src` },
    torrents: { type: "string", default: "300000" },
    readers: { type: "string", default: "4" },
    secs: { type: "string", default: "10" },
    "remote-readers": { type: "boolean", default: false },
  },
});
const torrents = Number(values.torrents);
const port = 20000 + Math.floor(Math.random() * 20000);
const base = `http://127.0.0.1:${port}`;
const tracker = Bun.spawn(
  [
    process.execPath,
    `${values.src}/main.ts`,
    "--listen",
    `127.0.0.1:${port}`,
    "--udp-listen",
    "off",
    "--log-level",
    "error",
    "--max-torrents",
    String(torrents + 1000),
    ...(values["remote-readers"] ? ["--trust-proxy", "127.0.0.1/32"] : []),
  ],
  { stdout: "inherit", stderr: "inherit" },
);

/** Info hash i, percent-encoded (20 bytes: the index, then padding). */
function hashOf(i: number): string {
  let s = "";
  for (let b = 0; b < 20; b++) s += "%" + (b < 4 ? (i >>> (b * 8)) & 0xff : 0x41).toString(16).padStart(2, "0");
  return s;
}
const announce = (i: number, port: number, numwant: number) =>
  fetch(
    `${base}/announce?info_hash=${hashOf(i)}&peer_id=-qB4650-xxxxxxxxxxxx&port=${port}&uploaded=0&downloaded=0&left=${i % 3}&numwant=${numwant}&compact=1`,
  ).then((r) => r.arrayBuffer());

try {
  for (let t = Date.now(); ; await Bun.sleep(50)) {
    if (
      await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() - t > 10_000) throw new Error("tracker did not start");
  }
  const fillStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < torrents) await announce(next++, 1000, 0);
    }),
  );
  const stats = (await (await fetch(`${base}/api/stats`)).json()) as { torrents: number };
  console.log(`filled ${stats.torrents} torrents in ${((performance.now() - fillStart) / 1000).toFixed(1)} s`);

  const probe = async (label: string, readers: number) => {
    let stop = false;
    let reads = 0;
    let refused = 0;
    const loops = Array.from({ length: readers }, async (_, k) => {
      const headers: Record<string, string> = values["remote-readers"] ? { "x-forwarded-for": `192.0.2.${k + 1}` } : {};
      while (!stop) {
        const res = await fetch(`${base}/api/top100?limit=500`, { headers });
        await res.arrayBuffer();
        if (res.status === 429) refused++;
        else reads++;
      }
    });
    await Bun.sleep(1000); // readers warmed up (rankings refreshing)
    reads = refused = 0;
    const ms: number[] = [];
    const end = performance.now() + Number(values.secs) * 1000;
    while (performance.now() < end) {
      const t = performance.now();
      await announce(Math.floor(Math.random() * torrents), 2000 + (ms.length % 50000), 30);
      ms.push(performance.now() - t);
    }
    stop = true;
    await Promise.all(loops);
    ms.sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2);
    console.log(
      `${label}: ${ms.length} announces, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${ms.at(-1)!.toFixed(1)} ms; ${(reads / Number(values.secs)).toFixed(0)} API reads/s${refused > 0 ? ` (and ${(refused / Number(values.secs)).toFixed(0)}/s refused with 429)` : ""}`,
    );
  };
  await probe("no readers", 0);
  await probe(`${values.readers} readers of /api/top100?limit=500`, Number(values.readers));
} finally {
  tracker.kill();
  await tracker.exited;
}
