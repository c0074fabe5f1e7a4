// Cluster mode's engine costs (BENCHMARKS.md, "Cluster mode"), in-process against a local redis-server it starts:
//
//   bun scripts/bench/cluster.ts [PEERS] [TORRENTS]        (default 2,350,000 peers over 100,000 torrents)
//
// 1. Fill: store A gets PEERS IPv4 peers over TORRENTS torrents (one in 8 a seeder), then one sync publishes
//    them: engine memory per stored peer (INFO used_memory after minus before), commands, time.
// 2. Steady load: store B holds every torrent too; for 5 rounds, A takes 20,000 announces (90% plain
//    re-announces of known peers, 5% new peers, 5% stopped) and both sync: engine commands per announce (round 1
//    also holds A's first read of B's torrents).
// 3. Delay: both syncs on their timers (--cluster-sync-ms 1000, B's half a period after A's); every 10 ms for 10 s
//    a seeder arrives at A in a torrent B holds; B's scrape is polled every 5 ms: p50 and p99 from A's announce
//    to B's count.
// A and B share this process's event loop (in production they are separate processes).

import { createServer } from "node:net";
import { RedisClient } from "bun";
import { AnnounceRequest, AnnounceResult, EVENT_NONE, EVENT_STOPPED, ScrapeCounts } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { ClusterSync } from "../../src/server/cluster/cluster-sync.ts";
import { EngineLink } from "../../src/server/cluster/engine-link.ts";
import { Faults } from "../../src/server/faults.ts";
import { Logger } from "../../src/server/logger.ts";

const PEERS = Number(process.argv[2] ?? 2_350_000);
const TORRENTS = Number(process.argv[3] ?? 100_000);
const SYNC_MS = 1000;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as { port: number }).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

const port = await freePort();
const redis = Bun.spawn(["redis-server", "--port", String(port), "--save", "", "--appendonly", "no"], {
  stdout: "ignore",
});
const url = `redis://127.0.0.1:${port}`;
const admin = new RedisClient(url);
for (let i = 0; ; i++) {
  try {
    await admin.connect();
    break;
  } catch {
    if (i > 50) throw new Error("redis-server did not start");
    await Bun.sleep(100);
  }
}
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await admin.send("INFO", ["memory"]))![1]);

const log = new Logger("warn", (line) => console.error(line));
const now = () => Math.floor(Date.now() / 1000);
function instance(id: string) {
  const store = new Store({ peerTimeoutS: 3000, random: xoshiro128(crypto.getRandomValues(new Uint32Array(4))) });
  const sync = new ClusterSync({
    store,
    engines: [new EngineLink(url, url, log, 60_000, SYNC_MS)],
    instanceId: id,
    prefix: "bt",
    syncMs: SYNC_MS,
    peerTimeoutS: 3000,
    log,
    faults: new Faults(log),
    now,
    version: "bench",
  });
  store.attachCluster(sync.view);
  return { store, sync };
}

const hashes = Array.from({ length: TORRENTS }, (_, t) => `t${t}`.padEnd(20, "\u00ee"));
const req = new AnnounceRequest();
const res = new AnnounceResult(50);
req.numWant = 0;
req.ipLen = 4;
function announce(store: Store, torrent: number, peer: number, seeder: boolean, event = EVENT_NONE) {
  req.infoHash = hashes[torrent];
  req.ip[0] = 10;
  req.ip[1] = (peer >>> 16) & 255;
  req.ip[2] = (peer >>> 8) & 255;
  req.ip[3] = peer & 255;
  req.port = 1024 + (peer >>> 24);
  req.left = seeder ? 0 : 1;
  req.event = event;
  store.announce(req, now(), res);
}

const a = instance("a");
const b = instance("b");
const mem0 = await usedMemory();
for (let p = 0; p < PEERS; p++) announce(a.store, p % TORRENTS, p, p % 8 === 0);
let t = performance.now();
await a.sync.syncNow();
const fillMs = performance.now() - t;
const mem1 = await usedMemory();
console.log(
  `fill: ${a.store.peers} peers / ${a.store.torrents} torrents published in ${fillMs.toFixed(0)} ms, ` +
    `${a.sync.stats.commands} commands; engine memory ${((mem1 - mem0) / 2 ** 20).toFixed(1)} MiB = ` +
    `${((mem1 - mem0) / PEERS).toFixed(2)} bytes per peer`,
);

// B holds every torrent (one leecher each, on its own addresses), then reads A's.
await a.sync.syncNow(); // (its heartbeat expired during the fill: 3 sync periods)
for (let tr = 0; tr < TORRENTS; tr++) announce(b.store, tr, 0x7f000000 + tr, false);
t = performance.now();
await b.sync.syncNow();
await b.sync.syncNow();
console.log(
  `B's first read of everything: ${(performance.now() - t).toFixed(0)} ms, remote peers ${b.sync.view.remoteSeeders + b.sync.view.remoteLeechers}`,
);

const random = xoshiro128(new Uint32Array([9, 8, 7, 6]));
let nextNew = PEERS;
for (let round = 1; round <= 5; round++) {
  const ca = a.sync.stats.commands;
  const cb = b.sync.stats.commands;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const r = random();
    const peer = Math.floor(random() * PEERS);
    if (r < 0.9) announce(a.store, peer % TORRENTS, peer, peer % 8 === 0);
    else if (r < 0.95) announce(a.store, Math.floor(random() * TORRENTS), nextNew++, false);
    else announce(a.store, peer % TORRENTS, peer, peer % 8 === 0, EVENT_STOPPED);
  }
  t = performance.now();
  await a.sync.syncNow();
  const aMs = performance.now() - t;
  t = performance.now();
  await b.sync.syncNow();
  const bMs = performance.now() - t;
  const wa = a.sync.stats.commands - ca;
  const rb = b.sync.stats.commands - cb;
  console.log(
    `round ${round}: ${n} announces at A; A's sync ${wa} commands (${(wa / n).toFixed(3)} per announce, ${aMs.toFixed(0)} ms), ` +
      `B's sync ${rb} commands (${(rb / n).toFixed(3)} per announce at A, ${bMs.toFixed(0)} ms)`,
  );
}

// Delay: both on their timers now.
// B's timer half a period after A's, as two processes started at different times would be.
const timers = [setInterval(() => void a.sync.syncNow(), SYNC_MS)];
await Bun.sleep(SYNC_MS / 2);
timers.push(setInterval(() => void b.sync.syncNow(), SYNC_MS));
const pending = new Map<number, number>(); // torrent -> announced at (ms)
const delays: number[] = [];
const counts = new ScrapeCounts();
const seedersAtB = new Map<number, number>();
let sample = 0;
const end = performance.now() + 10_000;
const poll = setInterval(() => {
  for (const [tr, at] of pending) {
    b.store.scrape(hashes[tr], counts);
    if (counts.complete > seedersAtB.get(tr)!) {
      delays.push(performance.now() - at);
      pending.delete(tr);
    }
  }
}, 5);
while (performance.now() < end) {
  const tr = (sample++ * 7919) % TORRENTS;
  b.store.scrape(hashes[tr], counts);
  seedersAtB.set(tr, counts.complete);
  announce(a.store, tr, 0x7e000000 + sample, true);
  pending.set(tr, performance.now());
  await Bun.sleep(10);
}
await Bun.sleep(3 * SYNC_MS);
for (const x of [...timers, poll]) clearInterval(x);
delays.sort((x, y) => x - y);
const q = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))].toFixed(0);
console.log(
  `delay A -> B (--cluster-sync-ms ${SYNC_MS}): ${delays.length} samples, ${pending.size} not seen; ` +
    `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${delays[delays.length - 1].toFixed(0)} ms`,
);
admin.close();
for (const s of [a, b]) for (const e of s.sync.engines) e.close();
redis.kill();
await redis.exited;
process.exit(0);
