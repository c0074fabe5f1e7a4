// The statistics API and /metrics against a tracker loaded with real announces over HTTP and UDP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { announceQuery, getBencode, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker } from "../helpers/tracker-process.ts";
import { announcePacket, UdpClient } from "../helpers/udp-client.ts";

let t: TestTracker;
let base: string;
const id = (prefix: string) => new TextEncoder().encode(prefix.padEnd(20, "x"));

async function announce(label: string, port: number, peerId: string, left: number, event?: string) {
  const r = await getBencode(
    `${base}/announce?${announceQuery({ infoHash: sha1(label), port, peerId: id(peerId), left, event })}`,
  );
  expect(r.body["failure reason"]).toBeUndefined();
}

async function api(path: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(base + path);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const hexOf = (label: string) => Buffer.from(sha1(label)).toString("hex");

beforeAll(async () => {
  t = await startTestTracker();
  base = `http://127.0.0.1:${t.httpPort}`;
  // "big": 2 seeders + 2 leechers (1 completed); "small": 1 leecher; clients: 2 qBittorrent, 2 Transmission, 1 aria2.
  await announce("big", 1, "-qB4650-", 0, "completed");
  await announce("big", 2, "-qB4650-", 0);
  await announce("big", 3, "-TR3000-", 100);
  await announce("big", 4, "-TR3000-", 100);
  await announce("small", 5, "A2-1-36-0-", 100);
  // One UDP peer from a Deluge client on the same torrent, so both protocols feed the statistics.
  const c = await UdpClient.open("127.0.0.1", t.udpPort!);
  await c.request(
    announcePacket({
      connectionId: await c.connect(),
      infoHash: sha1("big"),
      peerId: id("-DE13F0-"),
      port: 6,
      left: 0n,
    }),
  );
  c.close();
});

afterAll(async () => {
  await t.stop();
});

describe("/api/stats", () => {
  test("reports the live totals, settings and version", async () => {
    const { status, body, headers } = await api("/api/stats");
    expect(status).toBe(200);
    expect(headers.get("content-type")).toContain("application/json");
    expect(body).toMatchObject({
      torrents: 2,
      peers: 6,
      peers_ipv4: 6,
      peers_ipv6: 0,
      peers_websocket: 0,
      seeders: 3,
      leechers: 3,
      completed: 1,
      interval: 1800,
      min_interval: 900,
      peer_timeout: 3000,
      udp_port: t.udpPort,
      websocket: true,
      websocket_connections: 0,
    });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.uptime_secs).toBeGreaterThanOrEqual(0);
    expect(Object.keys(body.requests_per_sec).sort()).toEqual([
      "http_announce",
      "http_scrape",
      "total",
      "udp_announce",
      "udp_connect",
      "udp_scrape",
      "ws_announce",
      "ws_scrape",
    ]);
  });

  test("requests per second follow the traffic, split by protocol and kind", async () => {
    const deadline = Date.now() + 5000;
    let rps: Record<string, number> = {};
    // The rate is sampled once a second; keep announcing until a sample has seen the traffic.
    while (Date.now() < deadline) {
      await announce("rate", 7, "-qB4650-", 1);
      rps = (await api("/api/stats")).body.requests_per_sec;
      if (rps.http_announce > 0) break;
    }
    expect(rps.http_announce).toBeGreaterThan(0);
    expect(rps.total).toBeGreaterThanOrEqual(rps.http_announce);
    expect(rps.udp_scrape).toBe(0);
  });
});

describe("/api/clients", () => {
  test("list: every client with live peers and its share", async () => {
    const { body } = await api("/api/clients/list");
    const byName = Object.fromEntries(body.clients.map((c: any) => [c.name, c]));
    expect(byName.qBittorrent.peers).toBeGreaterThanOrEqual(2);
    expect(byName.Transmission.peers).toBe(2);
    expect(byName.Deluge.peers).toBe(1);
    expect(byName.aria2.peers).toBe(1);
    expect(body.total).toBe(body.clients.reduce((a: number, c: any) => a + c.peers, 0));
    const shares = body.clients.reduce((a: number, c: any) => a + c.share, 0);
    expect(shares).toBeCloseTo(1, 2);
    // Sorted by peers, most first.
    const peers = body.clients.map((c: any) => c.peers);
    expect(peers).toEqual([...peers].sort((a: number, b: number) => b - a));
  });

  test("history: top clients and their counts per sample", async () => {
    const { body } = await api("/api/clients?range=24h");
    expect(body.range).toBe("24h");
    expect(body.interval_secs).toBe(600);
    expect(body.clients).toContain("Transmission");
    expect(body.samples.length).toBeGreaterThanOrEqual(1);
    for (const s of body.samples) expect(s.counts).toHaveLength(body.clients.length);
  });
});

describe("/api/trends", () => {
  test("returns the samples of the range, recorded by the timer (one at start)", async () => {
    for (const range of ["24h", "3d", "7d"]) {
      const { status, body } = await api(`/api/trends?range=${range}`);
      expect(status).toBe(200);
      expect(body.range).toBe(range);
      expect(body.interval_secs).toBe(600);
      expect(body.samples.length).toBeGreaterThanOrEqual(1);
      expect(Object.keys(body.samples[0]).sort()).toEqual(["leechers", "peers", "seeders", "t", "torrents"]);
    }
  });

  test("reading the API never records a sample", async () => {
    const before = t.stats.ctx.trends.size;
    for (let i = 0; i < 20; i++) await api("/api/trends");
    for (let i = 0; i < 20; i++) await api("/api/clients");
    expect(t.stats.ctx.trends.size).toBe(before);
  });
});

describe("/api/top100", () => {
  test("four rankings, highest first, with hex info hashes", async () => {
    const { body } = await api("/api/top100");
    expect(body.limit).toBe(100);
    expect(body.peers[0]).toEqual({ info_hash: hexOf("big"), seeders: 3, leechers: 2, peers: 5, downloaded: 1 });
    expect(body.peers.map((e: any) => e.info_hash)).toContain(hexOf("small"));
    expect(body.seeders.map((e: any) => e.info_hash)).not.toContain(hexOf("small")); // no seeders there
    expect(body.downloaded.map((e: any) => e.info_hash)).toEqual([hexOf("big")]);
    expect(body.leechers[0].leechers).toBeGreaterThanOrEqual(body.leechers.at(-1).leechers);
  });

  test("limit is honoured from 0 to 500", async () => {
    expect((await api("/api/top100?limit=1")).body.peers).toHaveLength(1);
    expect((await api("/api/top100?limit=0")).body.peers).toHaveLength(0);
    expect((await api("/api/top100?limit=500")).status).toBe(200);
  });
});

describe("cost and abuse", () => {
  const built = async (tracker: TestTracker) => {
    const text = await (await fetch(`http://127.0.0.1:${tracker.httpPort}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith('buntracker_api_answers_total{source="built"} '));
    if (line === undefined) throw new Error("no buntracker_api_answers_total in /metrics");
    return Number(line.split(" ")[1]);
  };

  test("many readers within a second share one built answer per query", async () => {
    const before = await built(t);
    const bodies = await Promise.all(
      Array.from({ length: 30 }, () => fetch(`${base}/api/top100?limit=500`).then((r) => r.text())),
    );
    // "limit=0500" and an unknown parameter are the same query.
    bodies.push(await (await fetch(`${base}/api/top100?limit=0500&x=1`)).text());
    // One build, or two if a second boundary fell within the burst (the cache keeps an answer for a second).
    expect((await built(t)) - before).toBeLessThanOrEqual(2);
    expect(new Set(bodies.map((b) => JSON.parse(b).generated_at)).size).toBeLessThanOrEqual(2);
    expect(JSON.parse(bodies[0]).peers[0].info_hash).toBe(hexOf("big"));
  });

  test("an answer is at most a second old", async () => {
    // A tracker of its own, so the first /api/stats below is built now (not cached by an earlier test).
    const own = await startTestTracker();
    try {
      const stats = async () =>
        ((await (await fetch(`http://127.0.0.1:${own.httpPort}/api/stats`)).json()) as { torrents: number }).torrents;
      expect(await stats()).toBe(0);
      const q = announceQuery({ infoHash: sha1("fresh"), port: 7, peerId: id("-qB4650-"), left: 100 });
      expect(
        (await getBencode(`http://127.0.0.1:${own.httpPort}/announce?${q}`)).body["failure reason"],
      ).toBeUndefined();
      expect(await stats()).toBe(0); // served from the cache
      const deadline = Date.now() + 3000;
      while ((await stats()) === 0 && Date.now() < deadline) await Bun.sleep(50);
      expect(await stats()).toBe(1);
    } finally {
      await own.stop();
    }
  });

  test("API requests count against the per-source rate limit: 429 with Retry-After, announces share the budget", async () => {
    const limited = await startTestTracker(["--rate-limit", "1", "--rate-burst", "3", "--rate-limit-exempt", ""]);
    try {
      const statuses: number[] = [];
      let refusal: Response | null = null;
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`http://127.0.0.1:${limited.httpPort}/api/top100?limit=500`);
        statuses.push(res.status);
        if (res.status === 429) refusal = res;
        else await res.arrayBuffer();
      }
      // A burst of 3, and at most one more token if a second boundary fell within the loop.
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(4);
      expect(refusal).not.toBeNull();
      expect(refusal!.headers.get("retry-after")).toBe("1");
      expect(((await refusal!.json()) as { error: string }).error).toBe(FAILURE_TEXT.rate_limited);
      const q = announceQuery({ infoHash: sha1("limited"), port: 9, peerId: id("-qB4650-"), left: 1 });
      const r = await getBencode(`http://127.0.0.1:${limited.httpPort}/announce?${q}`);
      expect(r.body["failure reason"]).toBe(FAILURE_TEXT.rate_limited);
    } finally {
      await limited.stop();
    }
  });
});

describe("bad requests", () => {
  test("bad query values get a JSON error with status 400", async () => {
    for (const path of [
      "/api/top100?limit=501",
      "/api/top100?limit=-1",
      "/api/top100?limit=abc",
      "/api/top100?limit=",
      "/api/trends?range=1y",
      "/api/clients?range=x",
    ]) {
      const { status, body } = await api(path);
      expect(status).toBe(400);
      expect(typeof body.error).toBe("string");
    }
  });
  test("unknown API paths get a JSON 404; other methods a JSON 405", async () => {
    const missing = await api("/api/nothing");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe("not found");
    const post = await fetch(`${base}/api/stats`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(((await post.json()) as { error: string }).error).toBe("method not allowed");
  });
});

describe("/metrics", () => {
  test("Prometheus text with requests, swarm totals, clients, memory and sweep timing", async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    const value = (series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(series + " "));
      if (line === undefined) throw new Error(`no ${series} in\n${text}`);
      return Number(line.slice(series.length + 1));
    };
    expect(value('buntracker_requests_total{protocol="http",action="announce",outcome="ok"}')).toBeGreaterThanOrEqual(
      5,
    );
    expect(value('buntracker_requests_total{protocol="udp",action="connect",outcome="ok"}')).toBe(1);
    expect(value('buntracker_requests_total{protocol="udp",action="announce",outcome="ok"}')).toBe(1);
    expect(value("buntracker_torrents")).toBeGreaterThanOrEqual(2);
    expect(value('buntracker_peers{family="ipv4"}')).toBeGreaterThanOrEqual(6);
    expect(value("buntracker_seeders")).toBe(3);
    expect(value('buntracker_peers_by_client{client="Transmission"}')).toBe(2);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(1e6);
    expect(value("buntracker_expiry_sweep_seconds_count")).toBeGreaterThanOrEqual(0);
    // Every sample line belongs to a declared metric.
    const declared = new Set(
      text
        .split("\n")
        .filter((l) => l.startsWith("# TYPE "))
        .map((l) => l.split(" ")[2]),
    );
    for (const line of text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))) {
      const name = line.split(/[{ ]/)[0];
      expect(declared.has(name) || declared.has(name.replace(/_(sum|count)$/, ""))).toBe(true);
    }
  });
});

describe("trend persistence", () => {
  test("the history survives a restart through --trends-file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "buntracker-api-"));
    try {
      const path = join(dir, "trends.jsonl");
      const first = await startTracker(["--listen", "127.0.0.1:0", "--trends-file", path]);
      const url = `http://127.0.0.1:${first.httpPort}`;
      await fetch(
        `${url}/announce?${announceQuery({ infoHash: sha1("persist"), port: 9, peerId: id("-qB4650-"), left: 0 })}`,
      );
      expect(await first.stop()).toBe(0);
      // Graceful shutdown wrote a final sample that saw the peer.
      const lines = (await readFile(path, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.at(-1)).toMatchObject({ peers: 1, torrents: 1, clients: { qBittorrent: 1 } });
      const second = await startTracker(["--listen", "127.0.0.1:0", "--trends-file", path]);
      try {
        const body: any = await (await fetch(`http://127.0.0.1:${second.httpPort}/api/trends?range=24h`)).json();
        expect(body.samples.some((s: any) => s.peers === 1)).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("dashboard delivery", () => {
  test("the page revalidates (no-cache + ETag) and its hashed assets are cached for a year", async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const etag = page.headers.get("etag");
    expect(etag).toBeTruthy();
    const html = await page.text();
    expect((await fetch(`${base}/`, { headers: { "if-none-match": etag! } })).status).toBe(304);
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const path of assets) {
      const res = await fetch(base + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      // Nothing to fetch from elsewhere: no absolute http(s) URL in a script or style import.
      expect(await res.text()).not.toMatch(/(?:import|@import|url)\s*\(?\s*["']https?:\/\//);
    }
  });
});
