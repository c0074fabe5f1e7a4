// `bench access-list`: a deny list of N lines (default 1M, the size of public trackers' DMCA lists) in a real
// tracker process: start time against a start without a list, resident memory per listed hash, admin API
// latency (GET lookup, GET page, POST, DELETE), and the longest /healthz wait while the list is reloaded,
// with the peak RSS (VmHWM) over the whole run against the steady figure.

import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Specs } from "./args.ts";
import { cpuSeconds, freePort, peakRssBytes, ROOT, rssBytes } from "./trackers.ts";

export const ACCESS_LIST_SPECS = {
  lines: { kind: "int", default: 1_000_000, min: 1, help: "info hashes in the deny list" },
  seed: { kind: "int", default: 1, help: "seed of the generated hashes" },
  repeat: { kind: "int", default: 5, min: 1, help: "admin requests of each kind (the median is reported)" },
} satisfies Specs;

const TOKEN = "bench-admin-token-0123456789abcdef";
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function accessListCommand(o: { lines: number; seed: number; repeat: number }): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "bench-access-"));
  try {
    const list = join(dir, "deny.txt");
    const text = listText(o.lines, o.seed);
    await writeFile(list, text);
    await Bun.sleep(300); // older than the tracker's stability wait, which would otherwise count as start time
    console.log(`list: ${o.lines} lines, ${mib(text.length)}`);

    const bare = await startTracker([]);
    const bareRss = await settledRss(bare.pid);
    await bare.stop();
    const t = await startTracker(["--blacklist", list]);
    const rss = await settledRss(t.pid);
    console.log(
      `start: ${bare.startMs.toFixed(0)} ms without a list, ${t.startMs.toFixed(0)} ms with it (+${(t.startMs - bare.startMs).toFixed(0)} ms)`,
    );
    console.log(
      `start CPU: ${bare.startCpuS.toFixed(2)} s without a list, ${t.startCpuS.toFixed(2)} s with it (+${(t.startCpuS - bare.startCpuS).toFixed(2)} s)`,
    );
    console.log(
      `RSS: ${mib(bareRss)} without a list, ${mib(rss)} with it: ${((rss - bareRss) / o.lines).toFixed(1)} B per listed hash`,
    );

    const hexes = text.slice(0, 41 * 3).split("\n");
    const ms = async (method: string, query: string, body?: string, want?: number) => {
      const started = performance.now();
      const res = await fetch(`${t.base}/api/blacklist${query}`, {
        method,
        body,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      await res.arrayBuffer();
      if (want !== undefined && res.status !== want)
        throw new Error(`${method} ${query}: status ${res.status}, expected ${want}`);
      return performance.now() - started;
    };
    const times: Record<string, number[]> = {
      "GET lookup": [],
      "GET page (1000 at offset N/2)": [],
      POST: [],
      DELETE: [],
    };
    for (let i = 0; i < o.repeat; i++) {
      const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex");
      times["GET lookup"].push(await ms("GET", `?info_hash=${hexes[i % 3]}`, undefined, 200));
      times["GET page (1000 at offset N/2)"].push(
        await ms("GET", `?offset=${o.lines >> 1}&limit=1000`, undefined, 200),
      );
      times.POST.push(await ms("POST", "", JSON.stringify({ info_hash: fresh }), 200));
      times.DELETE.push(await ms("DELETE", `?info_hash=${fresh}`, undefined, 200));
    }
    for (const [name, xs] of Object.entries(times)) {
      console.log(
        `admin ${name}: median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (${xs.length} requests)`,
      );
    }

    // A reload: the list replaced by rename with one line fewer; /healthz asked every few ms meanwhile.
    const tmp = join(dir, "deny.txt.new");
    await writeFile(tmp, text.slice(41));
    const waits: number[] = [];
    const cpuBefore = cpuSeconds(t.pid) ?? 0;
    const reloadStarted = performance.now();
    await rename(tmp, list);
    for (;;) {
      const started = performance.now();
      await (await fetch(`${t.base}/healthz`)).arrayBuffer();
      waits.push(performance.now() - started);
      const total = (await (
        await fetch(`${t.base}/api/blacklist?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as { total: number };
      if (total.total === o.lines - 1) break;
      if (performance.now() - reloadStarted > 60_000) throw new Error("the reload did not finish within 60 s");
      await Bun.sleep(2);
    }
    const reloadMs = performance.now() - reloadStarted;
    const reloadCpu = (cpuSeconds(t.pid) ?? 0) - cpuBefore;
    console.log(
      `reload: done ${reloadMs.toFixed(0)} ms after the rename (${reloadCpu.toFixed(2)} CPU s, all threads); /healthz: ${waits.length} requests, longest ${Math.max(...waits).toFixed(1)} ms, median ${median(waits).toFixed(1)} ms`,
    );
    const after = await settledRss(t.pid);
    const peak = peakRssBytes(t.pid) ?? 0;
    console.log(
      `RSS after the reload ${mib(after)}; peak (VmHWM) over the run ${mib(peak)} = ${(peak / rss).toFixed(2)}x the steady ${mib(rss)}`,
    );
    await t.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `lines` pseudo-random hashes (xorshift, so a seed gives the same list), 40 lowercase hex and a newline each. */
function listText(lines: number, seed: number): string {
  let x = seed >>> 0 || 1;
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    let s = "";
    for (let w = 0; w < 5; w++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      s += (x >>> 0).toString(16).padStart(8, "0");
    }
    parts.push(s);
  }
  return `${parts.join("\n")}\n`;
}

interface Tracker {
  pid: number;
  base: string;
  startMs: number;
  /** CPU seconds (all threads) the process had used when it first answered: less at the mercy of other jobs. */
  startCpuS: number;
  stop(): Promise<void>;
}

/** Starts the tracker; `startMs` runs from the spawn to the first answered /healthz. */
async function startTracker(args: string[]): Promise<Tracker> {
  const port = await freePort();
  const started = performance.now();
  const proc = Bun.spawn(
    [
      process.execPath,
      join(ROOT, "src", "main.ts"),
      "--listen",
      `127.0.0.1:${port}`,
      "--udp-listen",
      "off",
      "--admin-token",
      TOKEN,
      "--log-level",
      "warn",
      ...args,
    ],
    { cwd: ROOT, stdin: "ignore", stdout: "ignore", stderr: "inherit" },
  );
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`the tracker exited with ${proc.exitCode}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await Bun.sleep(5);
  }
  const startMs = performance.now() - started;
  return {
    pid: proc.pid,
    base,
    startMs,
    startCpuS: cpuSeconds(proc.pid) ?? 0,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** RSS once the process has been idle for a moment (after start, the collector still returns memory). */
async function settledRss(pid: number): Promise<number> {
  await Bun.sleep(1500);
  return rssBytes(pid) ?? 0;
}
