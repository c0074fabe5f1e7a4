// HTTP announce and scrape over real sockets (BEP 3, 7, 23, 24, 48), on 127.0.0.1, [::1] and a dual-stack
// listener. Every reply is decoded with decodeBencode, which throws on unsorted or repeated keys, so each
// decode also checks that the reply is canonical bencode. Counts, events, numwant, peer lists and multi-hash
// scrapes need no socket: they are checked once for every protocol in test/frontend/behaviour.test.ts.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { decodeBencode, latin1Bytes } from "../../src/codec/bencode-decode.ts";
import type { TestTracker } from "../helpers/in-process.ts";
import { startTestTracker } from "../helpers/in-process.ts";
import {
  type AnnounceParams,
  announceQuery,
  type BencodeReply,
  compactPeers,
  getBencode,
  latin1,
  loopbackPeer,
  PEER_ID,
  pct,
  rawHttp,
  sha1,
  urlHost,
} from "../helpers/http-client.ts";

// ---------------------------------------------------------------------------------------------------------
// Shared helpers

type Loopback = "127.0.0.1" | "::1";

const DEFAULT_NUMWANT = 3;
const MAX_NUMWANT = 5;
const TRACKER_ARGS = [
  "--udp-listen",
  "off",
  "--default-numwant",
  String(DEFAULT_NUMWANT),
  "--max-numwant",
  String(MAX_NUMWANT),
];
const ANNOUNCE_KEYS = [
  "complete",
  "downloaded",
  "external ip",
  "incomplete",
  "interval",
  "min interval",
  "peers",
  "peers6",
];

const sorted = (xs: string[]) => [...xs].sort();

/** Talks to one tracker from one loopback address. */
class HttpClient {
  constructor(
    readonly host: Loopback,
    readonly port: number,
  ) {}

  url(pathAndQuery: string): string {
    return `http://${urlHost(this.host, this.port)}${pathAndQuery}`;
  }

  get(pathAndQuery: string, init?: RequestInit): Promise<BencodeReply> {
    return getBencode(this.url(pathAndQuery), init);
  }

  /** An announce that must succeed (HTTP 200, no failure reason). A string is sent as the query verbatim. */
  async announce(p: AnnounceParams | string, path = "/announce"): Promise<Record<string, unknown>> {
    const r = await this.get(`${path}?${typeof p === "string" ? p : announceQuery(p)}`);
    expect(r.status).toBe(200);
    if ("failure reason" in r.body) throw new Error(`announce failed: ${r.body["failure reason"]}`);
    return r.body;
  }

  /** A request that must get HTTP 200 with a bencoded failure reason; returns the reason. */
  async failure(pathAndQuery: string): Promise<string> {
    const r = await this.get(pathAndQuery);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(["failure reason"]);
    return r.body["failure reason"] as string;
  }

  /** Scrape counts per raw hash (latin1 key), as the `files` dictionary has them. */
  async scrape(hashes: Uint8Array[], path = "/scrape"): Promise<Record<string, Record<string, number>>> {
    const r = await this.get(`${path}?${hashes.map((h) => `info_hash=${pct(h)}`).join("&")}`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body)).toEqual(["files"]);
    return r.body.files as Record<string, Record<string, number>>;
  }

  /** Adds `count` peers from this address with ports from `firstPort`. */
  async fill(infoHash: Uint8Array, count: number, firstPort: number, left = 100): Promise<void> {
    for (let i = 0; i < count; i++) await this.announce({ infoHash, port: firstPort + i, left, numwant: 0 });
  }
}

/** The peers of a compact reply, by family. */
function peersOf(body: Record<string, unknown>): { v4: string[]; v6: string[] } {
  return {
    v4: compactPeers(body.peers as string, 6),
    v6: body.peers6 === undefined ? [] : compactPeers(body.peers6 as string, 18),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Once per address family

const FAMILIES = [
  { name: "IPv4", host: "127.0.0.1", listen: "127.0.0.1:0", ip: [127, 0, 0, 1] },
  { name: "IPv6", host: "::1", listen: "[::1]:0", ip: [...new Uint8Array(15), 1] },
] as const;

for (const fam of FAMILIES) {
  describe(`HTTP tracker over ${fam.name} (${fam.host})`, () => {
    let tracker: TestTracker;
    let c: HttpClient;
    const hash = (label: string) => sha1(`${fam.name} ${label}`);
    const peer = (port: number) => loopbackPeer(fam.host, port);
    /** This family's compact peers in a reply; the other family's list must be empty. */
    const ownPeers = (body: Record<string, unknown>) => {
      const p = peersOf(body);
      expect(fam.host === "::1" ? p.v4 : p.v6).toEqual([]);
      return fam.host === "::1" ? p.v6 : p.v4;
    };

    /** Torrents the tracker holds, from /metrics (every thread's sum with --workers). */
    const torrentCount = async () => {
      const text = await (await fetch(c.url("/metrics"))).text();
      return Number(/^buntracker_torrents (\d+)$/m.exec(text)![1]);
    };

    beforeAll(async () => {
      tracker = await startTestTracker(["--listen", fam.listen, ...TRACKER_ARGS]);
      c = new HttpClient(fam.host, tracker.httpPort);
    });
    afterAll(() => tracker.stop());

    describe("announce replies", () => {
      test("are canonical bencode with the expected keys and values", async () => {
        const res = await fetch(c.url(`/announce?${announceQuery({ infoHash: hash("shape"), port: 1000, left: 5 })}`));
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toStartWith("text/plain");
        await res.arrayBuffer();
        const body = (await c.announce({ infoHash: hash("shape"), port: 1001, left: 5 })) as Record<string, unknown>;
        expect(Object.keys(body)).toEqual(ANNOUNCE_KEYS);
        expect(body).toMatchObject({ complete: 0, downloaded: 0, incomplete: 2, "min interval": 900 });
        // The 1800 s interval with its ±10% jitter.
        expect(body.interval).toBeWithin(1620, 1981);
      });

      test("carry the client's own address as BEP 24 `external ip` bytes", async () => {
        const body = await c.announce({ infoHash: hash("external ip"), port: 1100 });
        expect([...latin1Bytes(body["external ip"] as string)]).toEqual([...fam.ip]);
      });

      test(`put ${fam.name} peers in \`${fam.host === "::1" ? "peers6" : "peers"}\` (compact by default)`, async () => {
        const h = hash("compact");
        await c.fill(h, 2, 1200);
        expect(sorted(ownPeers(await c.announce({ infoHash: h, port: 1202 })))).toEqual([peer(1200), peer(1201)]);
        expect(sorted(ownPeers(await c.announce({ infoHash: h, port: 1203, compact: 1 })))).toHaveLength(3);
      });

      test("compact=0 gives a list of dictionaries with ip and port", async () => {
        const h = hash("dict model");
        await c.fill(h, 2, 1300);
        for (const extra of ["", "&no_peer_id=1"]) {
          const body = await c.announce({ infoHash: h, port: 1302, compact: 0, extra });
          const peers = body.peers as Record<string, unknown>[];
          expect(Array.isArray(peers)).toBe(true);
          // BEP 3 dictionaries have ip and port (and `peer id`, which no_peer_id=1 leaves out).
          for (const p of peers) {
            if (extra === "") expect(p).toContainKeys(["ip", "port"]);
            else expect(p).toContainAllKeys(["ip", "port"]);
          }
          expect(sorted(peers.map((p) => `${p.ip}:${p.port}`))).toEqual([`${fam.host}:1300`, `${fam.host}:1301`]);
          expect(body.peers6).toBeUndefined();
        }
      });

      test("no_peer_id is accepted and the reply stays compact", async () => {
        const h = hash("no_peer_id");
        await c.fill(h, 1, 1400);
        for (const extra of ["&no_peer_id=1", "&no_peer_id", "&no_peer_id=0"]) {
          expect(ownPeers(await c.announce({ infoHash: h, port: 1401, extra }))).toEqual([peer(1400)]);
        }
      });

      test("a missing `left` makes a leecher", async () => {
        const h = hash("left missing");
        expect(await c.announce({ infoHash: h, port: 1600 })).toMatchObject({ complete: 0, incomplete: 1 });
        expect(await c.announce({ infoHash: h, port: 1601, left: 0 })).toMatchObject({ complete: 1, incomplete: 1 });
      });
    });

    describe("events", () => {
      test("paused, empty and a missing event are plain announces", async () => {
        const h = hash("paused");
        await c.announce({ infoHash: h, port: 3400, left: 10, event: "paused" });
        await c.announce({ infoHash: h, port: 3401, left: 10, event: "empty" });
        await c.announce({ infoHash: h, port: 3402, left: 10, event: "" });
        const body = await c.announce({ infoHash: h, port: 3403, left: 10, numwant: 50 });
        expect(body.incomplete).toBe(4);
        expect(sorted(ownPeers(body))).toEqual([peer(3400), peer(3401), peer(3402)]);
      });
    });

    describe("binary info hashes", () => {
      test("bytes >= 0x80 arrive intact", async () => {
        const h = Uint8Array.from({ length: 20 }, (_, i) => 0x80 + i * 6);
        await c.announce({ infoHash: h, port: 4000 });
        const files = await c.scrape([h]);
        expect(Object.keys(files)).toEqual([latin1(h)]);
        expect(files[latin1(h)]).toEqual({ complete: 0, downloaded: 0, incomplete: 1 });
      });

      test("hashes that URLSearchParams would decode alike stay distinct", async () => {
        // As UTF-8, each of these is invalid everywhere and would decode to 20 x U+FFFD.
        const hashes = [0x80, 0xff, 0xc3].map((b) => new Uint8Array(20).fill(b));
        for (const [i, h] of hashes.entries()) await c.announce({ infoHash: h, port: 4100 + i });
        const files = await c.scrape(hashes);
        expect(Object.keys(files)).toHaveLength(3);
        for (const h of hashes) expect(files[latin1(h)]).toEqual({ complete: 0, downloaded: 0, incomplete: 1 });
      });

      test("'+' decodes as a space (like %20); %2B is a literal '+'", async () => {
        const h = sha1(`${fam.name} plus`);
        h[0] = 0x20;
        h[19] = 0x20;
        const plusForm = pct(h).replaceAll("%20", "+");
        expect(plusForm).toStartWith("+");
        await c.announce(`info_hash=${plusForm}&peer_id=${pct(PEER_ID)}&port=4200`);
        expect((await c.scrape([h]))[latin1(h)]).toEqual({ complete: 0, downloaded: 0, incomplete: 1 });
        const withPlus = h.slice();
        withPlus[0] = 0x2b;
        withPlus[19] = 0x2b;
        expect((await c.scrape([withPlus]))[latin1(withPlus)]).toEqual({ complete: 0, downloaded: 0, incomplete: 0 });
      });

      test("unreserved characters may be sent unescaped", async () => {
        const text = "abcdefghij-_.~KLMNOP";
        const h = new TextEncoder().encode(text);
        await c.announce(`info_hash=${text}&peer_id=${pct(PEER_ID)}&port=4300`);
        expect((await c.scrape([h]))[text]).toEqual({ complete: 0, downloaded: 0, incomplete: 1 });
      });
    });

    describe("scrape", () => {
      test("BEP 48: the scrape URL is the announce URL with 'announce' replaced", async () => {
        const h = hash("bep48");
        await c.announce({ infoHash: h, port: 5000, left: 0 }, "/announce.php");
        await c.announce({ infoHash: h, port: 5001 }, "/SECRETKEY/announce");
        for (const path of ["/scrape", "/scrape.php", "/SECRETKEY/scrape", "/scrape/"]) {
          expect((await c.scrape([h], path))[latin1(h)]).toEqual({ complete: 1, downloaded: 0, incomplete: 1 });
        }
      });

      test("at most 100 hashes per scrape; more gets a failure reason", async () => {
        const hashes = Array.from({ length: 101 }, (_, i) => hash(`cap ${i}`));
        expect(Object.keys(await c.scrape(hashes.slice(0, 100)))).toHaveLength(100);
        const query = hashes.map((h) => `info_hash=${pct(h)}`).join("&");
        expect(await c.failure(`/scrape?${query}`)).toBe(FAILURE_TEXT.too_many_info_hashes);
      });

      test("a full scrape (no hash) gets a failure reason", async () => {
        expect(await c.failure("/scrape")).toBe(FAILURE_TEXT.full_scrape_off);
        expect(await c.failure("/scrape?foo=bar")).toBe(FAILURE_TEXT.full_scrape_off);
      });

      test("a malformed hash gets a failure reason", async () => {
        const good = `info_hash=${pct(hash("scrape good"))}`;
        for (const bad of [
          pct(new Uint8Array(19)),
          pct(new Uint8Array(21)),
          "%zz" + pct(new Uint8Array(19)),
          pct(new Uint8Array(19)) + "%",
        ]) {
          expect(await c.failure(`/scrape?${good}&info_hash=${bad}`)).toBe(FAILURE_TEXT.invalid_info_hash);
        }
      });
    });

    describe("malformed announces", () => {
      // Each parameter's failure is checked in-process (test/frontend/http-tracker.test.ts); over a socket, the
      // reply is HTTP 200 (many clients ignore bodies of errors) with only a bencoded failure reason.
      test("get HTTP 200 with only a failure reason, and register nothing", async () => {
        const h = sha1(`${fam.name} malformed`);
        const torrents = await torrentCount();
        for (const [query, code] of [
          [`peer_id=${pct(PEER_ID)}&port=6881`, "missing_info_hash"],
          [`info_hash=${pct(h)}&peer_id=${pct(PEER_ID)}&port=0`, "invalid_port"],
          [`info_hash=${pct(h)}&peer_id=${pct(PEER_ID)}&port=6881&numwant=abc`, "invalid_numwant"],
          ["", "missing_info_hash"],
        ] as const) {
          expect(await c.failure(`/announce?${query}`)).toBe(FAILURE_TEXT[code]);
        }
        expect(await torrentCount()).toBe(torrents);
      });
    });

    describe("routing", () => {
      test("/healthz answers ok", async () => {
        const res = await fetch(c.url("/healthz"));
        expect(res.status).toBe(200);
        expect((await res.text()).trim()).toBe("ok");
      });

      test("unknown paths get 404", async () => {
        for (const path of [
          "/index.html",
          "/healthz/x",
          "/tracker",
          "/favicon.ico",
          "/announcements",
          "/scraper",
          "/announce/x",
        ]) {
          const res = await fetch(c.url(path));
          expect(res.status).toBe(404);
          await res.arrayBuffer();
        }
      });

      test("POST to announce or scrape gets 405 and registers nothing", async () => {
        const h = hash("post");
        const torrents = await torrentCount();
        for (const path of ["/announce", "/scrape"]) {
          const res = await fetch(c.url(`${path}?${announceQuery({ infoHash: h, port: 7000 })}`), {
            method: "POST",
            body: "x",
          });
          expect(res.status).toBe(405);
          expect(res.headers.get("allow")).toContain("GET");
          await res.arrayBuffer();
        }
        expect(await torrentCount()).toBe(torrents);
      });

      test("PUT, DELETE, TRACE, POST and OPTIONS on the page, /healthz and /metrics get 405 with Allow", async () => {
        const html = await (await fetch(c.url("/"))).text();
        const asset = /src="(\/[^"]+\.js)"/.exec(html)![1];
        for (const path of ["/", "/healthz", "/metrics", asset]) {
          for (const method of ["PUT", "DELETE", "TRACE", "POST", "OPTIONS"]) {
            const res = await rawHttp(
              fam.host,
              tracker.httpPort,
              `${method} ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
            );
            expect({ method, path, status: res.status }).toEqual({ method, path, status: 405 });
            expect(res.head).toMatch(/\r\nallow: GET, HEAD\r\n/i);
          }
          const head = await fetch(c.url(path), { method: "HEAD" });
          expect({ path, status: head.status }).toEqual({ path, status: 200 });
        }
      });

      test("an HTTP/1.0 request without Host is still answered", async () => {
        const h = hash("http 1.0");
        const query = announceQuery({ infoHash: h, port: 7100, left: 0 });
        const res = await rawHttp(fam.host, tracker.httpPort, `GET /announce?${query} HTTP/1.0\r\n\r\n`);
        expect(res.status).toBe(200);
        expect(decodeBencode(res.body)).toMatchObject({
          complete: 1,
          incomplete: 0,
          "external ip": latin1(Uint8Array.from(fam.ip)),
        });
        const scrape = await rawHttp(fam.host, tracker.httpPort, `GET /scrape?info_hash=${pct(h)} HTTP/1.0\r\n\r\n`);
        expect(scrape.status).toBe(200);
        expect(latin1(scrape.body)).toBe(`d5:filesd20:${latin1(h)}d8:completei1e10:downloadedi0e10:incompletei0eeee`);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// One dual-stack listener for both families

describe("HTTP tracker on a dual-stack listener ([::]:0)", () => {
  let tracker: TestTracker;
  let v4: HttpClient;
  let v6: HttpClient;
  const hash = (label: string) => sha1(`dual stack http ${label}`);

  beforeAll(async () => {
    tracker = await startTestTracker(["--listen", "[::]:0", ...TRACKER_ARGS]);
    v4 = new HttpClient("127.0.0.1", tracker.httpPort);
    v6 = new HttpClient("::1", tracker.httpPort);
  });
  afterAll(() => tracker.stop());

  test("an IPv4 client (seen as ::ffff:127.0.0.1) gets a 4-byte external ip and is an IPv4 peer", async () => {
    const h = hash("v4 client");
    const body = await v4.announce({ infoHash: h, port: 1000 });
    expect([...latin1Bytes(body["external ip"] as string)]).toEqual([127, 0, 0, 1]);
    expect(peersOf(await v6.announce({ infoHash: h, port: 1001 })).v4).toEqual(["127.0.0.1:1000"]);
  });

  test("IPv4 peers go in `peers` and IPv6 peers in `peers6`, whoever asks", async () => {
    const h = hash("placement");
    await v4.fill(h, 2, 2000);
    await v6.fill(h, 2, 3000);
    // Each asks as an existing peer, so it gets the three others.
    const fromV4 = await v4.announce({ infoHash: h, port: 2000, numwant: 50 });
    expect(fromV4.incomplete).toBe(4);
    expect(peersOf(fromV4).v4).toEqual(["127.0.0.1:2001"]);
    expect(sorted(peersOf(fromV4).v6)).toEqual(sorted([3000, 3001].map((p) => loopbackPeer("::1", p))));
    const fromV6 = await v6.announce({ infoHash: h, port: 3000, numwant: 50 });
    expect(fromV6.incomplete).toBe(4);
    expect(sorted(peersOf(fromV6).v4)).toEqual(["127.0.0.1:2000", "127.0.0.1:2001"]);
    expect(peersOf(fromV6).v6).toEqual([loopbackPeer("::1", 3001)]);
  });

  test("compact=0 lists both families with textual addresses", async () => {
    const h = hash("dict both");
    await v4.fill(h, 1, 4000);
    await v6.fill(h, 1, 5000);
    const body = await v4.announce({ infoHash: h, port: 4001, compact: 0, numwant: 50 });
    const peers = body.peers as { ip: string; port: number }[];
    expect(sorted(peers.map((p) => `${p.ip} ${p.port}`))).toEqual(["127.0.0.1 4000", "::1 5000"]);
  });
});
