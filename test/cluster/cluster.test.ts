// Cluster mode end to end: two trackers in this process share their swarms through a real redis-server.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "../helpers/clients.ts";
import { announceQuery, compactPeers, getBencode, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer } from "../helpers/redis-server.ts";

const SYNC_MS = 100;
if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

async function announce(t: TestTracker, hash: Uint8Array, port: number, left: number, event?: string) {
  const q = announceQuery({ infoHash: hash, port, left, event, compact: 1, numwant: 50 });
  const r = await getBencode(`http://127.0.0.1:${t.httpPort}/announce?${q}`);
  return { ...r.body, peers: compactPeers(r.body.peers, 6) } as {
    complete: number;
    incomplete: number;
    downloaded?: number;
    peers: string[];
  };
}

async function scrape(t: TestTracker, hash: Uint8Array) {
  const r = await getBencode(
    `http://127.0.0.1:${t.httpPort}/scrape?info_hash=${[...hash].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")}`,
  );
  const files = r.body.files as Record<string, { complete: number; incomplete: number; downloaded: number }>;
  return Object.values(files)[0] ?? { complete: 0, incomplete: 0, downloaded: 0 };
}

describe.skipIf(REDIS_SERVER === null)("cluster mode, two instances, one engine", () => {
  let redis: RedisServer;
  let a: TestTracker;
  let b: TestTracker;
  const args = (id: string) => [
    "--redis",
    redis.url,
    "--cluster-sync-ms",
    String(SYNC_MS),
    "--cluster-instance-id",
    id,
  ];

  beforeAll(async () => {
    redis = await RedisServer.start();
    a = await startTestTracker(args("a"));
    b = await startTestTracker(args("b"));
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  test("a peer announced to A is in B's reply and scrape within two sync periods", async () => {
    const hash = sha1("cluster-basic");
    // B serves the torrent already (a leecher there), then a seeder arrives at A.
    await announce(b, hash, 2001, 100);
    const t0 = performance.now();
    await announce(a, hash, 1001, 0);
    const seen = await waitFor("A's seeder in B's reply", 5000, async () => {
      const r = await announce(b, hash, 2001, 100);
      return r.peers.includes("127.0.0.1:1001") ? r : undefined;
    });
    const delay = performance.now() - t0;
    expect(seen.complete).toBe(1);
    expect(seen.incomplete).toBe(1);
    // Never B's own leecher in its own reply, never twice the same peer.
    expect(seen.peers).toEqual(["127.0.0.1:1001"]);
    expect(await scrape(b, hash)).toEqual({ complete: 1, incomplete: 1, downloaded: 0 });
    // Two sync periods (A publishes, B reads), plus the polling step and a loaded machine's slack.
    expect(delay).toBeLessThan(2 * SYNC_MS + 1000);
  });

  test("a torrent B never saw: its first scrape asks, the next one counts A's peers", async () => {
    const hash = sha1("cluster-scrape-only");
    await announce(a, hash, 1002, 0);
    await announce(a, hash, 1003, 50);
    const counts = await waitFor("A's peers in B's scrape", 5000, async () => {
      const s = await scrape(b, hash);
      return s.complete + s.incomplete === 2 ? s : undefined;
    });
    expect(counts).toEqual({ complete: 1, incomplete: 1, downloaded: 0 });
  });

  test("a torrent B never served: B's very first announce already has A's peers", async () => {
    const hash = sha1("cluster-first-announce");
    await announce(a, hash, 1006, 0);
    // No request reaches B meanwhile: B learns of the torrent from A's change list.
    await Bun.sleep(4 * SYNC_MS);
    const first = await announce(b, hash, 2006, 10);
    expect(first.peers).toEqual(["127.0.0.1:1006"]);
    expect(first.complete).toBe(1);
  });

  test("completions are counted once, cluster-wide", async () => {
    const hash = sha1("cluster-completions");
    await announce(a, hash, 1004, 10);
    await announce(a, hash, 1004, 0, "completed");
    await announce(b, hash, 2004, 10);
    await announce(b, hash, 2004, 0, "completed");
    // (a retransmitted completed does not count again)
    await announce(b, hash, 2004, 0, "completed");
    const both = await waitFor("2 completions on both", 5000, async () => {
      const [sa, sb] = [await scrape(a, hash), await scrape(b, hash)];
      return sa.downloaded === 2 && sb.downloaded === 2 ? [sa, sb] : undefined;
    });
    expect(both[0]).toEqual({ complete: 2, incomplete: 0, downloaded: 2 });
  });

  test("/api/stats and /metrics show cluster-wide totals and each instance", async () => {
    const hash = sha1("cluster-stats");
    await announce(a, hash, 1005, 0);
    await announce(b, hash, 2005, 10);
    const stats = await waitFor("both instances in B's stats", 5000, async () => {
      const s = (await (await fetch(`http://127.0.0.1:${b.httpPort}/api/stats`)).json()) as {
        peers: number;
        cluster: { instances: number; instance: string; others: { instance: string; peers: number }[]; peers: number };
      };
      return s.cluster.others.length === 1 && s.cluster.peers === s.peers + s.cluster.others[0].peers ? s : undefined;
    });
    expect(stats.cluster.instance).toBe("b");
    expect(stats.cluster.instances).toBe(2);
    expect(stats.cluster.others[0].instance).toBe("a");
    const text = await (await fetch(`http://127.0.0.1:${b.httpPort}/metrics`)).text();
    expect(text).toContain(`buntracker_cluster_engine_up{engine="${redis.url}"} 1`);
    expect(text).toContain("buntracker_cluster_instances 2");
    expect(text).toMatch(/^buntracker_cluster_instance_peers\{instance="a"\} [1-9]\d*$/m);
    expect(text).toMatch(/^buntracker_cluster_instance_peers\{instance="b"\} [1-9]\d*$/m);
    expect(text).toMatch(/^buntracker_cluster_commands_total [1-9]\d*$/m);
    expect(text).toMatch(/^buntracker_cluster_sync_lag_seconds 0(\.\d+)?$/m);
  });

  test("docs/cluster.md lists exactly the cluster metrics /metrics serves, with their types", async () => {
    const served = new Map(
      [
        ...(await (await fetch(`http://127.0.0.1:${a.httpPort}/metrics`)).text()).matchAll(
          /^# TYPE (buntracker_cluster_\S+) (\S+)$/gm,
        ),
      ].map((m) => [m[1], m[2]]),
    );
    const doc = await readFile(join(import.meta.dir, "..", "..", "docs", "cluster.md"), "utf8");
    const rows = new Map(
      [...doc.matchAll(/^\| `(buntracker_cluster_[a-z_]+)` \| (\w+) \|/gm)].map((m) => [m[1], m[2]]),
    );
    expect(served.size).toBeGreaterThan(10);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(served));
  });
});
