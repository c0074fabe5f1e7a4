// --workers with UDP steering (the default on Linux): the kernel delivers each announce to the thread that owns
// its torrent, so announces are answered without a hand-off between threads, and the tracker learns where each
// thread's socket sits again after a thread is restarted. With steering off, the same load crosses threads
// (which shows the count below can fail).

import { afterAll, describe, expect, test } from "bun:test";
import { UdpClient } from "../../scripts/lib/udp-client.ts";
import { Logger } from "../../src/server/logger.ts";
import { UdpSteering } from "../../src/server/workers/udp-steering.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { hashesForOwners } from "../helpers/owners.ts";

const CLIENTS = 12;

/** `perOwner` hashes owned by each of `count` threads. */
const hashesPerOwner = (count: number, perOwner: number, label: string) =>
  hashesForOwners(count, count * perOwner, label);

/** Requests every thread handed to another, in all. */
async function handedTotal(t: TestTracker): Promise<number> {
  const others = await t.pool!.ask<{ handed: number }>("mesh");
  return others.reduce((sum, c) => sum + c!.handed, t.mesh!.handed);
}

async function start(args: string[]): Promise<{ t: TestTracker; clients: UdpClient[] }> {
  const t = await startTestTracker(["--udp-listen", "127.0.0.1:0", "--rate-limit", "0", ...args]);
  const clients: UdpClient[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await UdpClient.open("127.0.0.1", t.udpPort!));
  return { t, clients };
}

/** Every client announces every torrent (as its own seeder); returns the hand-offs this took. */
async function announceAll(t: TestTracker, clients: UdpClient[], torrents: Uint8Array[], round: number) {
  const before = await handedTotal(t);
  for (const infoHash of torrents) {
    for (let i = 0; i < clients.length; i++) {
      const reply = await clients[i].announce({ infoHash, port: 10_000 + i, left: 0n, numWant: 0 });
      if (reply?.action !== "announce") throw new Error(`round ${round}: no announce reply: ${JSON.stringify(reply)}`);
      expect(reply.seeders).toBe(round === 0 ? i + 1 : clients.length);
    }
  }
  return (await handedTotal(t)) - before;
}

/** Announce rounds until one hands nothing over (10 s at most); that round's hand-offs. */
async function untilNoneHanded(t: TestTracker, clients: UdpClient[], torrents: Uint8Array[]): Promise<number> {
  let handed = await announceAll(t, clients, torrents, 0);
  const deadline = Date.now() + 10_000;
  while (handed > 0 && Date.now() < deadline) handed = await announceAll(t, clients, torrents, 1);
  return handed;
}

describe("UDP steering", () => {
  const running: { t: TestTracker; clients: UdpClient[] }[] = [];
  afterAll(async () => {
    for (const r of running) {
      for (const c of r.clients) c.close();
      await r.t.stop();
    }
  });

  test("--workers 2: announces for both threads' torrents are answered by their owner, none handed over", async () => {
    const r = await start(["--workers", "2"]);
    running.push(r);
    const torrents = hashesPerOwner(2, 4, "steered");
    expect(await announceAll(r.t, r.clients, torrents, 0)).toBe(0);
    expect(r.t.logs.some((l) => l.includes("udp steering unavailable"))).toBe(false);
  });

  test("--workers 2 on the wildcard address: each local address's sockets are steered too", async () => {
    // (A wildcard listener also binds a socket per local address, so that replies leave from the address the
    // client wrote to: 127.0.0.1 is then a group of its own, with its own program.)
    const r = await start(["--workers", "2", "--udp-listen", "0.0.0.0:0"]);
    running.push(r);
    expect(r.t.udp!.boundAddresses()).toContain("127.0.0.1");
    expect(await announceAll(r.t, r.clients, hashesPerOwner(2, 4, "wildcard"), 0)).toBe(0);
  });

  test("--udp-steering off: the same announces are spread by sender, and cross threads", async () => {
    const r = await start(["--workers", "2", "--udp-steering", "off"]);
    running.push(r);
    expect(await announceAll(r.t, r.clients, hashesPerOwner(2, 4, "spread"), 0)).toBeGreaterThan(0);
  });

  test("--workers 3: after a thread is restarted, the kernel's new order is learned", async () => {
    const r = await start(["--workers", "3"]);
    running.push(r);
    const torrents = hashesPerOwner(3, 3, "relearn");
    // Threads 1 and 2 join the port in whichever order they start: that too is learned in the first rounds.
    expect(await untilNoneHanded(r.t, r.clients, torrents)).toBe(0);
    // Thread 1 leaves the group (the kernel moves thread 2's socket into its place) and joins again last.
    r.t.pool!.terminate(1);
    const back = Date.now() + 10_000;
    while (r.t.pool!.running < 3 || !r.t.logs.some((l) => l.includes("worker thread started again"))) {
      if (Date.now() > back) throw new Error("thread 1 did not come back");
      await Bun.sleep(20);
    }
    // Misplaced announces (of new torrents) are still answered, handed over, while the order is learned; within
    // a few rounds none is. (Whichever order they started in, one of the two moments needed learning.)
    expect(await untilNoneHanded(r.t, r.clients, hashesPerOwner(3, 3, "relearn-after"))).toBe(0);
    expect(r.t.logs.some((l) => l.includes("learned a socket's place"))).toBe(true);
  });
});

describe("UdpSteering when the kernel refuses the program", () => {
  test("it says so once, and reports are then ignored", () => {
    const lines: string[] = [];
    const steering = new UdpSteering(
      2,
      new Logger("info", (l) => lines.push(l)),
      () => true,
      () => "refused",
    );
    steering.socket("", 7);
    steering.socket("10.0.0.1", 8);
    steering.landed("", 1, 0);
    expect(steering.active).toBe(false);
    expect(lines.filter((l) => l.includes("udp steering unavailable"))).toHaveLength(1);
    expect(lines[0]).toContain("refused");
  });
});
