// Property tests over real sockets: seeded random and mutated traffic (UDP datagrams, HTTP query strings,
// headers and raw request lines) interleaved with well-formed announces and scrapes from other clients.
//
// Properties checked, per fixed seed (a failure names its seed and step, so it can be replayed):
// - every well-formed request gets exactly the reply a model of the store predicts (counts, and peers that
//   exist, are distinct, are not the requester and are as many as asked for and available);
// - UDP garbage from a sender without a valid connection id is never answered with more bytes than it sent:
//   the only replies it gets are the 16-byte connect replies to the datagrams that really were connects;
// - UDP garbage from a sender with a valid connection id only gets well-formed replies within 1232 bytes;
// - HTTP garbage gets 200 with bencode, a 4xx, or a closed connection: never a 500 or a stack trace;
// - the tracker logs no "handler failed" and still answers at the end.
//
// Garbage never uses the good clients' info hashes, so the model of the good torrents stays exact even though
// garbage that happens to be valid is recorded by the tracker like any other announce.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { udp } from "bun";
import net from "node:net";
import { type BValue, decodeBencode, latin1Bytes } from "../../src/codec/bencode-decode.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { compactPeers, latin1, pct, sha1 } from "../helpers/http-client.ts";
import { Prng } from "../../scripts/lib/prng.ts";
import {
  announcePacket,
  connectPacket,
  parseAnnounceReply,
  PROTOCOL_ID_BYTES,
  scrapePacket,
} from "../helpers/udp-client.ts";

const SEEDS = [1, 2, 3];
const INTERVAL = 1800; // the defaults the tracker runs with below
/** Replies carry the interval with ±10% jitter: the value to compare with when a reply's is within it. */
const jitteredInterval = (got: unknown) =>
  typeof got === "number" && Math.abs(got - INTERVAL) <= INTERVAL / 10 ? INTERVAL : got;
const MIN_INTERVAL = 900;
const DEFAULT_NUMWANT = 50;
const MAX_NUMWANT = 200;
const UDP_CAP = { 4: 200, 6: 67 } as const; // peers that fit in 1232 bytes (IPv4 also capped by max-numwant)
const UDP_BUDGET = 1232;

const EV_NONE = 0;
const EV_COMPLETED = 1;
const EV_STARTED = 2;
const EV_STOPPED = 3;
const HTTP_EVENT = ["", "completed", "started", "stopped"] as const;

type Family = 4 | 6;
const V6_LOOPBACK = "[0:0:0:0:0:0:0:1]"; // how ::1 appears in peer lists (see http-client.ts formatAddr)
const peerKey = (host: string, port: number) => (host === "::1" ? `${V6_LOOPBACK}:${port}` : `${host}:${port}`);

// ---------------------------------------------------------------------------------------------------------
// The model: what the store must hold for the good clients' torrents (docs/protocol.md, "Peers and swarms").

interface ModelPeer {
  family: Family;
  seeder: boolean;
  counted: boolean;
}

interface Candidates {
  v4: Set<string>;
  v6: Set<string>;
}

class SwarmModel {
  readonly torrents = new Map<string, { peers: Map<string, ModelPeer>; downloaded: number }>();

  counts(hash: string): { seeders: number; leechers: number; downloaded: number } {
    const t = this.torrents.get(hash);
    let seeders = 0;
    let leechers = 0;
    for (const p of t?.peers.values() ?? []) {
      if (p.seeder) seeders++;
      else leechers++;
    }
    return { seeders, leechers, downloaded: t?.downloaded ?? 0 };
  }

  /** Applies an announce as the store must, and returns the peers the requester may be sent. */
  announce(hash: string, key: string, family: Family, left: number, event: number): Candidates {
    const out: Candidates = { v4: new Set(), v6: new Set() };
    let t = this.torrents.get(hash);
    if (event === EV_STOPPED) {
      t?.peers.delete(key);
      return out;
    }
    if (t === undefined) this.torrents.set(hash, (t = { peers: new Map(), downloaded: 0 }));
    const seeder = left === 0;
    const p = t.peers.get(key);
    if (p === undefined) {
      const counted = event === EV_COMPLETED && seeder;
      t.peers.set(key, { family, seeder, counted });
      if (counted) t.downloaded++;
    } else {
      if (seeder && !p.counted && (event === EV_COMPLETED || !p.seeder)) {
        p.counted = true;
        t.downloaded++;
      }
      p.seeder = seeder;
    }
    for (const [k, q] of t.peers) {
      if (k === key || (seeder && q.seeder)) continue;
      (q.family === 4 ? out.v4 : out.v6).add(k);
    }
    return out;
  }
}

/** Checks a returned peer list against the candidates: distinct, known, and exactly `expected` many. */
function checkPeers(what: string, peers: string[], allowed: Set<string>, expected: number): void {
  if (new Set(peers).size !== peers.length) throw new Error(`${what}: duplicate peers ${peers.join(" ")}`);
  for (const p of peers)
    if (!allowed.has(p))
      throw new Error(`${what}: peer ${p} is not in the swarm (or is the requester or a seeder given to a seeder)`);
  if (peers.length !== expected)
    throw new Error(`${what}: ${peers.length} peers, expected ${expected} (${allowed.size} available)`);
}

function equalCounts(what: string, got: object, want: object): void {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);

/** Byte-level mutations of a valid datagram: bit flips, truncation, extension, action swaps, overwrites, splices. */
function mutate(rng: Prng, template: Uint8Array, other: Uint8Array): Uint8Array {
  let b = template.slice();
  for (let k = rng.range(1, 3); k > 0; k--) {
    switch (rng.int(6)) {
      case 0:
        for (let f = rng.range(1, 8); f > 0 && b.length > 0; f--) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1:
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 2:
        b = concat(b, rng.bytes(rng.range(1, 200)));
        break;
      case 3:
        if (b.length >= 12)
          new DataView(b.buffer).setUint32(8, rng.pick([0, 1, 2, 3, 4, 0x100, 0x101, 0xffffffff, rng.u32()]));
        break;
      case 4:
        for (let f = rng.range(1, 10); f > 0 && b.length > 0; f--)
          b[rng.int(b.length)] = rng.pick([0, 0xff, rng.int(256)]);
        break;
      default:
        b = concat(b.slice(0, rng.int(b.length + 1)), other.slice(rng.int(other.length + 1)));
    }
  }
  return b;
}

/** A fully random datagram, sometimes with the connect magic or a plausible action in front. */
function randomDatagram(rng: Prng): Uint8Array {
  const b = rng.bytes(rng.chance(0.3) ? rng.int(24) : rng.int(400));
  if (b.length >= 8 && rng.chance(0.3)) b.set(PROTOCOL_ID_BYTES, 0);
  if (b.length >= 12 && rng.chance(0.5)) new DataView(b.buffer).setUint32(8, rng.int(4));
  return b;
}

const isConnect = (p: Uint8Array) => p.length >= 16 && PROTOCOL_ID_BYTES.every((x, i) => p[i] === x) && u32(p, 8) === 0;

// ---------------------------------------------------------------------------------------------------------
// UDP

/** A UDP socket that keeps every datagram it receives, in order. */
class Udp {
  readonly received: Uint8Array[] = [];
  readonly sent: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #socket!: udp.Socket<"buffer">;

  private constructor(
    readonly local: string,
    readonly target: string,
    readonly port: number,
  ) {}

  static async open(local: string, target: string, port: number): Promise<Udp> {
    const u = new Udp(local, target, port);
    u.#socket = await Bun.udpSocket({
      hostname: local,
      socket: {
        data: (_s, buf) => {
          u.received.push(new Uint8Array(buf));
          u.#wake?.();
        },
        error() {},
      },
    });
    return u;
  }

  send(p: Uint8Array): void {
    this.sent.push(p);
    this.#socket.send(p, this.port, this.target);
  }

  /** Resolves once `done()` holds; throws after `timeoutMs` (a lost reply is a failure, not a hang). */
  async until(done: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.local}: ${what} did not arrive within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Sends a well-formed request and returns its one reply. */
  async request(p: Uint8Array): Promise<Uint8Array> {
    const before = this.received.length;
    this.send(p);
    await this.until(() => this.received.length > before, "the reply");
    return this.received[before];
  }

  /**
   * Sends a connect with a fresh txid and waits for its reply; everything the tracker sent this socket
   * before it has arrived by then (loopback keeps order, and the tracker answers in arrival order).
   * Returns the replies received before it.
   */
  async drain(txid: number): Promise<Uint8Array[]> {
    const start = this.received.length;
    this.send(connectPacket(txid));
    const isMarker = (r: Uint8Array) => r.length === 16 && u32(r, 0) === 0 && u32(r, 4) === txid;
    await this.until(() => this.received.slice(start).some(isMarker), "the drain connect reply");
    const at = this.received.findIndex((r, i) => i >= start && isMarker(r));
    if (at !== this.received.length - 1) throw new Error(`${this.local}: datagrams after the drain reply`);
    this.sent.pop();
    return this.received.slice(0, at);
  }

  close(): void {
    this.#socket.close();
  }
}

class UdpSession {
  private constructor(
    readonly udp: Udp,
    readonly id: Uint8Array,
    readonly family: Family,
  ) {}

  static async open(local: string, target: string, port: number): Promise<UdpSession> {
    const u = await Udp.open(local, target, port);
    const reply = await u.request(connectPacket(0x600d));
    return new UdpSession(u, reply.slice(8, 16), local.includes(":") ? 6 : 4);
  }
}

for (const workers of [1, 2]) {
  describe(`UDP: random and mutated datagrams mixed with well-formed traffic (--workers ${workers})`, () => {
    let tracker: TestTracker;
    beforeAll(async () => {
      tracker = await startTestTracker(["--listen", "[::]:0", "--rate-limit", "0", "--workers", String(workers)]);
    });
    afterAll(() => tracker.stop());

    for (const seed of SEEDS) {
      test(`seed ${seed}`, async () => {
        const rng = new Prng(seed);
        const port = tracker.udpPort!;
        const model = new SwarmModel();
        const good = Array.from({ length: 5 }, (_, i) => sha1(`udp fuzz seed ${seed} good ${i}`));
        const junkHashes = Array.from({ length: 5 }, (_, i) => sha1(`udp fuzz seed ${seed} garbage ${i}`));
        const unknown = sha1(`udp fuzz seed ${seed} never announced`);
        const closers: Udp[] = [];
        const logsBefore = tracker.logs.length;
        try {
          // Well-formed clients: two IPv4 addresses and ::1.
          const sessions = [
            await UdpSession.open("127.0.0.1", "127.0.0.1", port),
            await UdpSession.open("127.0.0.2", "127.0.0.1", port),
            await UdpSession.open("::1", "::1", port),
          ];
          closers.push(...sessions.map((s) => s.udp));
          // Garbage without a valid connection id: other IPv4 addresses, and ::1 (which never sends the id
          // issued to ::1: its templates carry ids issued to other addresses).
          const noId = [
            await Udp.open("127.0.0.10", "127.0.0.1", port),
            await Udp.open("127.0.0.11", "127.0.0.1", port),
            await Udp.open("::1", "::1", port),
          ];
          closers.push(...noId);
          // Garbage with a valid connection id (its own), on its own address and its own info hashes.
          const withId = await UdpSession.open("127.0.0.20", "127.0.0.1", port);
          closers.push(withId.udp);

          const templatesFor = (id: Uint8Array) => [
            connectPacket(rng.u32()),
            announcePacket({
              connectionId: id,
              txid: rng.u32(),
              infoHash: rng.pick(junkHashes),
              port: rng.range(1, 65535),
              left: 0n,
              event: 1,
            }),
            announcePacket({
              connectionId: id,
              txid: rng.u32(),
              infoHash: rng.pick(junkHashes),
              port: 6881,
              numWant: 500,
              options: rng.bytes(rng.int(40)),
            }),
            scrapePacket(id, junkHashes.slice(0, rng.range(0, 5)), rng.u32()),
          ];
          const foreignId = (u: Udp) => sessions.find((s) => s.udp.local !== u.local)!.id;
          const garbageDatagram = (u: Udp | UdpSession): Uint8Array => {
            const id = u instanceof UdpSession ? u.id : foreignId(u);
            const templates = templatesFor(rng.chance(0.2) ? rng.bytes(8) : id);
            if (rng.chance(0.25)) return randomDatagram(rng);
            const p = mutate(rng, rng.pick(templates), rng.pick(templates));
            return p;
          };

          let udpSteps = 0;
          for (let step = 0; step < 1500; step++) {
            for (let k = rng.int(4); k > 0; k--) {
              if (rng.chance(0.75)) {
                const u = rng.pick(noId);
                u.send(garbageDatagram(u));
              } else withId.udp.send(garbageDatagram(withId));
            }
            const s = rng.pick(sessions);
            const where = `seed ${seed} step ${step} (${s.udp.local})`;
            const txid = rng.u32();
            if (rng.chance(0.75)) {
              const hash = rng.pick(good);
              const peerPort = rng.range(6881, 6888);
              const event = rng.pick([
                EV_NONE,
                EV_NONE,
                EV_NONE,
                EV_STARTED,
                EV_STARTED,
                EV_COMPLETED,
                EV_COMPLETED,
                EV_STOPPED,
              ]);
              const left =
                event === EV_COMPLETED ? (rng.chance(0.9) ? 0 : 5) : rng.chance(0.3) ? 0 : rng.range(1, 1 << 20);
              const asked = rng.pick([-1, -1, 0, 1, 3, 10, 50, 200, 1000, 0x7fffffff, -5]);
              const reply = await s.udp.request(
                announcePacket({
                  connectionId: s.id,
                  txid,
                  infoHash: hash,
                  port: peerPort,
                  left: BigInt(left),
                  event,
                  numWant: asked,
                }),
              );
              const cand = model.announce(latin1(hash), peerKey(s.udp.local, peerPort), s.family, left, event);
              if (u32(reply, 0) !== 1)
                throw new Error(`${where}: expected an announce reply, got ${Buffer.from(reply).toString("hex")}`);
              if (reply.length > UDP_BUDGET) throw new Error(`${where}: reply of ${reply.length} bytes`);
              const r = parseAnnounceReply(reply, s.family);
              const c = model.counts(latin1(hash));
              equalCounts(
                where,
                { txid: r.txid, interval: jitteredInterval(r.interval), seeders: r.seeders, leechers: r.leechers },
                { txid, interval: INTERVAL, seeders: c.seeders, leechers: c.leechers },
              );
              const allowed = s.family === 4 ? cand.v4 : cand.v6;
              const n =
                event === EV_STOPPED
                  ? 0
                  : Math.min(asked < 0 ? DEFAULT_NUMWANT : asked, MAX_NUMWANT, UDP_CAP[s.family]);
              checkPeers(where, r.peers, allowed, Math.min(n, allowed.size));
            } else {
              const hashes = Array.from({ length: rng.range(1, 6) }, () =>
                rng.chance(0.8) ? rng.pick(good) : unknown,
              );
              const reply = await s.udp.request(scrapePacket(s.id, hashes, txid));
              if (u32(reply, 0) !== 2 || u32(reply, 4) !== txid || reply.length !== 8 + 12 * hashes.length) {
                throw new Error(`${where}: bad scrape reply ${Buffer.from(reply).toString("hex")}`);
              }
              hashes.forEach((h, i) => {
                const c = model.counts(latin1(h));
                const o = 8 + 12 * i;
                equalCounts(
                  `${where} scrape #${i}`,
                  [u32(reply, o), u32(reply, o + 4), u32(reply, o + 8)],
                  [c.seeders, c.downloaded, c.leechers],
                );
              });
            }
            udpSteps++;
          }
          expect(udpSteps).toBe(1500);

          // Garbage without a valid id: exactly the connects among it were answered, 16 bytes each, in order.
          for (const [i, u] of noId.entries()) {
            const replies = await u.drain(0xd0000000 + i);
            const connects = u.sent.filter(isConnect);
            expect(u.sent.length).toBeGreaterThan(300);
            expect(replies.map((r) => [r.length, u32(r, 0), u32(r, 4)])).toEqual(
              connects.map((p) => [16, 0, u32(p, 12)]),
            );
          }
          // Garbage with a valid id: whatever was answered is a well-formed reply within the budget.
          const replies = await withId.udp.drain(0xd00000ff);
          const txids = new Set(withId.udp.sent.filter((p) => p.length >= 16).map((p) => u32(p, 12)));
          expect(withId.udp.sent.length).toBeGreaterThan(100);
          expect(replies.length).toBeGreaterThan(10);
          for (const r of replies.slice(1)) {
            // (the first is the session's own connect)
            expect(r.length).toBeLessThanOrEqual(UDP_BUDGET);
            expect(txids.has(u32(r, 4))).toBe(true);
            const action = u32(r, 0);
            const wellFormed =
              (action === 0 && r.length === 16) ||
              (action === 1 && r.length >= 20 && (r.length - 20) % 6 === 0) ||
              (action === 2 && r.length >= 20 && (r.length - 8) % 12 === 0) ||
              (action === 3 && r.length > 8);
            if (!wellFormed) throw new Error(`malformed reply to a valid-id sender: ${Buffer.from(r).toString("hex")}`);
          }

          // The tracker still answers, and the good torrents hold exactly what the model says.
          const fresh = await UdpSession.open("127.0.0.3", "127.0.0.1", port);
          closers.push(fresh.udp);
          const reply = await fresh.udp.request(scrapePacket(fresh.id, [...good, unknown], 0x5ca1ab1e));
          const got = [...good, unknown].map((_, i) => [
            u32(reply, 8 + 12 * i),
            u32(reply, 12 + 12 * i),
            u32(reply, 16 + 12 * i),
          ]);
          const want = [...good, unknown].map((h) => {
            const c = model.counts(latin1(h));
            return [c.seeders, c.downloaded, c.leechers];
          });
          expect(got).toEqual(want);
          expect(want.some(([s, d, l]) => s > 0 && d > 0 && l > 0)).toBe(true); // the traffic did build swarms
          // Dropped datagrams, counted by whichever thread read them: /metrics has every thread's sum.
          const metrics = await (await fetch(`http://127.0.0.1:${tracker.httpPort}/metrics`)).text();
          expect(Number(/^buntracker_udp_dropped_total (\d+)$/m.exec(metrics)![1])).toBeGreaterThan(0);
          expect(tracker.logs.slice(logsBefore).filter((l) => l.includes("handler failed"))).toEqual([]);
        } finally {
          for (const u of closers) u.close();
        }
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

const TRACKER_PATHS = [
  "/announce",
  "/scrape",
  "/announce.php",
  "/scrape.php",
  "/k3y/announce",
  "/k3y/scrape",
  "/announce/",
];
const OTHER_PATHS = ["/nothing", "/announcex", "/scraper"];
const QUERY_CHARS = "%&=+;#?/ 0123456789abcdefABCDEFxyz-_.~";
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const KNOWN_HEADERS = [
  "accept-encoding",
  "x-forwarded-for",
  "x-real-ip",
  "cf-connecting-ip",
  "forwarded",
  "user-agent",
  "cookie",
  "range",
  "authorization",
  "accept",
  "if-none-match",
];

function randomText(rng: Prng, n: number, alphabet: string): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** A latin1 string of random bytes in [lo, hi]. */
function randomLatin1(rng: Prng, n: number, lo = 0, hi = 255): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(lo + rng.int(hi - lo + 1));
  return s;
}

/** Mostly small, sometimes near or past Bun's 16 KiB limit on the request head. */
const hugeLength = (rng: Prng) =>
  rng.chance(0.8) ? rng.pick([0, 1, 10, 100, 1000]) : rng.pick([8000, 15000, 17000, 70000]);

/** Mutations of a valid query string, as text. */
function mutateQuery(rng: Prng, q: string): string {
  for (let k = rng.range(1, 4); k > 0; k--) {
    const at = rng.int(q.length + 1);
    switch (rng.int(9)) {
      case 0:
        q = q.slice(0, at) + q.slice(at + rng.range(1, 10));
        break;
      case 1:
        q = q.slice(0, at) + randomText(rng, rng.range(1, 8), QUERY_CHARS) + q.slice(at);
        break;
      case 2:
        q = q.slice(0, at) + randomLatin1(rng, rng.range(1, 8), 0x80, 0xff) + q.slice(at);
        break;
      case 3:
        q = q.slice(0, at);
        break;
      case 4:
        q += "&" + q; // every parameter twice
        break;
      case 5:
        q = q.replace(
          /=[^&]*/,
          "=" + rng.pick(["", "-1", "99999999999999999999999", "1e9", "0x10", "%", "%zz", "%2", "+", "NaN", "stopped"]),
        );
        break;
      case 6:
        q = q.replaceAll(rng.pick(["&", "=", "%"]), rng.pick(["=", "&", "%25", ""]));
        break;
      case 7:
        q += `&${randomText(rng, rng.range(1, 10), QUERY_CHARS)}=${"9".repeat(hugeLength(rng))}`;
        break;
      default:
        q = q.slice(0, at) + randomLatin1(rng, rng.range(1, 8), 0, 0x1f) + q.slice(at);
    }
  }
  return q;
}

interface RawResponse {
  status: number;
  head: string;
  body: Uint8Array;
}

/**
 * Sends bytes over a fresh TCP connection, half-closes it, and collects every response until the server
 * closes. Resolves to the responses (none if the server just closed); rejects if nothing happens for 5 s.
 */
function rawExchange(host: string, port: number, data: Uint8Array, localAddress?: string): Promise<RawResponse[]> {
  const head = /^HEAD /.test(latin1(data)); // (a pipelined request repeats the first)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port, localAddress }, () => {
      s.write(data);
      s.end();
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(
          `raw HTTP: no close within 5 s; got ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 200))}`,
        ),
      );
    }, 5000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => {}); // a reset is a closed connection; "close" follows
    s.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(parseResponses(Buffer.concat(chunks), head));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Splits a stream of responses; replies to HEAD have a Content-Length but no body. */
function parseResponses(all: Buffer, head: boolean): RawResponse[] {
  const out: RawResponse[] = [];
  let o = 0;
  while (o < all.length) {
    const end = all.indexOf("\r\n\r\n", o);
    if (end < 0)
      throw new Error(`incomplete response head: ${JSON.stringify(all.subarray(o).toString("latin1").slice(0, 300))}`);
    const text = all.subarray(o, end).toString("latin1");
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
    if (m === null) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 300))}`);
    const length = head ? 0 : Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
    out.push({ status: Number(m[1]), head: text, body: new Uint8Array(all.subarray(end + 4, end + 4 + length)) });
    o = end + 4 + length;
  }
  return out;
}

const STACK_TRACE = /\n\s+at |internal error|Error:/;

/** The acceptable outcomes for garbage; returns a description of what was wrong, or null. */
function judge(
  status: number,
  contentType: string | null,
  body: Uint8Array,
  trackerRoute: boolean,
  head = false,
): string | null {
  const text = Buffer.from(body).toString("latin1");
  if (STACK_TRACE.test(text)) return `a stack trace or internal error: ${text.slice(0, 300)}`;
  if (status === 200) {
    if (!trackerRoute) return "200 for a path that is not a tracker route";
    if (head || body.length === 0) return head ? null : "200 with an empty body";
    if (contentType !== "text/plain; charset=iso-8859-1") return `200 with content-type ${contentType}`;
    try {
      const v = decodeBencode(body);
      if (typeof v !== "object" || Array.isArray(v)) return `200 with bencode that is not a dictionary: ${text}`;
    } catch (err) {
      return `200 with a body that is not bencode (${err}): ${text.slice(0, 300)}`;
    }
    return null;
  }
  if (status >= 400 && status < 500) return null;
  return `status ${status}`;
}

/** A raw HTTP/1.x request (possibly malformed) aimed at a tracker route or another path. */
function rawRequest(
  rng: Prng,
  queries: string[],
): { bytes: Uint8Array; trackerRoute: boolean; malformedLine: boolean } {
  if (rng.chance(0.1)) return { bytes: rng.bytes(rng.int(2000)), trackerRoute: false, malformedLine: true };
  const trackerRoute = rng.chance(0.85);
  const path = trackerRoute ? rng.pick(TRACKER_PATHS) : rng.pick(OTHER_PATHS);
  let malformedLine = false;
  const method = rng.chance(0.8)
    ? "GET"
    : rng.pick([
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "OPTIONS",
        "TRACE",
        "CONNECT",
        "G ET",
        "get",
        "\x00GET",
        randomText(rng, rng.range(1, 12), TOKEN_CHARS),
      ]);
  if (!/^(GET|HEAD|POST|PUT|DELETE|OPTIONS|TRACE|CONNECT)$/.test(method)) malformedLine = true;
  // The target: a mutated query with any bytes at all (NUL, CR, LF, spaces, 0x80-0xff), or absolute form.
  let query = rng.chance(0.5) ? mutateQuery(rng, rng.pick(queries)) : rng.pick(queries);
  if (rng.chance(0.1)) query += randomLatin1(rng, rng.range(1, 6));
  else if (rng.chance(0.3)) query += randomLatin1(rng, rng.range(1, 6), 0x21, 0xff);
  const target = (rng.chance(0.1) ? "http://tracker.example" : "") + path + (rng.chance(0.9) ? "?" + query : "");
  if (/[\x00-\x20\x7f]/.test(target)) malformedLine = true; // a control character or space breaks the line
  const version = rng.chance(0.85)
    ? rng.pick(["HTTP/1.1", "HTTP/1.0"])
    : rng.pick(["HTTP/1.2", "HTTP/2.0", "HTP/1.1", "", "HTTP/1.1 extra", randomLatin1(rng, 5)]);
  if (!/^HTTP\/1\.[01]$/.test(version)) malformedLine = true;
  const eol = rng.chance(0.9) ? "\r\n" : rng.pick(["\n", "\r", "\n\r"]);
  if (eol !== "\r\n") malformedLine = true;
  let text = `${method} ${target} ${version}${eol}`;
  if (rng.chance(0.9)) text += `Host: tracker.example${eol}`;
  for (let k = rng.int(5); k > 0; k--) {
    const name = rng.chance(0.5)
      ? rng.pick(KNOWN_HEADERS)
      : rng.chance(0.9)
        ? randomText(rng, rng.range(1, 20), TOKEN_CHARS)
        : randomLatin1(rng, rng.range(0, 20));
    const value = rng.chance(0.9)
      ? randomLatin1(rng, hugeLength(rng), 0x20, 0xff)
      : randomLatin1(rng, rng.range(0, 50));
    text += rng.chance(0.95) ? `${name}: ${value}${eol}` : `${name}${value}${eol}`;
  }
  if (rng.chance(0.1)) text += `Content-Length: ${rng.pick(["0", "-1", "abc", "5"])}${eol}`;
  text += rng.chance(0.95) ? eol : ""; // sometimes the head never ends: the half-close ends the connection
  if (rng.chance(0.1)) text += text; // pipelined
  return { bytes: latin1Bytes(text), trackerRoute, malformedLine };
}

for (const workers of [1, 2]) {
  describe(`HTTP: random and mutated requests mixed with well-formed announces (--workers ${workers})`, () => {
    let tracker: TestTracker;
    beforeAll(async () => {
      // ::1 is a trusted proxy here, so the forwarding headers among the garbage are parsed too.
      tracker = await startTestTracker([
        "--listen",
        "[::]:0",
        "--rate-limit",
        "0",
        "--trust-proxy",
        "::1",
        "--workers",
        String(workers),
      ]);
    });
    afterAll(() => tracker.stop());

    for (const seed of SEEDS) {
      test(`seed ${seed}`, async () => {
        const rng = new Prng(seed);
        const port = tracker.httpPort;
        const model = new SwarmModel();
        const good = Array.from({ length: 5 }, (_, i) => sha1(`http fuzz seed ${seed} good ${i}`));
        const junkHashes = Array.from({ length: 5 }, (_, i) => sha1(`http fuzz seed ${seed} garbage ${i}`));
        const unknown = sha1(`http fuzz seed ${seed} never announced`);
        const clients = [
          { host: "127.0.0.1", base: `http://127.0.0.1:${port}`, family: 4 as Family, ip: [127, 0, 0, 1] },
          { host: "::1", base: `http://[::1]:${port}`, family: 6 as Family, ip: [...new Array(15).fill(0), 1] },
        ];
        const junkQueries = [
          ...junkHashes.map(
            (h, i) =>
              `info_hash=${pct(h)}&peer_id=${pct(sha1(`peer ${i}`))}&port=${6000 + i}&uploaded=0&downloaded=0&left=${i % 2}&event=started&compact=${i % 2}&numwant=${i * 10}&ip=10.0.0.${i}`,
          ),
          `info_hash=${pct(junkHashes[0])}&info_hash=${pct(junkHashes[1])}`,
          "",
          "info_hash=abc",
        ];
        const outcomes: Record<string, number> = {};
        const logsBefore = tracker.logs.length;
        const note = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1);

        const fetchGarbage = async (where: string) => {
          const trackerRoute = rng.chance(0.85);
          const path = trackerRoute ? rng.pick(TRACKER_PATHS) : rng.pick(OTHER_PATHS);
          const query = rng.chance(0.7)
            ? mutateQuery(rng, rng.pick(junkQueries))
            : randomLatin1(rng, rng.int(100), 0x20, 0xff);
          const headers: [string, string][] = [];
          for (let k = rng.int(4); k > 0; k--) {
            const name = rng.chance(0.5)
              ? rng.pick(KNOWN_HEADERS)
              : "x-" + randomText(rng, rng.range(1, 30), TOKEN_CHARS);
            const value = rng.chance(0.3)
              ? rng.pick(["1.2.3.4", "::1, 10.0.0.1", "[::1]:80", "999.1.1.1", ",,,", "gzip", "for=1.2.3.4", "unknown"])
              : randomLatin1(rng, hugeLength(rng), 0x21, 0xff);
            headers.push([name, value]);
          }
          const method = rng.chance(0.85) ? "GET" : rng.pick(["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]);
          const client = rng.pick(clients);
          let res: Response;
          try {
            res = await fetch(`${client.base}${path}?${query}`, { method, headers });
          } catch (err) {
            note(`fetch error: ${String(err).slice(0, 60)}`); // the server closed the connection (or fetch refused)
            return;
          }
          const body = new Uint8Array(await res.arrayBuffer());
          note(`fetch ${res.status}`);
          const problem = judge(res.status, res.headers.get("content-type"), body, trackerRoute, method === "HEAD");
          if (problem !== null)
            throw new Error(`${where}: ${method} ${path}?${JSON.stringify(query.slice(0, 200))}: ${problem}`);
        };

        const rawGarbage = async (where: string) => {
          const r = rawRequest(rng, junkQueries);
          const [host, local] = rng.pick([
            ["127.0.0.1", "127.0.0.1"],
            ["127.0.0.1", "127.0.0.2"],
            ["::1", "::1"],
          ]);
          const responses = await rawExchange(host, port, r.bytes, local);
          if (responses.length === 0) note("raw closed");
          for (const res of responses) {
            note(`raw ${res.status}`);
            // Bun's own parser answers some broken request lines (NUL or bare LF in them, an unknown version)
            // with a canned, empty "505 HTTP Version Not Supported" before the tracker sees anything.
            if (res.status === 505 && r.malformedLine && res.body.length === 0) continue;
            const ct = /\r\ncontent-type: *([^\r]*)/i.exec(res.head)?.[1] ?? null;
            const problem = judge(res.status, ct, res.body, r.trackerRoute, /^HEAD /.test(latin1(r.bytes)));
            if (problem !== null)
              throw new Error(`${where}: raw ${JSON.stringify(latin1(r.bytes).slice(0, 300))}: ${problem}`);
          }
        };

        for (let step = 0; step < 400; step++) {
          const where = `seed ${seed} step ${step}`;
          for (let k = rng.int(4); k > 0; k--) {
            if (rng.chance(0.5)) await fetchGarbage(where);
            else await rawGarbage(where);
          }
          const c = rng.pick(clients);
          const w = `${where} (${c.host})`;
          if (rng.chance(0.75)) {
            const hash = rng.pick(good);
            const peerPort = rng.range(6881, 6888);
            const event = rng.pick([EV_NONE, EV_NONE, EV_STARTED, EV_COMPLETED, EV_COMPLETED, EV_STOPPED]);
            const left =
              event === EV_COMPLETED ? (rng.chance(0.9) ? 0 : 7) : rng.chance(0.3) ? 0 : rng.range(1, 1 << 20);
            const asked = rng.pick([undefined, -1, 0, 1, 5, 50, 300]);
            const compact = rng.chance(0.8);
            const q =
              `info_hash=${pct(hash)}&peer_id=${pct(sha1(`${c.host} ${peerPort}`))}&port=${peerPort}&uploaded=0&downloaded=0&left=${left}` +
              (event === EV_NONE ? "" : `&event=${HTTP_EVENT[event]}`) +
              (asked === undefined ? "" : `&numwant=${asked}`) +
              (compact ? "" : "&compact=0");
            const res = await fetch(`${c.base}/announce?${q}`);
            const bytes = new Uint8Array(await res.arrayBuffer());
            const cand = model.announce(latin1(hash), peerKey(c.host, peerPort), c.family, left, event);
            const body = decodeBencode(bytes) as Record<string, BValue>;
            if (res.status !== 200 || "failure reason" in body)
              throw new Error(`${w}: announce failed: ${latin1(bytes)}`);
            const counts = model.counts(latin1(hash));
            equalCounts(
              w,
              [
                body.complete,
                body.incomplete,
                body.downloaded,
                jitteredInterval(body.interval),
                body["min interval"],
                body["external ip"],
              ],
              [
                counts.seeders,
                counts.leechers,
                counts.downloaded,
                INTERVAL,
                MIN_INTERVAL,
                String.fromCharCode(...c.ip),
              ],
            );
            let peers: string[];
            if (compact) peers = [...compactPeers(body.peers, 6), ...compactPeers(body.peers6, 18)];
            else {
              peers = (body.peers as { ip: string; port: number }[]).map((p) =>
                p.ip === "::1" ? `${V6_LOOPBACK}:${p.port}` : `${p.ip}:${p.port}`,
              );
            }
            const allowed = new Set([...cand.v4, ...cand.v6]);
            const n =
              event === EV_STOPPED
                ? 0
                : Math.min(asked === undefined || asked < 0 ? DEFAULT_NUMWANT : asked, MAX_NUMWANT);
            checkPeers(w, peers, allowed, Math.min(n, allowed.size));
          } else {
            const hashes = Array.from({ length: rng.range(1, 6) }, () => (rng.chance(0.8) ? rng.pick(good) : unknown));
            const res = await fetch(`${c.base}/scrape?${hashes.map((h) => `info_hash=${pct(h)}`).join("&")}`);
            const body = decodeBencode(new Uint8Array(await res.arrayBuffer())) as Record<
              string,
              Record<string, Record<string, number>>
            >;
            const want = Object.fromEntries(
              [...new Set(hashes.map(latin1))].sort().map((h) => {
                const x = model.counts(h);
                return [h, { complete: x.seeders, downloaded: x.downloaded, incomplete: x.leechers }];
              }),
            );
            equalCounts(`${w} scrape`, body.files, want);
          }
        }

        // Every kind of outcome showed up, and none was a server error.
        expect(Object.keys(outcomes).some((k) => /^(fetch|raw) 200$/.test(k))).toBe(true);
        expect(Object.keys(outcomes).some((k) => /^(fetch|raw) 4\d\d$/.test(k))).toBe(true);
        expect(outcomes["raw closed"]).toBeGreaterThan(0);
        // Good requests still work, and the store holds what the model says.
        const all = [...good, unknown];
        const res = await fetch(`http://127.0.0.1:${port}/scrape?${all.map((h) => `info_hash=${pct(h)}`).join("&")}`);
        const body = decodeBencode(new Uint8Array(await res.arrayBuffer())) as Record<
          string,
          Record<string, Record<string, number>>
        >;
        for (const h of all) {
          const x = model.counts(latin1(h));
          expect(body.files[latin1(h)]).toEqual({
            complete: x.seeders,
            downloaded: x.downloaded,
            incomplete: x.leechers,
          });
        }
        expect(await (await fetch(`http://[::1]:${port}/healthz`)).text()).toBe("ok\n");
        expect(tracker.logs.slice(logsBefore).filter((l) => l.includes("handler failed"))).toEqual([]);
      }, 60_000);
    }
  });
}
