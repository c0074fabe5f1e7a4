// Cluster mode's faults, each against a real redis-server: an engine down at start, killed under load and
// back empty, an instance killed, and completion counts across failed syncs.

import { afterEach, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { heartbeatTtlMs } from "../../src/server/cluster/cluster-sync.ts";
import { waitFor } from "../helpers/clients.ts";
import { announceQuery, compactPeers, getBencode, pct, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer } from "../helpers/redis-server.ts";
import { startTracker as startProcess, type TrackerProcess } from "../helpers/tracker-process.ts";

const SYNC_MS = 100;
if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

interface Reply {
  complete: number;
  incomplete: number;
  peers: string[];
}

async function announce(port: number, hash: Uint8Array, peerPort: number, left: number, event?: string) {
  const q = announceQuery({ infoHash: hash, port: peerPort, left, event, compact: 1, numwant: 50 });
  const r = await getBencode(`http://127.0.0.1:${port}/announce?${q}`);
  if (r.status !== 200 || r.body["failure reason"] !== undefined)
    throw new Error(`announce failed: ${JSON.stringify(r.body)}`);
  return { ...r.body, peers: compactPeers(r.body.peers, 6) } as unknown as Reply;
}

async function scrape(port: number, hash: Uint8Array) {
  const r = await getBencode(`http://127.0.0.1:${port}/scrape?info_hash=${pct(hash)}`);
  const files = r.body.files as Record<string, { complete: number; incomplete: number; downloaded: number }>;
  return Object.values(files)[0] ?? { complete: 0, incomplete: 0, downloaded: 0 };
}

const args = (redis: RedisServer, id: string, more: string[] = []) => [
  ...["--redis", redis.url, "--cluster-sync-ms", String(SYNC_MS), "--cluster-instance-id", id],
  ...more,
];

const metric = async (t: TestTracker, series: string) => {
  const text = await (await fetch(`http://127.0.0.1:${t.adminPort ?? t.httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const lines = (t: TestTracker, what: string) => t.logs.filter((l) => l.includes(what)).length;

describe.skipIf(REDIS_SERVER === null)("cluster faults", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
    cleanup.length = 0;
  });
  const engine = async () => {
    const r = await RedisServer.start();
    cleanup.push(() => r.stop());
    return r;
  };
  const tracker = async (redis: RedisServer, id: string, more: string[] = []) => {
    const t = await startTestTracker(args(redis, id, more));
    cleanup.unshift(() => t.stop()); // trackers stop before the engine
    return t;
  };

  test("engine unreachable at start: serves locally, logs once, shows it, then reconnects and publishes", async () => {
    const redis = await engine();
    await redis.kill();
    const started = performance.now();
    const a = await tracker(redis, "a", ["--admin-listen", "127.0.0.1:0"]);
    expect(performance.now() - started).toBeLessThan(3000);
    const hash = sha1("faults-start");
    await announce(a.httpPort, hash, 1001, 0);
    const local = await announce(a.httpPort, hash, 1002, 10);
    expect(local.peers).toEqual(["127.0.0.1:1001"]);
    expect(local.complete).toBe(1);
    await Bun.sleep(10 * SYNC_MS);
    expect(lines(a, "cluster: engine unreachable")).toBe(1);
    expect(await metric(a, `buntracker_cluster_engine_up{engine="${redis.url}"}`)).toBe(0);
    const health = await fetch(`http://127.0.0.1:${a.adminPort}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toContain(`cluster engine ${redis.url} unreachable`);

    await redis.restart();
    const b = await tracker(redis, "b");
    await waitFor("A's peers in B's reply after A reconnected", 8000, async () => {
      const r = await announce(b.httpPort, hash, 2001, 10);
      return r.peers.includes("127.0.0.1:1001") && r.peers.includes("127.0.0.1:1002");
    });
    expect(await metric(a, `buntracker_cluster_engine_up{engine="${redis.url}"}`)).toBe(1);
    expect((await fetch(`http://127.0.0.1:${a.adminPort}/healthz`)).status).toBe(200);
    expect(lines(a, "cluster: engine unreachable")).toBe(1);
    expect(lines(a, "cluster: engine connected")).toBe(1);
  });

  test("engine killed under load and back empty: every announce answered, the cluster converges again", async () => {
    const redis = await engine();
    const a = await tracker(redis, "a");
    const b = await tracker(redis, "b");
    const hash = sha1("faults-kill");
    await announce(a.httpPort, hash, 1001, 0);
    await waitFor("A's seeder at B", 5000, async () => (await announce(b.httpPort, hash, 2001, 10)).peers.length === 1);
    await redis.kill();
    await waitFor("A noticed", 5000, () => lines(a, "cluster: engine unreachable") === 1);
    // Load during the outage: every answer comes from the local view, none waits for the engine.
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      const r = await announce(a.httpPort, hash, 1100 + (i % 20), 10);
      expect(r.peers).toContain("127.0.0.1:1001");
    }
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(lines(a, "cluster: engine unreachable")).toBe(1);
    await redis.restart(); // empty: no persistence
    const t1 = performance.now();
    const seen = await waitFor("A's peers at B again", 8000, async () => {
      const r = await announce(b.httpPort, hash, 2001, 10);
      return r.peers.length === 21 ? r : undefined;
    });
    expect(seen.complete).toBe(1);
    expect(seen.incomplete).toBe(21);
    // An engine failure is expected: never reported as an unexpected error (a bug).
    for (const t of [a, b]) expect(lines(t, "unexpected error")).toBe(0);
    // Within the reconnection backoff (at most 5 sync periods here: 1 s) plus two sync periods.
    expect(performance.now() - t1).toBeLessThan(1000 + 2 * SYNC_MS + 1000);
  });

  test("an engine that stops answering: batches time out, the tracker keeps answering, then catches up", async () => {
    const redis = await engine();
    const a = await tracker(redis, "a");
    const b = await tracker(redis, "b");
    const hash = sha1("faults-stall");
    await announce(b.httpPort, hash, 2001, 10);
    await announce(a.httpPort, hash, 1001, 0);
    await waitFor("A's seeder at B", 5000, async () => (await announce(b.httpPort, hash, 2001, 10)).complete === 1);
    // The engine holds every client's commands for 2.5 s (longer than the 1 s batch timeout at this period).
    const admin = new RedisClient(redis.url);
    await admin.send("CLIENT", ["PAUSE", "2500", "ALL"]);
    const t0 = performance.now();
    await announce(a.httpPort, hash, 1002, 10);
    expect(performance.now() - t0).toBeLessThan(500);
    await waitFor("A's timeout logged", 5000, () => lines(a, "cluster: engine unreachable") === 1);
    await waitFor(
      "A's new leecher at B",
      10_000,
      async () => (await announce(b.httpPort, hash, 2001, 10)).incomplete === 2,
    );
    admin.close();
    for (const t of [a, b]) {
      expect(lines(t, "cluster: engine unreachable")).toBe(1);
      expect(lines(t, "unexpected error")).toBe(0); // an engine failure is not a bug
    }
  });

  test("an instance killed: its peers leave the others' replies within the heartbeat's expiry", async () => {
    const redis = await engine();
    const b = await tracker(redis, "b");
    const a: TrackerProcess = await startProcess([
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      ...args(redis, "a"),
    ]);
    cleanup.unshift(() => a.stop("SIGKILL"));
    const hash = sha1("faults-instance");
    await announce(a.httpPort, hash, 1001, 0);
    await waitFor("A's seeder at B", 5000, async () => (await announce(b.httpPort, hash, 2001, 10)).complete === 1);
    await a.stop("SIGKILL");
    const t0 = performance.now();
    const gone = await waitFor("A's seeder gone from B", 8000, async () => {
      const r = await announce(b.httpPort, hash, 2001, 10);
      return r.peers.length === 0 ? r : undefined;
    });
    expect(gone.complete).toBe(0);
    expect(performance.now() - t0).toBeLessThan(heartbeatTtlMs(SYNC_MS) + 2 * SYNC_MS + 500);
  });

  test("an instance stopped gracefully: its peers leave at the others' next sync, before its heartbeat would expire", async () => {
    const redis = await engine();
    const b = await tracker(redis, "b");
    const a = await startTestTracker(args(redis, "a"));
    const hash = sha1("faults-graceful");
    await announce(a.httpPort, hash, 1001, 0);
    await waitFor("A's seeder at B", 5000, async () => (await announce(b.httpPort, hash, 2001, 10)).complete === 1);
    await a.stop();
    const t0 = performance.now();
    await waitFor(
      "A's seeder gone from B",
      5000,
      async () => (await announce(b.httpPort, hash, 2001, 10)).complete === 0,
    );
    expect(performance.now() - t0).toBeLessThan(heartbeatTtlMs(SYNC_MS) / 2);
  });

  test("two running instances with the same --cluster-instance-id: said once, in the log", async () => {
    const redis = await engine();
    const a = await tracker(redis, "same");
    const b = await tracker(redis, "same");
    await waitFor(
      "the clash logged",
      5000,
      () => lines(a, "same --cluster-instance-id") + lines(b, "same --cluster-instance-id") >= 1,
    );
    await Bun.sleep(5 * SYNC_MS);
    expect(lines(a, "same --cluster-instance-id")).toBeLessThanOrEqual(1);
    expect(lines(b, "same --cluster-instance-id")).toBeLessThanOrEqual(1);
  });

  test("completions are never lost or counted twice across failed syncs and an engine that lost its data", async () => {
    const redis = await engine();
    const a = await tracker(redis, "a");
    const b = await tracker(redis, "b");
    const hash = sha1("faults-completions");
    await announce(b.httpPort, hash, 2001, 10);
    await announce(b.httpPort, hash, 2001, 0, "completed");
    await waitFor("B's completion at A", 5000, async () => (await scrape(a.httpPort, hash)).downloaded === 1);
    await redis.kill();
    // Counted at A while nothing can be written.
    await announce(a.httpPort, hash, 1001, 10);
    await announce(a.httpPort, hash, 1001, 0, "completed");
    await Bun.sleep(5 * SYNC_MS);
    await redis.restart(); // empty
    await waitFor("2 completions at A and B", 8000, async () => {
      const [sa, sb] = [await scrape(a.httpPort, hash), await scrape(b.httpPort, hash)];
      return sa.downloaded === 2 && sb.downloaded === 2;
    });
    // Another outage and reconnection: everything is written again, nothing counts twice.
    await redis.kill();
    await Bun.sleep(3 * SYNC_MS);
    await redis.restart();
    await waitFor(
      "both reconnected",
      8000,
      async () => lines(a, "engine connected") >= 2 && lines(b, "engine connected") >= 2,
    );
    await Bun.sleep(5 * SYNC_MS);
    expect(await scrape(a.httpPort, hash)).toMatchObject({ downloaded: 2 });
    expect(await scrape(b.httpPort, hash)).toMatchObject({ downloaded: 2 });
  });

  test("a restarted instance reads its own completion totals back from the engine", async () => {
    const redis = await engine();
    const hash = sha1("faults-restart");
    const a = await startTestTracker(args(redis, "a"));
    await announce(a.httpPort, hash, 1001, 10);
    await announce(a.httpPort, hash, 1001, 0, "completed");
    await a.stop(); // its last sync writes the count
    const again = await tracker(redis, "a");
    expect(await scrape(again.httpPort, hash)).toEqual({ complete: 0, incomplete: 0, downloaded: 1 });
    await Bun.sleep(5 * SYNC_MS);
    expect(lines(again, "same --cluster-instance-id")).toBe(0); // a restart is not a twin
  });
});
