// Cluster mode with --workers: each thread syncs the torrents it owns (as an instance of its own, "ID-wN"), and
// two instances of two threads each still share every swarm, with the statistics counting each process once.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "../helpers/clients.ts";
import { announceQuery, compactPeers, getBencode } from "../helpers/http-client.ts";
import { hashesForBothOwners } from "../helpers/owners.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer } from "../helpers/redis-server.ts";

const SYNC_MS = 100;
if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

async function announce(t: TestTracker, hash: Uint8Array, port: number, left: number) {
  const q = announceQuery({ infoHash: hash, port, left, compact: 1, numwant: 50 });
  // A new connection each time, so that both threads read some.
  const r = await getBencode(`http://127.0.0.1:${t.httpPort}/announce?${q}`, { headers: { connection: "close" } });
  return {
    complete: r.body.complete as number,
    incomplete: r.body.incomplete as number,
    peers: compactPeers(r.body.peers, 6),
  };
}

describe.skipIf(REDIS_SERVER === null)("cluster mode, two instances of two threads each", () => {
  let redis: RedisServer;
  let a: TestTracker;
  let b: TestTracker;
  const args = (id: string) => [
    ...["--workers", "2", "--redis", redis.url],
    ...["--cluster-sync-ms", String(SYNC_MS), "--cluster-instance-id", id],
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

  test("a seeder at A is in B's replies for torrents of either thread, and counted once per process", async () => {
    // Two torrents owned by thread 0 and two by thread 1.
    const torrents = hashesForBothOwners(4, "cluster-workers");
    for (const [k, h] of torrents.entries()) {
      await announce(b, h, 2000 + k, 100);
      await announce(a, h, 1000 + k, 0);
    }
    for (const [k, h] of torrents.entries()) {
      const seen = await waitFor(`A's seeder of torrent ${k} at B`, 5000, async () => {
        const r = await announce(b, h, 2000 + k, 100);
        return r.peers.includes(`127.0.0.1:${1000 + k}`) ? r : undefined;
      });
      expect([seen.complete, seen.incomplete]).toEqual([1, 1]);
    }
    const stats = await waitFor("both processes in A's stats", 5000, async () => {
      const s = (await (await fetch(`http://127.0.0.1:${a.httpPort}/api/stats`)).json()) as {
        peers: number;
        cluster: { instances: number; peers: number };
      };
      return s.cluster.peers === 8 ? s : undefined;
    });
    expect(stats.peers).toBe(4); // A's own, over both of its threads
    expect(stats.cluster.instances).toBe(2); // processes, not threads
  });
});
