// docs/limits.md over real sockets: the store limits (--max-torrents, --max-peers,
// --max-peers-per-torrent) with their refusal messages and /metrics counters, early re-announces, the
// per-source rate limit on HTTP and UDP, and the full scrape (off by default; cached, gzip, once per address).
//
// The rate limiter counts whole seconds, so bursts start right after a second boundary (polled for, not slept)
// and must finish within that second. "No reply" over UDP is proven without sleeping: a later request from
// another source on the same tracker socket is answered first (loopback keeps order; the tracker answers in
// arrival order), and /metrics shows the datagram was counted as dropped.

import { afterEach, describe, expect, test } from "bun:test";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BValue, decodeBencode } from "../../src/codec/bencode-decode.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { announceQuery, compactPeers, getBencode, latin1, pct, sha1 } from "../helpers/http-client.ts";
import {
  announcePacket,
  connectPacket,
  parseAnnounceReply,
  parseError,
  scrapePacket,
  UdpClient,
} from "../helpers/udp-client.ts";
import { bin20, webtorrentPeerId, WsClient } from "../helpers/ws-client.ts";

const FULL_TORRENTS = FAILURE_TEXT.torrent_limit;
const FULL_PEERS = FAILURE_TEXT.peer_limit;
const RATE_LIMITED = FAILURE_TEXT.rate_limited;
const SOURCE_FULL = FAILURE_TEXT.source_share;

const trackers: TestTracker[] = [];
const clients: UdpClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const t of trackers.splice(0)) await t.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(args: string[]): Promise<TestTracker> {
  const t = await startTestTracker(["--listen", "[::]:0", ...args]);
  trackers.push(t);
  return t;
}

async function openUdp(t: TestTracker, local: string): Promise<UdpClient> {
  const c = await UdpClient.open(local.includes(":") ? "::1" : "127.0.0.1", t.udpPort!, local);
  clients.push(c);
  return c;
}

/** Every sample of /metrics, by name with labels. */
async function metrics(t: TestTracker): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function metric(t: TestTracker, series: string): Promise<number> {
  const v = (await metrics(t)).get(series);
  if (v === undefined) throw new Error(`no ${series} in /metrics`);
  return v;
}

const IPV4_PEERS = 'buntracker_peers{family="ipv4"}';

/** Seeders plus leechers of `hash`, scraped over HTTP from an address of its own (its own rate budget). */
async function swarmSize(t: TestTracker, hash: Uint8Array): Promise<number> {
  const body = await rawGet(t.httpPort, `/scrape?info_hash=${pct(hash)}`, "127.0.0.99");
  const file = (body.files as Record<string, Record<string, number>>)[latin1(hash)];
  return file.complete + file.incomplete;
}

/** Waits (polling the clock) until the start of a second, so a burst of requests falls within one second. */
async function startOfSecond(): Promise<number> {
  const deadline = Date.now() + 3000;
  while (Date.now() % 1000 > 50) {
    if (Date.now() > deadline) throw new Error("the clock did not reach a second boundary");
    await Bun.sleep(Math.max(1, 1000 - (Date.now() % 1000)));
  }
  return Math.floor(Date.now() / 1000);
}

function sameSecond(second: number): void {
  if (Math.floor(Date.now() / 1000) !== second)
    throw new Error("the burst crossed a second boundary (machine too slow?)");
}

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);

// ---------------------------------------------------------------------------------------------------------
// Store limits, the same scenario over HTTP and over UDP

interface Outcome {
  /** The failure reason (HTTP) or error message (UDP), or null. */
  failure: string | null;
  seeders: number;
  leechers: number;
  peers: string[];
}

interface Protocol {
  name: string;
  /** Announces peer 127.0.0.1:port; `event` as HTTP names it. */
  announce(hash: Uint8Array, port: number, o?: { left?: number; event?: string }): Promise<Outcome>;
}

async function httpProtocol(t: TestTracker): Promise<Protocol> {
  return {
    name: "HTTP",
    async announce(hash, port, o = {}) {
      const { body } = await getBencode(
        `http://127.0.0.1:${t.httpPort}/announce?${announceQuery({ infoHash: hash, port, left: o.left ?? 100, event: o.event })}`,
      );
      if ("failure reason" in body) {
        expect(Object.keys(body)).toEqual(["failure reason"]);
        return { failure: String(body["failure reason"]), seeders: -1, leechers: -1, peers: [] };
      }
      return {
        failure: null,
        seeders: Number(body.complete),
        leechers: Number(body.incomplete),
        peers: compactPeers(body.peers, 6),
      };
    },
  };
}

async function udpProtocol(t: TestTracker): Promise<Protocol> {
  const c = await openUdp(t, "127.0.0.1");
  const id = await c.connect();
  const events: Record<string, number> = { completed: 1, started: 2, stopped: 3 };
  let txid = 1;
  return {
    name: "UDP",
    async announce(hash, port, o = {}) {
      const tx = txid++;
      const reply = await c.request(
        announcePacket({
          connectionId: id,
          txid: tx,
          infoHash: hash,
          port,
          left: BigInt(o.left ?? 100),
          event: o.event === undefined ? 0 : events[o.event],
        }),
      );
      expect(u32(reply, 4)).toBe(tx);
      if (u32(reply, 0) === 3) return { failure: parseError(reply).message, seeders: -1, leechers: -1, peers: [] };
      const r = parseAnnounceReply(reply, 4);
      expect(r.action).toBe(1);
      return { failure: null, seeders: r.seeders, leechers: r.leechers, peers: r.peers };
    },
  };
}

for (const make of [httpProtocol, udpProtocol]) {
  describe(`store limits (--max-torrents 3 --max-peers 5 --max-peers-per-torrent 2) over ${make === httpProtocol ? "HTTP" : "UDP"}`, () => {
    test("refusals carry the documented message and are counted; evictions and early announces too", async () => {
      const t = await start([
        "--max-torrents",
        "3",
        "--max-peers",
        "5",
        "--max-peers-per-torrent",
        "2",
        "--rate-limit",
        "0",
      ]);
      const p = await make(t);
      const [a, b, c, d] = ["A", "B", "C", "D"].map((l) => sha1(`limits ${p.name} ${l}`));
      const ok = async (hash: Uint8Array, port: number, o?: { left?: number; event?: string }) => {
        const r = await p.announce(hash, port, o);
        if (r.failure !== null) throw new Error(`announce ${port} refused: ${r.failure}`);
        return r;
      };

      // Three torrents fit; a fourth is refused and not created.
      await ok(a, 1001, { event: "started" });
      await ok(b, 2001, { event: "started" });
      await ok(c, 3001, { event: "started" });
      expect((await p.announce(d, 4001, { event: "started" })).failure).toBe(FULL_TORRENTS);
      expect(await metric(t, "buntracker_torrents")).toBe(3);

      // A full torrent takes a newcomer in place of one of its peers.
      await ok(a, 1002, { event: "started" });
      const third = await ok(a, 1003, { event: "started" });
      expect(third.seeders + third.leechers).toBe(2);
      expect(third.peers.length).toBe(1);
      expect(["127.0.0.1:1001", "127.0.0.1:1002"]).toContain(third.peers[0]);
      expect(await metric(t, IPV4_PEERS)).toBe(4);

      // Five peers in all: the next newcomer is refused (even into a torrent with room), known peers go on.
      await ok(b, 2002, { event: "started" });
      expect(await metric(t, IPV4_PEERS)).toBe(5);
      expect((await p.announce(c, 3002, { event: "started" })).failure).toBe(FULL_PEERS);
      expect((await p.announce(c, 3002, { left: 0, event: "completed" })).failure).toBe(FULL_PEERS);
      const known = await ok(c, 3001, { left: 0, event: "completed" }); // a known peer completes
      expect([known.seeders, known.leechers]).toEqual([1, 0]);
      await ok(c, 3001, { left: 0 }); // early: no event, far sooner than min interval
      await ok(c, 3001, { left: 0 }); // early again
      await ok(c, 3001, { left: 0, event: "started" }); // an event: not counted as early

      // A peer that leaves makes room.
      await ok(b, 2002, { event: "stopped" });
      expect((await ok(c, 3002, { event: "started" })).seeders).toBe(1);
      expect(await metric(t, IPV4_PEERS)).toBe(5);

      const m = await metrics(t);
      expect(m.get('buntracker_limit_refused_total{limit="torrents"}')).toBe(1);
      expect(m.get('buntracker_limit_refused_total{limit="peers"}')).toBe(2);
      expect(m.get("buntracker_evicted_peers_total")).toBe(1);
      expect(m.get("buntracker_early_announces_total")).toBe(2);
      expect(m.get("buntracker_torrents")).toBe(3);
      expect(m.get('buntracker_peers{family="ipv4"}')).toBe(5);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Per-source rate limit

const RATE_ARGS = ["--rate-limit", "1", "--rate-burst", "5", "--rate-limit-exempt", ""];

/** A request over a fresh TCP connection from `local` (fetch cannot pick its source address). */
function rawGet(port: number, path: string, local: string): Promise<Record<string, BValue>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: local.includes(":") ? "::1" : "127.0.0.1", port, localAddress: local }, () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: tracker\r\nConnection: close\r\n\r\n`);
    });
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      if (!/^HTTP\/1\.1 200 /.test(all.toString("latin1")))
        return reject(new Error(`not a 200: ${all.toString("latin1")}`));
      try {
        resolve(decodeBencode(new Uint8Array(all.subarray(split + 4))) as Record<string, BValue>);
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe("per-source rate limit (--rate-limit 1 --rate-burst 5, no exemptions)", () => {
  test("HTTP: the 6th quick request gets a short failure; other addresses are not limited", async () => {
    const t = await start(RATE_ARGS);
    const h = sha1("rate http");
    const url = (port: number) => `/announce?${announceQuery({ infoHash: h, port, left: 1 })}`;
    const second = await startOfSecond();
    for (let i = 0; i < 5; i++) {
      const { body } = await getBencode(`http://127.0.0.1:${t.httpPort}${url(5000 + i)}`);
      expect(body["failure reason"]).toBeUndefined();
    }
    const sixth = await getBencode(`http://127.0.0.1:${t.httpPort}${url(5005)}`);
    const seventh = await getBencode(`http://127.0.0.1:${t.httpPort}/scrape?info_hash=${pct(h)}`); // scrapes too
    // Another IPv4 address, and ::1, each have their own budget.
    const other4 = await rawGet(t.httpPort, url(5006), "127.0.0.2");
    const other6 = await getBencode(`http://[::1]:${t.httpPort}${url(5007)}`);
    sameSecond(second);
    expect(sixth.status).toBe(200);
    expect(sixth.body).toEqual({ "failure reason": RATE_LIMITED });
    expect(seventh.body).toEqual({ "failure reason": RATE_LIMITED });
    expect(other4["failure reason"]).toBeUndefined();
    expect(other4.incomplete).toBe(6);
    expect(other6.body["failure reason"]).toBeUndefined();
    expect(await swarmSize(t, h)).toBe(7); // the refused announce was not recorded
    expect(await metric(t, 'buntracker_rate_limited_total{protocol="http"}')).toBe(2);
    expect(await metric(t, 'buntracker_rate_limited_total{protocol="udp"}')).toBe(0);
  });

  test("UDP: the 6th datagram gets no reply; another source still does; ::1 is limited like IPv4", async () => {
    const t = await start(RATE_ARGS);
    const h = sha1("rate udp");
    const a = await openUdp(t, "127.0.0.2");
    const b = await openUdp(t, "127.0.0.3");
    const v6 = await openUdp(t, "::1");
    const second = await startOfSecond();
    const id = await a.connect(); // 1
    for (let i = 0; i < 3; i++) await a.request(announcePacket({ connectionId: id, infoHash: h, port: 6000 + i })); // 2-4
    expect(u32(await a.request(scrapePacket(id, [h])), 0)).toBe(2); // 5
    a.send(announcePacket({ connectionId: id, infoHash: h, port: 6003 })); // 6: over the budget
    a.send(connectPacket(0xc0ffee)); // 7: a connect is no exception
    // b's datagrams reach the same tracker socket after a's; their replies prove a's were handled.
    const idB = await b.connect();
    const fromB = parseAnnounceReply(
      await b.request(announcePacket({ connectionId: idB, infoHash: h, port: 6100 })),
      4,
    );
    await expect(a.next(0)).rejects.toThrow("no UDP reply");
    expect(fromB.leechers).toBe(4); // 3 from a (its 6th was not recorded) and b

    // ::1: five answered, the 6th not (another socket of the tracker: the counter proves it was handled).
    const id6 = await v6.connect();
    for (let i = 0; i < 4; i++) await v6.request(announcePacket({ connectionId: id6, infoHash: h, port: 7000 + i }));
    v6.send(announcePacket({ connectionId: id6, infoHash: h, port: 7004 }));
    const deadline = Date.now() + 3000;
    while ((await metric(t, 'buntracker_rate_limited_total{protocol="udp"}')) < 3) {
      if (Date.now() > deadline) throw new Error("the 6th datagram from ::1 was never counted as rate limited");
    }
    await b.request(connectPacket(1)); // one more round trip, so a late reply would have arrived
    sameSecond(second);
    await expect(v6.next(0)).rejects.toThrow("no UDP reply");
    await expect(a.next(0)).rejects.toThrow("no UDP reply");
    expect(await swarmSize(t, h)).toBe(8);
    expect(await metric(t, 'buntracker_rate_limited_total{protocol="udp"}')).toBe(3);
  });

  test("HTTP and UDP share one budget per address", async () => {
    const t = await start(RATE_ARGS);
    const h = sha1("rate shared");
    const u = await openUdp(t, "127.0.0.4");
    const second = await startOfSecond();
    const id = await u.connect();
    await u.request(announcePacket({ connectionId: id, infoHash: h, port: 6000 }));
    await u.request(announcePacket({ connectionId: id, infoHash: h, port: 6001 }));
    const path = (port: number) => `/announce?${announceQuery({ infoHash: h, port, left: 1 })}`;
    expect((await rawGet(t.httpPort, path(6002), "127.0.0.4"))["failure reason"]).toBeUndefined();
    expect((await rawGet(t.httpPort, path(6003), "127.0.0.4"))["failure reason"]).toBeUndefined();
    expect(await rawGet(t.httpPort, path(6004), "127.0.0.4")).toEqual({ "failure reason": RATE_LIMITED });
    sameSecond(second);
  });

  test("loopback is exempt by default", async () => {
    const t = await start(["--rate-limit", "1", "--rate-burst", "5"]);
    const h = sha1("rate exempt");
    for (let i = 0; i < 20; i++) {
      const { body } = await getBencode(
        `http://127.0.0.1:${t.httpPort}/announce?${announceQuery({ infoHash: h, port: 5000 + i, left: 1 })}`,
      );
      expect(body["failure reason"]).toBeUndefined();
    }
    const c = await openUdp(t, "127.0.0.2");
    const id = await c.connect();
    for (let i = 0; i < 20; i++) await c.request(announcePacket({ connectionId: id, infoHash: h, port: 6000 + i }));
    expect(await swarmSize(t, h)).toBe(40);
    expect(await metric(t, 'buntracker_rate_limited_total{protocol="http"}')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Full scrape

type Files = Record<string, { complete: number; downloaded: number; incomplete: number }>;

/** A full scrape over a fresh connection from `local`; returns the raw response. */
function rawFullScrape(
  port: number,
  local: string,
  acceptGzip: boolean,
): Promise<{ head: string; body: Uint8Array<ArrayBuffer> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: local.includes(":") ? "::1" : "127.0.0.1", port, localAddress: local }, () => {
      s.write(
        `GET /scrape HTTP/1.1\r\nHost: tracker\r\n${acceptGzip ? "Accept-Encoding: gzip\r\n" : ""}Connection: close\r\n\r\n`,
      );
    });
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      resolve({ head: all.subarray(0, split).toString("latin1"), body: new Uint8Array(all.subarray(split + 4)) });
    });
  });
}

const filesOf = (body: Uint8Array) => (decodeBencode(body) as { files: Files }).files;

// ---------------------------------------------------------------------------------------------------------
// Per-source share of the store

describe("per-source share (--max-peers 100 --source-share 3: 3 peers per address)", () => {
  const SHARE_ARGS = ["--max-peers", "100", "--source-share", "3", "--rate-limit-exempt", ""];

  test("HTTP, UDP and WebSocket peers of one address share its 3; re-announces and other addresses pass", async () => {
    const t = await start(SHARE_ARGS);
    const h = sha1("share");
    const http = (port: number, event?: string) =>
      getBencode(`http://127.0.0.1:${t.httpPort}/announce?${announceQuery({ infoHash: h, port, left: 1, event })}`);
    expect((await http(1)).body["failure reason"]).toBeUndefined();
    expect((await http(2)).body["failure reason"]).toBeUndefined();
    // A WebRTC peer counts against its WebSocket connection's address: 127.0.0.1's third.
    const ws = await WsClient.open(`ws://127.0.0.1:${t.httpPort}/announce`);
    try {
      const wsAnnounce = async (peer: number, torrent: string) => {
        ws.send({
          action: "announce",
          info_hash: bin20(torrent),
          peer_id: webtorrentPeerId(peer),
          numwant: 0,
          uploaded: 0,
          downloaded: 0,
          left: 10,
        });
        return (await ws.next())["failure reason"];
      };
      expect(await wsAnnounce(1, "share ws")).toBeUndefined();
      expect(await wsAnnounce(2, "share ws")).toBe(SOURCE_FULL);
      expect((await http(3)).body).toEqual({ "failure reason": SOURCE_FULL });
      const udp = await openUdp(t, "127.0.0.1");
      const reply = await udp.request(announcePacket({ connectionId: await udp.connect(), infoHash: h, port: 4 }));
      expect(parseError(reply).message).toBe(SOURCE_FULL);
      // Known peers re-announce as always; another address has its own share.
      expect((await http(1)).body.incomplete).toBe(2);
      expect(
        (await rawGet(t.httpPort, `/announce?${announceQuery({ infoHash: h, port: 5, left: 1 })}`, "127.0.0.2"))
          .incomplete,
      ).toBe(3);
      // A peer that leaves gives its place back.
      await http(2, "stopped");
      expect((await http(3)).body["failure reason"]).toBeUndefined();
      expect(await metric(t, 'buntracker_limit_refused_total{limit="source"}')).toBe(3);
      expect((await http(6)).body["failure reason"]).toBe(SOURCE_FULL);
      // A closed connection's WebRTC peers leave, and their place is free again.
      ws.close();
      await ws.closed;
      const deadline = Date.now() + 3000;
      while ((await metric(t, 'buntracker_peers{family="websocket"}')) > 0 && Date.now() < deadline)
        await Bun.sleep(10);
      expect((await http(6)).body["failure reason"]).toBeUndefined();
    } finally {
      ws.close();
    }
  });

  test("the --rate-limit-exempt sources (loopback by default) are not bound", async () => {
    const t = await start(["--max-peers", "100", "--source-share", "3"]);
    for (let port = 1; port <= 6; port++) {
      const { body } = await getBencode(
        `http://127.0.0.1:${t.httpPort}/announce?${announceQuery({ infoHash: sha1("exempt"), port, left: 1 })}`,
      );
      expect(body["failure reason"]).toBeUndefined();
    }
  });
});

describe("full scrape", () => {
  test("is off by default: /scrape without info_hash gets a failure naming it", async () => {
    const t = await start([]);
    for (const path of ["/scrape", "/scrape?", "/k3y/scrape.php", "/scrape?foo=bar"]) {
      const { status, body } = await getBencode(`http://127.0.0.1:${t.httpPort}${path}`);
      expect(status).toBe(200);
      expect(body["failure reason"]).toBe(FAILURE_TEXT.full_scrape_off);
    }
    expect(await metric(t, "buntracker_full_scrapes_total")).toBe(0);
  });

  test("on: every torrent in canonical bencode, gzip on request, once per address, cached", async () => {
    const t = await start(["--full-scrape", "on"]);
    const base = `http://127.0.0.1:${t.httpPort}`;
    const hashes = ["x", "y", "z"].map((l) => sha1(`full scrape ${l}`));
    const announce = (h: Uint8Array, port: number, left: number, event?: string) =>
      getBencode(`${base}/announce?${announceQuery({ infoHash: h, port, left, event })}`);
    await announce(hashes[0], 1, 0, "completed");
    await announce(hashes[0], 2, 10);
    await announce(hashes[1], 3, 10);
    await announce(hashes[2], 4, 0, "started");

    const first = await fetch(`${base}/scrape`, { headers: { "accept-encoding": "identity" } });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-encoding")).toBeNull();
    expect(first.headers.get("vary")).toBe("accept-encoding");
    const plain = new Uint8Array(await first.arrayBuffer());
    const files = filesOf(plain); // strict: rejects unsorted keys, non-canonical integers, trailing bytes
    expect(files).toEqual({
      [latin1(hashes[0])]: { complete: 1, downloaded: 1, incomplete: 1 },
      [latin1(hashes[1])]: { complete: 0, downloaded: 0, incomplete: 1 },
      [latin1(hashes[2])]: { complete: 1, downloaded: 0, incomplete: 0 },
    });

    // The same address again within 5 minutes: refused.
    const again = await getBencode(`${base}/scrape`, { headers: { "accept-encoding": "identity" } });
    expect(again.body).toEqual({ "failure reason": FAILURE_TEXT.full_scrape_too_often });

    // A torrent announced now does not show until the cached reply expires; every copy is the same.
    await announce(sha1("full scrape later"), 5, 10);
    const gz = await fetch(`http://[::1]:${t.httpPort}/scrape`, {
      headers: { "accept-encoding": "gzip, deflate" },
      decompress: false,
    });
    expect(gz.status).toBe(200);
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    const gzBody = new Uint8Array(await gz.arrayBuffer());
    expect(gzBody[0]).toBe(0x1f);
    expect(gzBody[1]).toBe(0x8b);
    expect(Bun.gunzipSync(gzBody)).toEqual(plain);
    const third = await rawFullScrape(t.httpPort, "127.0.0.2", false);
    expect(third.head).not.toMatch(/content-encoding/i);
    expect(third.body).toEqual(plain);
    const fourth = await rawFullScrape(t.httpPort, "127.0.0.3", true);
    expect(fourth.head).toMatch(/\r\ncontent-encoding: gzip/i);
    expect(Bun.gunzipSync(fourth.body)).toEqual(plain);
    expect(await metric(t, "buntracker_full_scrapes_total")).toBe(4);
    // Scrapes with info_hash are not limited by the full-scrape allowance.
    expect((await getBencode(`${base}/scrape?info_hash=${pct(hashes[0])}`)).body.files).toBeDefined();
  });

  test("lists only torrents the access list allows, also after a torrent is denied", async () => {
    const dir = await mkdtemp(join(tmpdir(), "buntracker-full-scrape-"));
    dirs.push(dir);
    const listed = sha1("full scrape denied from the start");
    const list = join(dir, "deny.txt");
    await writeFile(list, `${Buffer.from(listed).toString("hex")}\n`);
    const token = "full-scrape-test-token-0123456789";
    const t = await start([
      "--full-scrape",
      "on",
      "--access-mode",
      "deny",
      "--access-list",
      list,
      "--admin-token",
      token,
    ]);
    const base = `http://127.0.0.1:${t.httpPort}`;
    const [keep, deniedEarly, deniedLate] = ["keep", "denied early", "denied late"].map((l) =>
      sha1(`full scrape ${l}`),
    );
    const deny = async (h: Uint8Array) => {
      const res = await fetch(`${base}/api/blacklist`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ info_hash: Buffer.from(h).toString("hex") }),
      });
      expect(res.status).toBeLessThan(300);
    };
    for (const [i, h] of [listed, keep, deniedEarly, deniedLate].entries())
      await getBencode(`${base}/announce?${announceQuery({ infoHash: h, port: 100 + i, left: 1 })}`);
    await deny(deniedEarly);
    const first = filesOf(
      new Uint8Array(
        await (await fetch(`${base}/scrape`, { headers: { "accept-encoding": "identity" } })).arrayBuffer(),
      ),
    );
    expect(Object.keys(first).sort()).toEqual([latin1(keep), latin1(deniedLate)].sort());
    // Denied after the reply was built and cached: a takedown must not linger in the full scrape.
    await deny(deniedLate);
    const second = filesOf(
      Bun.gunzipSync(
        new Uint8Array(
          await (
            await fetch(`http://[::1]:${t.httpPort}/scrape`, {
              headers: { "accept-encoding": "gzip" },
              decompress: false,
            })
          ).arrayBuffer(),
        ),
      ),
    );
    expect(Object.keys(second)).toEqual([latin1(keep)]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// One failure vocabulary: a refusal reads the same over every protocol, and /metrics counts it by code

describe("failures by code", () => {
  /** buntracker_failures_total of one protocol and code (0 while the series is absent). */
  const failures = async (t: TestTracker, protocol: string, code: string) =>
    (await metrics(t)).get(`buntracker_failures_total{protocol="${protocol}",code="${code}"}`) ?? 0;

  test("a torrent the access list refuses: the same text over HTTP, UDP and WebSocket, counted per protocol", async () => {
    const dir = await mkdtemp(join(tmpdir(), "buntracker-failures-"));
    dirs.push(dir);
    const denied = sha1("refused everywhere");
    const list = join(dir, "deny.txt");
    await writeFile(list, `${Buffer.from(denied).toString("hex")}\n`);
    const t = await start(["--access-mode", "deny", "--access-list", list]);
    for (const protocol of ["http", "udp", "websocket"]) expect(await failures(t, protocol, "not_allowed")).toBe(0);

    const http = await getBencode(
      `http://127.0.0.1:${t.httpPort}/announce?${announceQuery({ infoHash: denied, port: 6001, left: 1 })}`,
    );
    const u = await openUdp(t, "127.0.0.1");
    const udp = parseError(
      await u.request(announcePacket({ connectionId: await u.connect(), txid: 7, infoHash: denied, port: 6002 })),
    );
    const ws = await WsClient.open(`ws://127.0.0.1:${t.httpPort}/announce`);
    try {
      ws.send({ action: "announce", info_hash: latin1(denied), peer_id: webtorrentPeerId(1), left: 1, offers: [] });
      expect(await ws.next()).toEqual({
        action: "announce",
        info_hash: latin1(denied),
        "failure reason": FAILURE_TEXT.not_allowed,
      });
    } finally {
      ws.close();
    }
    expect(http.body).toEqual({ "failure reason": FAILURE_TEXT.not_allowed });
    expect(udp).toEqual({ action: 3, txid: 7, message: FAILURE_TEXT.not_allowed });
    for (const protocol of ["http", "udp", "websocket"]) expect(await failures(t, protocol, "not_allowed")).toBe(1);
    expect(await metric(t, "buntracker_torrents")).toBe(0); // the refused torrent was not created
  });

  test("over the rate limit: the same text over HTTP and WebSocket, silence over UDP, each counted by code", async () => {
    const t = await start(["--rate-limit", "1", "--rate-burst", "1", "--rate-limit-exempt", ""]);
    const h = sha1("rate limited everywhere");
    const u = await openUdp(t, "127.0.0.2");
    const ws = await WsClient.open(`ws://[::1]:${t.httpPort}/announce`); // its own source: ::1
    try {
      const second = await startOfSecond();
      const url = `http://127.0.0.1:${t.httpPort}/scrape?info_hash=${pct(h)}`;
      expect((await getBencode(url)).body["failure reason"]).toBeUndefined();
      const http = await getBencode(url);
      ws.send({ action: "scrape", info_hash: latin1(h) });
      expect((await ws.next())["failure reason"]).toBeUndefined();
      // Not even JSON: the budget is spent before a message is read, so this gets the rate limit's answer.
      ws.send("{nope");
      const wsReply = await ws.next();
      await u.connect();
      u.send(connectPacket(0xc0ffee)); // over the budget: dropped
      const deadline = Date.now() + 3000;
      while ((await failures(t, "udp", "rate_limited")) < 1) {
        if (Date.now() > deadline) throw new Error("the second UDP datagram was never counted as rate limited");
      }
      sameSecond(second);
      expect(http.body).toEqual({ "failure reason": FAILURE_TEXT.rate_limited });
      expect(wsReply).toEqual({ "failure reason": FAILURE_TEXT.rate_limited });
      await expect(u.next(0)).rejects.toThrow("no UDP reply");
    } finally {
      ws.close();
    }
    for (const protocol of ["http", "udp", "websocket"]) {
      expect(await failures(t, protocol, "rate_limited")).toBe(1);
      expect(await metric(t, `buntracker_rate_limited_total{protocol="${protocol}"}`)).toBe(1);
    }
    expect(await failures(t, "websocket", "invalid_message")).toBe(0);
  });
});
