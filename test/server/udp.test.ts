// BEP 15 over real UDP sockets: the wire side of the conformance checklist (docs: trackers-compared.md §5),
// run over IPv4 and IPv6, plus a dual-stack listener and clients that vanish mid-exchange. Counts, events,
// num_want, peer lists, scrape counts, the reply byte budget and the store shared with HTTP need no socket:
// they are checked in-process in test/frontend/behaviour.test.ts.
//
// "No reply" is proven without sleeping: UdpClient.expectNoReply sends the packet and then a connect, whose
// reply must come first (loopback keeps order; the tracker answers in arrival order).

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { TestTracker } from "../helpers/in-process.ts";
import { startTestTracker } from "../helpers/in-process.ts";
import {
  type AnnounceFields,
  type AnnounceReply,
  announcePacket,
  connectPacket,
  parseAnnounceReply,
  parseError,
  PROTOCOL_ID_BYTES,
  scrapePacket,
  UdpClient,
} from "../helpers/udp-client.ts";
import { loopbackPeer, sha1 } from "../helpers/http-client.ts";

// ---------------------------------------------------------------------------------------------------------
// Shared helpers

type Loopback = "127.0.0.1" | "::1";

const REPLY_BUDGET = 1232; // IPv6 minimum MTU less IPv6 and UDP headers: no reply may be bigger
const DEFAULT_NUMWANT = 5; // set on every tracker below, so "the default" is observable with small swarms

const opened: UdpClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

let txidSeq = 0x41000000;
const nextTxid = () => txidSeq++;

const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A sample of /metrics (the sum over every thread), by name with labels; `host` is where --listen is. */
async function metric(t: TestTracker, series: string, host: Loopback = "127.0.0.1"): Promise<number> {
  const text = await (await fetch(`http://${host === "::1" ? "[::1]" : host}:${t.httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Torrents the tracker holds. */
const torrentCount = (t: TestTracker, host: Loopback = "127.0.0.1") => metric(t, "buntracker_torrents", host);

/** Peers of each family. */
async function peersByFamily(t: TestTracker): Promise<[number, number]> {
  return [await metric(t, 'buntracker_peers{family="ipv4"}'), await metric(t, 'buntracker_peers{family="ipv6"}')];
}

/** A UDP client that has already connected: it holds a valid connection id for its address. */
class Session {
  private constructor(
    readonly client: UdpClient,
    readonly id: Uint8Array,
    readonly host: Loopback,
  ) {}

  static async open(host: Loopback, port: number, localHost: string = host): Promise<Session> {
    const client = await UdpClient.open(host, port, localHost);
    opened.push(client);
    return new Session(client, await client.connect(), host);
  }

  get family(): 4 | 6 {
    return this.host === "::1" ? 6 : 4;
  }

  /** How this host's peer at `port` appears in reply peer lists. */
  peer(port: number): string {
    return loopbackPeer(this.host, port);
  }

  packet(f: Omit<AnnounceFields, "connectionId">): Uint8Array {
    return announcePacket({ connectionId: this.id, ...f });
  }

  /** Announces and checks that the reply is an announce reply for this request. */
  async announce(f: Omit<AnnounceFields, "connectionId">): Promise<AnnounceReply> {
    const txid = f.txid ?? nextTxid();
    const reply = await this.client.request(this.packet({ ...f, txid }));
    if (u32(reply, 0) !== 1)
      throw new Error(`expected an announce reply, got ${hex(reply)} (${parseError(reply).message})`);
    expect(reply.length).toBeLessThanOrEqual(REPLY_BUDGET);
    const r = parseAnnounceReply(reply, this.family); // throws unless 20 + stride * n bytes
    expect(r.txid).toBe(txid);
    return r;
  }

  /** Sends `packet` and returns the error message of the error reply it must get. */
  async error(packet: Uint8Array): Promise<string> {
    const reply = await this.client.request(packet);
    const e = parseError(reply);
    expect(e.action).toBe(3);
    expect(reply.subarray(4, 8)).toEqual(packet.subarray(12, 16));
    return e.message;
  }

  /** Scrapes and returns [seeders, completed, leechers] per hash, in reply order. */
  async scrape(hashes: Uint8Array[]): Promise<number[][]> {
    const txid = nextTxid();
    const reply = await this.client.request(scrapePacket(this.id, hashes, txid));
    expect(u32(reply, 0)).toBe(2);
    expect(u32(reply, 4)).toBe(txid);
    expect((reply.length - 8) % 12).toBe(0);
    const entries: number[][] = [];
    for (let o = 8; o < reply.length; o += 12) entries.push([u32(reply, o), u32(reply, o + 4), u32(reply, o + 8)]);
    return entries;
  }

  /** Adds `count` peers (ports from `firstPort`) to the torrent, asking for no peers back. */
  async fill(infoHash: Uint8Array, count: number, firstPort: number, left = 1000n): Promise<void> {
    for (let i = 0; i < count; i++) await this.announce({ infoHash, port: firstPort + i, left, numWant: 0 });
  }
}

/** The connect reply must be a plain 16-byte reply echoing the txid. */
function expectConnectReply(reply: Uint8Array, txid: number): void {
  expect(reply.length).toBe(16);
  expect(u32(reply, 0)).toBe(0);
  expect(u32(reply, 4)).toBe(txid);
}

const sorted = (xs: string[]) => [...xs].sort();
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

// ---------------------------------------------------------------------------------------------------------
// The checklist, once per address family

const FAMILIES = [
  { name: "IPv4", host: "127.0.0.1", listen: "127.0.0.1:0" },
  { name: "IPv6", host: "::1", listen: "[::1]:0" },
] as const;

for (const fam of FAMILIES) {
  describe(`UDP tracker over ${fam.name} (${fam.host})`, () => {
    let tracker: TestTracker;
    const stride: 6 | 18 = fam.host === "::1" ? 18 : 6;
    const hash = (label: string) => sha1(`${fam.name} ${label}`);
    const open = (localHost: string = fam.host) => Session.open(fam.host, tracker.udpPort!, localHost);
    const peer = (port: number) => loopbackPeer(fam.host, port);

    beforeAll(async () => {
      tracker = await startTestTracker(["--listen", fam.listen, "--default-numwant", String(DEFAULT_NUMWANT)]);
    });
    afterAll(() => tracker.stop());

    describe("framing and actions", () => {
      test("drops datagrams shorter than 16 bytes, including a truncated connect", async () => {
        const s = await open();
        const connect = connectPacket(0x11223344);
        for (const len of [0, 1, 8, 12, 15]) await s.client.expectNoReply(connect.subarray(0, len));
        await s.client.expectNoReply(new Uint8Array(15).fill(0xff));
      });

      test("drops a connect without the protocol magic", async () => {
        const s = await open();
        const flipped = connectPacket(1);
        flipped[7] ^= 0x01;
        const swapped = connectPacket(2);
        swapped.set([...PROTOCOL_ID_BYTES].reverse(), 0);
        const zeros = connectPacket(3);
        zeros.fill(0, 0, 8);
        for (const p of [flipped, swapped, zeros]) await s.client.expectNoReply(p);
      });

      test("answers a connect longer than 16 bytes with a 16-byte reply whose id works", async () => {
        const s = await open();
        for (const len of [17, 98, 400]) {
          const p = new Uint8Array(len).fill(0xab);
          p.set(connectPacket(0x5000 + len), 0);
          const reply = await s.client.request(p);
          expectConnectReply(reply, 0x5000 + len);
          const id = reply.slice(8, 16);
          const r = parseAnnounceReply(
            await s.client.request(
              announcePacket({ connectionId: id, infoHash: hash("long connect"), port: 4000 + len }),
            ),
            s.family,
          );
          expect(r.action).toBe(1);
        }
      });

      test("drops action 3 (error) and unknown actions, even with a valid connection id", async () => {
        const s = await open();
        const torrents = await torrentCount(tracker, fam.host);
        // 0x101 and 0x100 catch a server that reads only the low byte of the action (announce, connect).
        for (const action of [3, 4, 5, 255, 0x100, 0x101, 0x80000001, 0xffffffff]) {
          const p = s.packet({ infoHash: hash("unknown action"), port: 4100 });
          new DataView(p.buffer).setUint32(8, action);
          await s.client.expectNoReply(p);
        }
        expect(await torrentCount(tracker, fam.host)).toBe(torrents); // nothing registered
      });

      test("echoes the transaction id byte for byte in every reply, errors included", async () => {
        const s = await open();
        const h = hash("txid");
        for (const txid of [0, 0xffffffff, 0x80000000, 0xdeadbeef]) {
          expectConnectReply(await s.client.request(connectPacket(txid)), txid);
          expect(u32(await s.client.request(s.packet({ txid, infoHash: h, port: 4200 })), 4)).toBe(txid);
          expect(u32(await s.client.request(scrapePacket(s.id, [h], txid)), 4)).toBe(txid);
          const shortAnnounce = await s.client.request(s.packet({ txid, infoHash: h, port: 4200 }).subarray(0, 60));
          expect(u32(shortAnnounce, 0)).toBe(3);
          expect(u32(shortAnnounce, 4)).toBe(txid);
          const emptyScrape = await s.client.request(scrapePacket(s.id, [], txid));
          expect(u32(emptyScrape, 0)).toBe(3);
          expect(u32(emptyScrape, 4)).toBe(txid);
          const badPort = await s.client.request(s.packet({ txid, infoHash: h, port: 0 }));
          expect(u32(badPort, 0)).toBe(3);
          expect(u32(badPort, 4)).toBe(txid);
        }
      });
    });

    describe("connection ids", () => {
      test("drops announce and scrape with a connection id the tracker did not issue", async () => {
        const s = await open();
        const h = hash("bad id");
        const torrents = await torrentCount(tracker, fam.host);
        const lastBit = s.id.slice();
        lastBit[7] ^= 0x01;
        const timeByte = s.id.slice();
        timeByte[3] ^= 0x01;
        const bad = [
          new Uint8Array(8),
          Uint8Array.from(PROTOCOL_ID_BYTES),
          crypto.getRandomValues(new Uint8Array(8)),
          lastBit,
          timeByte,
        ];
        for (const id of bad) {
          await s.client.expectNoReply(announcePacket({ connectionId: id, infoHash: h, port: 4300 }));
          await s.client.expectNoReply(scrapePacket(id, [h]));
          await s.client.expectNoReply(announcePacket({ connectionId: id, infoHash: h, port: 4300 }).subarray(0, 50));
        }
        expect(await torrentCount(tracker, fam.host)).toBe(torrents); // nothing registered
      });

      test("accepts an id from another port of the same address (NATs remap ports)", async () => {
        const a = await open();
        const b = await open();
        expect(b.client.localPort).not.toBe(a.client.localPort);
        const reply = await b.client.request(announcePacket({ connectionId: a.id, infoHash: hash("nat"), port: 4400 }));
        expect(u32(reply, 0)).toBe(1);
      });

      if (fam.host === "127.0.0.1") {
        test("drops requests that carry an id issued to another address (127.0.0.2)", async () => {
          const other = await open("127.0.0.2");
          const s = await open("127.0.0.1");
          const h = hash("id from 127.0.0.2");
          await s.client.expectNoReply(announcePacket({ connectionId: other.id, infoHash: h, port: 4500 }));
          await s.client.expectNoReply(scrapePacket(other.id, [h]));
          // The id is good where it was issued.
          const r = await other.announce({ infoHash: h, port: 4501, numWant: 0 });
          expect(r.leechers).toBe(1);
          expect((await s.announce({ infoHash: h, port: 4502 })).peers).toEqual(["127.0.0.2:4501"]);
        });
      }
    });

    describe("announce", () => {
      test("accepts a 98-byte announce and registers the peer", async () => {
        const s = await open();
        const h = hash("98 bytes");
        expect(s.packet({ infoHash: h, port: 5000 }).length).toBe(98);
        const r = await s.announce({ infoHash: h, port: 5000 });
        expect(r).toMatchObject({ action: 1, leechers: 1, seeders: 0, peers: [] });
        expect(r.interval).toBeWithin(1620, 1981); // 1800 s ± 10% jitter
        expect(await s.scrape([h])).toEqual([[0, 0, 1]]);
      });

      test("accepts BEP 41 options after byte 98, well-formed or not", async () => {
        const s = await open();
        const h = hash("bep41");
        const text = (t: string) => [...new TextEncoder().encode(t)];
        const options: number[][] = [
          [0x02, 19, ...text("/announce?passkey=x"), 0x00], // URLData, then EndOfOptions
          [0x01, 0x01, 0x00], // NOPs
          [0x02, 3, ...text("/an"), 0x01, 0x02, 6, ...text("nounce"), 0x00], // URLData in two chunks
          [0x02, 3, ...text("abc")], // no EndOfOptions
          [0x07, 2, 0xaa, 0xbb, 0x00], // unknown type with a length: skipped
          [0x02, 200, 0x41], // length beyond the end of the packet
          [0x00, 0xff, 0xff, 0xff], // bytes after EndOfOptions
          [0xff],
          Array.from(crypto.getRandomValues(new Uint8Array(300))),
        ];
        for (const [i, o] of options.entries()) {
          const r = await s.announce({ infoHash: h, port: 5100 + i, numWant: 0, options: Uint8Array.from(o) });
          expect(r.leechers).toBe(i + 1);
        }
        expect(await s.scrape([h])).toEqual([[0, 0, options.length]]);
      });

      test("answers an announce shorter than 98 bytes (valid id) with a short error", async () => {
        const s = await open();
        const h = hash("short announce");
        const torrents = await torrentCount(tracker, fam.host);
        const full = s.packet({ infoHash: h, port: 5200 });
        for (const len of [16, 20, 97]) {
          const req = full.slice(0, len);
          const reply = await s.client.request(req);
          const e = parseError(reply);
          expect(e.action).toBe(3);
          expect(reply.subarray(4, 8)).toEqual(req.subarray(12, 16));
          // Only the message follows the header: printable ASCII, no padding, no NUL, no leftovers.
          expect(e.message).toMatch(/^[\x20-\x7e]+$/);
          expect(e.message).toContain("98");
          expect(reply.length).toBeLessThanOrEqual(64);
        }
        expect(await torrentCount(tracker, fam.host)).toBe(torrents); // nothing registered
      });

      test("rejects port 0 with an error and registers nothing", async () => {
        const s = await open();
        const h = hash("port 0");
        const torrents = await torrentCount(tracker, fam.host);
        expect(await s.error(s.packet({ infoHash: h, port: 0, txid: nextTxid() }))).toContain("port");
        expect(await torrentCount(tracker, fam.host)).toBe(torrents); // nothing registered
      });

      test("rejects events above 3 with an error, reading all four bytes", async () => {
        const s = await open();
        const h = hash("bad event");
        const torrents = await torrentCount(tracker, fam.host);
        // 0x100 and 0x101 would pass as "none" and "completed" if only the low byte were read.
        for (const event of [4, 0x100, 0x101, 0xffffffff]) {
          expect(await s.error(s.packet({ infoHash: h, port: 5300, event, left: 0n, txid: nextTxid() }))).toContain(
            "event",
          );
        }
        expect(await torrentCount(tracker, fam.host)).toBe(torrents); // nothing registered
      });

      test("records the peer at its source address and ignores the IP field", async () => {
        const s = await open();
        const h = hash("ip field");
        await s.announce({ infoHash: h, port: 5400, ip: 0x01020304, numWant: 0 });
        expect((await s.announce({ infoHash: h, port: 5401 })).peers).toEqual([peer(5400)]);
      });

      test("reads left as 64 bits: 2^32 bytes left is a leecher", async () => {
        const s = await open();
        const h = hash("left 64");
        const r = await s.announce({ infoHash: h, port: 5800, left: 2n ** 32n, numWant: 0 });
        expect([r.leechers, r.seeders]).toEqual([1, 0]);
        const r2 = await s.announce({ infoHash: h, port: 5801, left: 0n, numWant: 0 });
        expect([r2.leechers, r2.seeders]).toEqual([1, 1]);
      });
    });

    describe("peer lists", () => {
      test(`replies use the ${stride}-byte stride of the request's family`, async () => {
        const s = await open();
        const h = hash("stride");
        await s.fill(h, 3, 8500);
        const reply = await s.client.request(s.packet({ infoHash: h, port: 8600, numWant: 50 }));
        expect(reply.length).toBe(20 + 3 * stride);
        const addr = fam.host === "::1" ? [...new Uint8Array(15), 1] : [127, 0, 0, 1];
        expect([...reply.subarray(20, 20 + addr.length)]).toEqual(addr);
      });
    });

    describe("scrape", () => {
      test("more than 74 hashes: only the first 74 are answered", async () => {
        const s = await open();
        const known = hash("scrape cap");
        await s.fill(known, 1, 9400);
        const hashes = range(80).map((i) => (i === 73 || i === 74 ? known : hash(`scrape cap ${i}`)));
        const entries = await s.scrape(hashes);
        expect(entries).toHaveLength(74);
        expect(entries[73]).toEqual([0, 0, 1]);
        expect(entries.slice(0, 73).every((e) => e.join() === "0,0,0")).toBe(true);
      });

      test("a trailing partial hash is ignored", async () => {
        const s = await open();
        const h = hash("scrape partial");
        await s.fill(h, 2, 9500);
        const txid = nextTxid();
        const p = new Uint8Array(16 + 20 + 19);
        p.set(scrapePacket(s.id, [h], txid), 0);
        p.fill(0x77, 36);
        const reply = await s.client.request(p);
        expect(reply.length).toBe(8 + 12);
        expect([u32(reply, 0), u32(reply, 4), u32(reply, 8), u32(reply, 12), u32(reply, 16)]).toEqual([
          2,
          txid,
          0,
          0,
          2,
        ]);
        // A lone partial hash is no hash at all.
        expect(await s.error(p.slice(0, 16 + 19))).toMatch(/scrape|hash/);
      });
    });

    describe("clients that go away", () => {
      test("a reply to a closed port neither stops the server nor loses the next reply", async () => {
        const live = await open();
        const h = hash("icmp");
        for (let i = 0; i < 20; i++) {
          const gone = await UdpClient.open(fam.host, tracker.udpPort!);
          gone.send(connectPacket(i));
          // The tracker runs on this thread, so it has not answered yet: its reply meets a closed port and
          // the kernel answers with ICMP port unreachable.
          gone.close();
          const r = await live.announce({ infoHash: h, port: 9700, numWant: 0 });
          expect(r.leechers).toBe(1);
        }
        expectConnectReply(await live.client.request(connectPacket(0x600d)), 0x600d);
        const fresh = await open();
        expect((await fresh.announce({ infoHash: h, port: 9701 })).peers).toEqual([peer(9700)]);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// One dual-stack socket for both families

describe("UDP tracker on a dual-stack socket ([::]:0)", () => {
  let tracker: TestTracker;
  const hash = (label: string) => sha1(`dual stack ${label}`);
  const open = (host: Loopback) => Session.open(host, tracker.udpPort!);

  beforeAll(async () => {
    tracker = await startTestTracker(["--udp-listen", "[::]:0", "--default-numwant", String(DEFAULT_NUMWANT)]);
  });
  afterAll(() => tracker.stop());

  test("an IPv4 client (seen as ::ffff:127.0.0.1) is an IPv4 peer and gets 6-byte peers", async () => {
    const s = await open("127.0.0.1");
    const h = hash("v4 client");
    const [peers4, peers6] = await peersByFamily(tracker);
    await s.fill(h, 2, 1000);
    const [after4, after6] = await peersByFamily(tracker);
    expect([after4 - peers4, after6 - peers6]).toEqual([2, 0]);
    const reply = await s.client.request(s.packet({ infoHash: h, port: 1002, numWant: 50 }));
    expect(reply.length).toBe(20 + 2 * 6);
    expect(sorted(parseAnnounceReply(reply, 4).peers)).toEqual(["127.0.0.1:1000", "127.0.0.1:1001"]);
  });

  test("IPv4 and IPv6 peers never mix; the counts cover both families", async () => {
    const v4 = await open("127.0.0.1");
    const v6 = await open("::1");
    const h = hash("no mixing");
    await v4.fill(h, 2, 2000);
    await v6.fill(h, 3, 3000);
    const r4 = await v4.announce({ infoHash: h, port: 2000, numWant: 50 });
    expect(sorted(r4.peers)).toEqual([v4.peer(2001)]);
    expect(r4.leechers).toBe(5);
    const r6 = await v6.announce({ infoHash: h, port: 3000, numWant: 50 });
    expect(sorted(r6.peers)).toEqual(sorted([v6.peer(3001), v6.peer(3002)]));
    expect(r6.leechers).toBe(5);
  });

  test("a connection id issued to 127.0.0.1 is not valid from ::1, nor the reverse", async () => {
    const v4 = await open("127.0.0.1");
    const v6 = await open("::1");
    const h = hash("cross family id");
    const torrents = await torrentCount(tracker);
    await v6.client.expectNoReply(announcePacket({ connectionId: v4.id, infoHash: h, port: 4000 }));
    await v4.client.expectNoReply(announcePacket({ connectionId: v6.id, infoHash: h, port: 4000 }));
    expect(await torrentCount(tracker)).toBe(torrents); // nothing registered
  });
});
