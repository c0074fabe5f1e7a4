// Cluster mode over two engine processes (info hashes split between them), with credentials that must never
// show: not in logs, not in --check-config, not in /metrics.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { RedisClient } from "bun";
import { waitFor } from "../helpers/clients.ts";
import { announceQuery, compactPeers, getBencode, pct, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer } from "../helpers/redis-server.ts";

const SYNC_MS = 100;
const PASSWORD = "s3cret-Pa55word";
const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
/** The ACL of docs/cluster.md ("Engine settings"). */
const MINIMAL_ACL = [
  "~bt:*",
  "resetchannels",
  "-@all",
  ...["set", "get", "del", "pexpire", "hset", "hgetall", "sadd", "srem", "smembers"].map((c) => `+${c}`),
];
if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

async function announce(t: TestTracker, hash: Uint8Array, port: number, left: number) {
  const q = announceQuery({ infoHash: hash, port, left, compact: 1, numwant: 50 });
  return compactPeers((await getBencode(`http://127.0.0.1:${t.httpPort}/announce?${q}`)).body.peers, 6);
}

describe.skipIf(REDIS_SERVER === null)("cluster mode over two engines with passwords, one with the minimal ACL", () => {
  let e1: RedisServer;
  let e2: RedisServer;
  let a: TestTracker;
  let b: TestTracker;
  let urls: string;

  beforeAll(async () => {
    e1 = await RedisServer.start(["--requirepass", PASSWORD]);
    // The second one lets the trackers in as a user with only the commands docs/cluster.md lists.
    e2 = await RedisServer.start([
      "--requirepass",
      PASSWORD,
      "--user",
      "tracker",
      "on",
      `>${PASSWORD}`,
      ...MINIMAL_ACL,
    ]);
    urls = `redis://:${PASSWORD}@127.0.0.1:${e1.port},redis://tracker:${PASSWORD}@127.0.0.1:${e2.port}/0`;
    const args = (id: string) => ["--redis", urls, "--cluster-sync-ms", String(SYNC_MS), "--cluster-instance-id", id];
    a = await startTestTracker(args("a"));
    b = await startTestTracker(args("b"));
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await e1?.stop();
    await e2?.stop();
  });

  test("torrents are split between the engines, and every one is shared", async () => {
    const hashes = Array.from({ length: 16 }, (_, i) => sha1(`engines-${i}`));
    for (const h of hashes) await announce(b, h, 2001, 10);
    for (const h of hashes) await announce(a, h, 1001, 0);
    await waitFor("A's seeder at B in all 16", 5000, async () => {
      for (const h of hashes) if (!(await announce(b, h, 2001, 10)).includes("127.0.0.1:1001")) return false;
      return true;
    });
    // Both engines hold some of the torrents' blobs (keys "bt:p:<20 bytes>:<instance>").
    const keys = async (port: number) => {
      const client = new RedisClient(`redis://:${PASSWORD}@127.0.0.1:${port}`);
      try {
        return ((await client.send("KEYS", ["bt:p:*:a"])) as unknown[]).length;
      } finally {
        client.close();
      }
    };
    const [n1, n2] = [await keys(e1.port), await keys(e2.port)];
    expect(n1 + n2).toBe(16);
    expect(n1).toBeGreaterThan(0);
    expect(n2).toBeGreaterThan(0);
    const scrape = await getBencode(`http://127.0.0.1:${b.httpPort}/scrape?info_hash=${pct(hashes[0])}`);
    expect(Object.values(scrape.body.files as Record<string, { complete: number }>)[0].complete).toBe(1);
  });

  test("the password is in no log line, metric or --check-config output", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${a.httpPort}/metrics`)).text();
    expect(metrics).toContain(`buntracker_cluster_engine_up{engine="redis://127.0.0.1:${e1.port}"} 1`);
    expect(metrics).toContain(`buntracker_cluster_engine_up{engine="redis://127.0.0.1:${e2.port}/0"} 1`);
    const stats = await (await fetch(`http://127.0.0.1:${a.httpPort}/api/stats`)).text();
    const check = Bun.spawnSync([process.execPath, MAIN, "--check-config", "--redis", urls]);
    expect(check.exitCode).toBe(0);
    expect(check.stdout.toString()).toMatch(/^# redis = \(set, hidden\)/m);
    const bad = Bun.spawnSync([process.execPath, MAIN, "--check-config", "--redis", `http://:${PASSWORD}@x`]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.toString()).toContain("must be redis://, rediss://, valkey:// or valkeys://");
    for (const text of [
      a.logs.join("\n"),
      b.logs.join("\n"),
      metrics,
      stats,
      check.stdout.toString(),
      check.stderr.toString(),
      bad.stderr.toString(),
    ]) {
      expect(text).not.toContain(PASSWORD);
    }
    expect(a.logs.some((l) => l.includes('"msg":"cluster mode"'))).toBe(true);
  });

  test("a wrong password: the tracker serves locally and says why, once, without the password", async () => {
    const wrong = `redis://:not-the-password@127.0.0.1:${e1.port}`;
    const c = await startTestTracker([
      "--redis",
      wrong,
      "--cluster-sync-ms",
      String(SYNC_MS),
      "--cluster-instance-id",
      "c",
    ]);
    try {
      expect(await announce(c, sha1("engines-wrong"), 3001, 0)).toEqual([]);
      await Bun.sleep(5 * SYNC_MS);
      const warned = c.logs.filter((l) => l.includes("cluster: engine unreachable"));
      expect(warned.length).toBe(1);
      expect(warned[0]).not.toContain("not-the-password");
    } finally {
      await c.stop();
    }
  });
});
