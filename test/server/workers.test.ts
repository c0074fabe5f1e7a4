// --workers 2 over real sockets: every thread reads the shared port (SO_REUSEPORT spreads the senders), and a
// peer announced through any thread is in every other's replies, with exact counts. Many client sockets are
// used so that both threads read requests, and the mesh's counters show that requests crossed threads.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { UdpClient } from "../../scripts/lib/udp-client.ts";
import { hashesForBothOwners } from "../helpers/owners.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker } from "../helpers/tracker-process.ts";
import { announceQuery, compactPeers, getBencode, latin1, pct } from "../helpers/http-client.ts";

const CLIENTS = 16;

interface MeshCounts {
  handed: number;
  answered: number;
}

async function meshCounts(t: TestTracker): Promise<MeshCounts[]> {
  const others = await t.pool!.ask<MeshCounts>("mesh");
  return [{ handed: t.mesh!.handed, answered: t.mesh!.answered }, ...others.map((c) => c!)];
}

describe("--workers 2", () => {
  let t: TestTracker;
  const udp: UdpClient[] = [];
  beforeAll(async () => {
    // (Without UDP steering, so that announces cross threads too: test/server/udp-steering.test.ts has it on.)
    t = await startTestTracker([
      "--workers",
      "2",
      "--udp-listen",
      "127.0.0.1:0",
      "--rate-limit",
      "0",
      "--udp-steering",
      "off",
    ]);
    for (let i = 0; i < CLIENTS; i++) udp.push(await UdpClient.open("127.0.0.1", t.udpPort!));
  });
  afterAll(async () => {
    for (const c of udp) c.close();
    await t.stop();
  });

  test("two threads serve, and say so", () => {
    expect(t.threads).toBe(2);
    expect(t.pool!.running).toBe(2);
  });

  test("UDP: every peer is in every other's reply, whichever thread read it, with exact counts", async () => {
    const before = await meshCounts(t);
    const torrents = hashesForBothOwners(4, "udp");
    for (const infoHash of torrents) {
      // Each client announces as its own peer (port 10000 + i), half seeders, then each asks again.
      for (let i = 0; i < CLIENTS; i++) {
        const reply = await udp[i].announce({ infoHash, port: 10_000 + i, left: i % 2 === 0 ? 0n : 1n, event: 2 });
        expect(reply?.action).toBe("announce");
      }
      for (let i = 0; i < CLIENTS; i++) {
        const reply = await udp[i].announce({ infoHash, port: 10_000 + i, left: i % 2 === 0 ? 0n : 1n, numWant: 50 });
        if (reply?.action !== "announce") throw new Error(`no announce reply: ${JSON.stringify(reply)}`);
        expect(reply.seeders).toBe(CLIENTS / 2);
        expect(reply.leechers).toBe(CLIENTS / 2);
        // A seeder is given leechers only; a leecher everyone else.
        const ports = reply.peers.map((p) => p.port).sort((a, b) => a - b);
        const others = [...Array(CLIENTS).keys()].filter((k) => k !== i && (i % 2 === 1 || k % 2 === 1));
        expect(ports).toEqual(others.map((k) => 10_000 + k));
      }
    }
    // A scrape of all four (two owners) from every socket: exact counts in order.
    for (const c of udp) {
      const entries = await c.scrape(torrents);
      expect(entries).toEqual(torrents.map(() => ({ seeders: CLIENTS / 2, completed: 0, leechers: CLIENTS / 2 })));
    }
    // Requests crossed threads both ways: each thread answered some of the other's.
    const after = await meshCounts(t);
    expect(after[0].answered).toBeGreaterThan(before[0].answered);
    expect(after[1].answered).toBeGreaterThan(before[1].answered);
  });

  test("HTTP: a peer announced on one connection is in the replies on every other", async () => {
    const torrents = hashesForBothOwners(2, "http");
    const base = `http://127.0.0.1:${t.httpPort}`;
    for (const infoHash of torrents) {
      for (let i = 0; i < CLIENTS; i++) {
        // A new connection each time (no keep-alive), so the kernel spreads them over both threads.
        const q = announceQuery({ infoHash, port: 20_000 + i, left: i < 4 ? 0 : 1 });
        const r = await getBencode(`${base}/announce?${q}&numwant=50`, { headers: { connection: "close" } });
        expect(r.body["failure reason"]).toBeUndefined();
      }
      const q = announceQuery({ infoHash, port: 20_100, left: 1 });
      const r = await getBencode(`${base}/announce?${q}&numwant=50`, { headers: { connection: "close" } });
      expect(r.body.complete).toBe(4);
      expect(r.body.incomplete).toBe(CLIENTS - 4 + 1);
      expect(compactPeers(r.body.peers, 6).length).toBe(CLIENTS);
    }
    const scrape = await getBencode(`${base}/scrape?${torrents.map((h) => `info_hash=${pct(h)}`).join("&")}`);
    const files = scrape.body.files as Record<string, Record<string, number>>;
    for (const h of torrents) expect(files[latin1(h)]).toEqual({ complete: 4, downloaded: 0, incomplete: 13 });
  });

  test("an owner that throws: the thread that read the request answers at once (busy), not after a timeout", async () => {
    const owned = hashesForBothOwners(1, "throw")[0]; // the main thread's
    const store = t.store as unknown as Record<string, unknown>;
    store.announce = () => {
      throw new Error("invariant broken in announce");
    };
    try {
      const started = Date.now();
      const q = announceQuery({ infoHash: owned, port: 31_000 });
      const replies = await Promise.all(
        Array.from({ length: CLIENTS }, () =>
          fetch(`http://127.0.0.1:${t.httpPort}/announce?${q}`, { headers: { connection: "close" } }).then(
            async (r) => ({ status: r.status, text: await r.text() }),
          ),
        ),
      );
      // Read by the owner: 500, as with one thread; read by the other: the owner's failure comes back at once.
      expect(replies.every((r) => r.status === 500 || r.text.includes("tracker busy"))).toBe(true);
      expect(replies.some((r) => r.text.includes("tracker busy"))).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000); // the hand-off timeout is 5 s
    } finally {
      delete store.announce;
    }
  });

  test("a thread that dies is started again, and the tracker keeps answering", async () => {
    const owned = hashesForBothOwners(2, "crash")[1]; // thread 1's
    t.pool!.terminate(1);
    // While it is gone and after: thread 0's torrents are answered; once it is back, so are its own.
    const deadline = Date.now() + 10_000;
    let answered = false;
    while (!answered && Date.now() < deadline) {
      const reply = await udp[0].announce({ infoHash: owned, port: 30_000 }, 500);
      answered = reply?.action === "announce";
    }
    if (!answered) console.log(t.logs.slice(-20).join("\n"));
    expect(answered).toBe(true);
    expect(t.logs.some((l) => l.includes("worker thread ended"))).toBe(true);
    expect(t.logs.some((l) => l.includes("worker thread started again"))).toBe(true);
    expect(t.pool!.deaths).toBe(1);
  });
});

describe("--workers 2 as a process", () => {
  test("SIGTERM stops every thread: exit 0, and the ports are free again", async () => {
    const p = await startTracker(["--listen", "127.0.0.1:0", "--workers", "2"]);
    const listening = JSON.parse(
      p
        .output()
        .split("\n")
        .find((l) => l.includes('"listening"'))!,
    );
    expect(listening.workers).toBe(2);
    // Served before the stop, by whichever thread the kernel picks.
    const r = await fetch(`http://127.0.0.1:${p.httpPort}/healthz`);
    expect(r.status).toBe(200);
    expect(await p.stop("SIGTERM")).toBe(0);
    expect(p.output()).toContain('"stopped"');
    // Nothing of it still holds the ports: binding them without SO_REUSEPORT succeeds.
    const http = Bun.serve({ hostname: "127.0.0.1", port: p.httpPort, reusePort: false, fetch: () => new Response() });
    const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port: p.udpPort! });
    http.stop(true);
    udp.close();
  });
});

describe("--workers 2: limits hold over both threads together", () => {
  test("one source spread over both threads gets one budget (--rate-limit), not one per thread", async () => {
    const t = await startTestTracker([
      ...["--workers", "2", "--udp-listen", "127.0.0.1:0"],
      ...["--rate-limit", "1", "--rate-burst", "40", "--rate-limit-exempt", ""],
    ]);
    const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => UdpClient.open("127.0.0.1", t.udpPort!)));
    try {
      // 160 connects at once from one address over 16 sockets (so both threads read some): a budget of 40,
      // plus one a second while they are answered.
      const started = Date.now();
      const replies = await Promise.all(
        sockets.flatMap((s) =>
          Array.from({ length: 10 }, () => s.request({ action: "connect", transactionId: 0 }, 1500)),
        ),
      );
      const answered = replies.filter((r) => r?.action === "connect").length;
      const allowed = 40 + Math.ceil((Date.now() - started) / 1000);
      expect(answered).toBeGreaterThanOrEqual(40);
      expect(answered).toBeLessThanOrEqual(Math.ceil(allowed * 1.1));
      // Both threads read some of them (else this would prove nothing).
      const reads = await t.pool!.ask<number>("udpRead");
      expect(reads[0]).toBeGreaterThan(0);
    } finally {
      for (const s of sockets) s.close();
      await t.stop();
    }
  });

  test("--max-peers counts the peers of both threads' stores", async () => {
    const t = await startTestTracker(["--workers", "2", "--max-peers", "30", "--rate-limit", "0"]);
    try {
      const torrents = hashesForBothOwners(2, "max-peers");
      const base = `http://127.0.0.1:${t.httpPort}`;
      let stored = 0;
      let refused = 0;
      for (let i = 0; i < 50; i++) {
        const q = announceQuery({ infoHash: torrents[i % 2], port: 40_000 + i, left: 1 });
        const r = await getBencode(`${base}/announce?${q}`, { headers: { connection: "close" } });
        if (r.body["failure reason"] === undefined) stored++;
        else if (String(r.body["failure reason"]).includes("no room for another peer")) refused++;
      }
      expect(stored).toBe(30);
      expect(refused).toBe(20);
      const scrape = await getBencode(`${base}/scrape?${torrents.map((h) => `info_hash=${pct(h)}`).join("&")}`);
      const files = scrape.body.files as Record<string, Record<string, number>>;
      expect(torrents.reduce((n, h) => n + files[latin1(h)].incomplete, 0)).toBe(30);
    } finally {
      await t.stop();
    }
  });
});
