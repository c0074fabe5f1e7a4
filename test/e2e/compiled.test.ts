// The executable a user downloads: `bun build --compile` with the dashboard embedded, run from another
// directory with nothing else around it; and the variant built without the dashboard.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryPoints } from "../../scripts/lib/entry-points.ts";
import { announceQuery, getBencode, sha1 } from "../helpers/http-client.ts";
import { startTracker } from "../helpers/tracker-process.ts";
import { bin20, webtorrentPeerId, WsClient } from "../helpers/ws-client.ts";

const ROOT = join(import.meta.dir, "..", "..");
let dir: string;

function compile(out: string, defines: string[] = []): void {
  const r = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify",
      "--sourcemap",
      ...defines,
      ...entryPoints(ROOT),
      "--outfile",
      out,
    ],
    { cwd: ROOT, stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`bun build failed: ${r.stderr.toString()}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "buntracker-compiled-"));
  compile(join(dir, "buntracker"));
  compile(join(dir, "buntracker-no-dashboard"), ["--define", "WITH_DASHBOARD=false"]);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("compiled executable", () => {
  test("serves the embedded dashboard with cache headers, and the tracker", async () => {
    const t = await startTracker(["--listen", "127.0.0.1:0"], {}, [], join(dir, "buntracker"), dir);
    try {
      const base = `http://127.0.0.1:${t.httpPort}`;
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("cache-control")).toBe("no-cache");
      expect(page.headers.get("etag")).toBeTruthy();
      const assets = [...(await page.text()).matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
      expect(assets.length).toBeGreaterThanOrEqual(2);
      for (const path of assets) {
        const res = await fetch(base + path);
        expect(res.status).toBe(200);
        expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      }
      expect(((await (await fetch(`${base}/api/stats`)).json()) as { torrents: number }).torrents).toBe(0);
      expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok\n");
      // WebTorrent on "/", the dashboard's own path: the handshake is upgraded, not answered with the page.
      const ws = await WsClient.open(`ws://127.0.0.1:${t.httpPort}/`);
      ws.send({ action: "announce", info_hash: bin20("compiled"), peer_id: webtorrentPeerId(1), left: 0 });
      expect(await ws.next()).toMatchObject({ action: "announce", complete: 1, incomplete: 0 });
      // A graceful stop with a WebSocket open: the client is told the tracker is going away, and it exits 0.
      expect(await t.stop()).toBe(0);
      expect(await ws.closed).toBe(1001);
    } finally {
      if (t.proc.exitCode === null) expect(await t.stop()).toBe(0);
    }
  });

  test("--workers 2: the threads' code is in the executable, and they share one store", async () => {
    const t = await startTracker(["--listen", "127.0.0.1:0", "--workers", "2"], {}, [], join(dir, "buntracker"), dir);
    try {
      const base = `http://127.0.0.1:${t.httpPort}`;
      // 16 connections and 8 torrents: both threads read some, and each owns some.
      for (let i = 0; i < 16; i++) {
        const q = announceQuery({ infoHash: sha1(`compiled workers ${i % 8}`), port: 7000 + i, left: 0 });
        const r = await getBencode(`${base}/announce?${q}`, { headers: { connection: "close" } });
        expect(r.body["failure reason"]).toBeUndefined();
      }
      const stats = (await (await fetch(`${base}/api/stats`)).json()) as { torrents: number; peers: number };
      expect([stats.torrents, stats.peers]).toEqual([8, 16]);
      expect(t.output()).toContain('"workers":2');
      expect(t.output()).toContain('"udpSteering":true'); // bun:ffi reached libc from the executable
      expect(await t.stop()).toBe(0);
    } finally {
      if (t.proc.exitCode === null) expect(await t.stop()).toBe(0);
    }
  });

  test("--admin-listen serves the embedded dashboard and /metrics, and `healthcheck` checks its /healthz", async () => {
    const binary = join(dir, "buntracker");
    const t = await startTracker(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], {}, [], binary, dir);
    try {
      const adminPort = Number(/"adminPort":(\d+)/.exec(t.output())?.[1]);
      expect(adminPort).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${adminPort}/`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${adminPort}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).status).toBe(404);
      const check = Bun.spawn([binary, "healthcheck", "--admin-listen", `127.0.0.1:${adminPort}`], {
        cwd: dir,
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(await check.exited).toBe(0);
      expect(await new Response(check.stdout).text()).toBe(
        `buntracker: healthy: http://127.0.0.1:${adminPort}/healthz answered 200 (ok)\n`,
      );
    } finally {
      expect(await t.stop()).toBe(0);
    }
  });

  test("the no-dashboard build answers 404 at / and carries none of the dashboard", async () => {
    const binary = join(dir, "buntracker-no-dashboard");
    const t = await startTracker(["--listen", "127.0.0.1:0"], {}, [], binary, dir);
    try {
      const base = `http://127.0.0.1:${t.httpPort}`;
      expect((await fetch(`${base}/`)).status).toBe(404);
      expect((await fetch(`${base}/api/stats`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
    } finally {
      expect(await t.stop()).toBe(0);
    }
    const bytes = await readFile(binary);
    // Marker strings from the page's text, its markup code and ECharts: in the full build, absent here.
    const full = await readFile(join(dir, "buntracker"));
    for (const marker of ["Client distribution", "stat-peers", "_echarts_instance_"]) {
      expect(full.includes(marker)).toBe(true);
      expect(bytes.includes(marker)).toBe(false);
    }
  });
});
