// Slow, idle and oversized HTTP clients against the real process.
//
// What Bun 1.4.4 gives (measured, not configured by the tracker):
// - a connection that sends nothing is not handed to the process (uSockets listens with TCP_DEFER_ACCEPT),
//   so a flood of idle connects costs it no file descriptor;
// - a request head must be complete within about 10 s (a fixed uWebSockets timeout, seen as 12 s with its
//   4 s timer granularity); trickling bytes does not extend it; a keep-alive connection idle after a response
//   is closed after `idleTimeout` (30 s in http-server.ts). Neither wait is tested here (too slow);
// - the request line and headers together may be at most 16 KiB: beyond that Bun answers 431 and closes;
// - there is no cap on open connections other than the descriptor limit (Bun raises the soft limit to the
//   hard one at start, so the hard limit, e.g. systemd's LimitNOFILE, is the cap): at the limit new HTTP
//   connections wait in the kernel's backlog, UDP goes on, and HTTP recovers once descriptors are free.

import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { announceQuery, getBencode, pct, sha1 } from "../helpers/http-client.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";
import { announcePacket, parseAnnounceReply, UdpClient } from "../helpers/udp-client.ts";

const running: TrackerProcess[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const p of running.splice(0)) await p.stop();
});

async function start(prefix: string[] = []): Promise<TrackerProcess> {
  const p = await startTracker(["--listen", "127.0.0.1:0", "--rate-limit", "0"], {}, prefix);
  running.push(p);
  return p;
}

/** Opens a TCP connection and, once connected, writes `first` (if any); resolves when connected. */
function open(port: number, first?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      if (first !== undefined) s.write(first);
      resolve(s);
    });
    s.on("error", reject);
    sockets.push(s);
  });
}

/** An announce that must succeed within `ms`; returns how long it took. */
async function timedAnnounce(p: TrackerProcess, port: number, ms = 2000): Promise<number> {
  const started = performance.now();
  const { status, body } = await getBencode(
    `http://127.0.0.1:${p.httpPort}/announce?${announceQuery({ infoHash: sha1("http limits"), port, left: 1 })}`,
    {
      signal: AbortSignal.timeout(ms),
    },
  );
  expect(status).toBe(200);
  expect(body["failure reason"]).toBeUndefined();
  return performance.now() - started;
}

/** Sends raw bytes; resolves to the status line (or "closed" if the server closed without answering). */
function rawStatus(port: number, data: string | Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write(data, () => s.end()));
    const timer = setTimeout(() => reject(new Error("no answer and no close within 5 s")), 5000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => {}); // a reset on an over-long request: "close" follows
    s.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      resolve(text === "" ? "closed" : text.slice(0, text.indexOf("\r\n")));
    });
  });
}

describe("HTTP: slow, idle and oversized clients", () => {
  test("hundreds of idle and half-sent connections do not slow announces", async () => {
    const p = await start();
    for (let i = 0; i < 500; i++) await open(p.httpPort); // connect, then silence
    for (let i = 0; i < 200; i++) await open(p.httpPort, `GET /announce?info_hash=${"%41".repeat(i % 20)}`); // never finished
    let slowest = 0;
    for (let i = 0; i < 50; i++) slowest = Math.max(slowest, await timedAnnounce(p, 1000 + i));
    expect(slowest).toBeLessThan(1000);
    expect(sockets.every((s) => !s.destroyed)).toBe(true); // they were all still open meanwhile
    expect(p.output()).not.toContain('"level":"error"');
  });

  test("an over-long URL or header block gets 431 (or a closed connection), never a crash", async () => {
    const p = await start();
    const h = sha1("long urls");
    const port = p.httpPort;
    const request = (target: string, headers = "") =>
      `GET ${target} HTTP/1.1\r\nHost: t\r\n${headers}Connection: close\r\n\r\n`;
    const refused = ["HTTP/1.1 431 Request Header Fields Too Large", "closed"];
    expect(refused).toContain(
      await rawStatus(port, request(`/announce?${announceQuery({ infoHash: h, port: 1 })}&x=${"a".repeat(64 * 1024)}`)),
    );
    expect(refused).toContain(await rawStatus(port, request(`/${"a".repeat(1024 * 1024)}`)));
    expect(refused).toContain(await rawStatus(port, request("/announce", `X-Big: ${"b".repeat(64 * 1024)}\r\n`)));
    expect(refused).toContain(
      await rawStatus(port, request("/announce", Array.from({ length: 2000 }, (_, i) => `X-${i}: v\r\n`).join(""))),
    );
    // A head that never ends, 1 MiB of it.
    expect(refused).toContain(await rawStatus(port, `GET /announce HTTP/1.1\r\nX: ${"c".repeat(1024 * 1024)}`));
    // Within the 16 KiB limit everything is served: a scrape of 100 hashes (the most one scrape may ask for)
    // is about 6 KB, and a 15 KB URL is fine.
    const hashes = Array.from({ length: 100 }, (_, i) => sha1(`long urls ${i}`));
    const scrape = await getBencode(
      `http://127.0.0.1:${port}/scrape?${hashes.map((x) => `info_hash=${pct(x)}`).join("&")}`,
    );
    expect(Object.keys(scrape.body.files as object).length).toBe(100);
    const long = await getBencode(
      `http://127.0.0.1:${port}/announce?${announceQuery({ infoHash: h, port: 2, left: 1 })}&x=${"a".repeat(15_000)}`,
    );
    expect(long.body["failure reason"]).toBeUndefined();
    await timedAnnounce(p, 3);
    expect(p.output()).not.toContain('"level":"error"');
  });

  test("at the file descriptor limit HTTP waits, UDP goes on, and HTTP recovers when connections close", async () => {
    // The only cap on open connections is the descriptor limit; here 128 instead of the usual thousands.
    const p = await start(["prlimit", "--nofile=128:128", "--"]);
    for (let i = 0; i < 200; i++) await open(p.httpPort, "GET /announce?info_hash="); // each holds a descriptor
    await expect(timedAnnounce(p, 1, 500)).rejects.toThrow(); // no descriptor left to accept it
    const udp = await UdpClient.open("127.0.0.1", p.udpPort!);
    try {
      const id = await udp.connect();
      const r = parseAnnounceReply(
        await udp.request(announcePacket({ connectionId: id, infoHash: sha1("fd limit"), port: 7 })),
        4,
      );
      expect(r.action).toBe(1);
    } finally {
      udp.close();
    }
    for (const s of sockets.splice(0)) s.destroy();
    // Recovery: polled until an announce goes through (descriptors are freed as the closes arrive).
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await timedAnnounce(p, 2, 1000);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
    expect(p.proc.exitCode).toBeNull();
    expect(p.output()).not.toContain('"level":"error"');
  }, 30_000);
});
