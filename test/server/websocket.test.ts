// The WebTorrent tracker over real WebSockets on the HTTP port: announces with offers, offers relayed to other
// peers of the torrent, answers relayed back, peers leaving on `stopped` and on close, and bad input
// (malformed JSON, oversized and binary messages, spoofed peer ids, relays across torrents, answers to offers
// never sent, too many connections) answered with a failure reason or a close, never a crash. Counts,
// completions, scrape, the access list, the rate limit and the store shared with HTTP are checked in-process
// for every protocol in test/frontend/behaviour.test.ts.

import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { WS_MAX_MESSAGE_BYTES } from "../../src/server/http-server.ts";
import { MAX_PEER_IDS_PER_CONNECTION } from "../../src/frontend/ws-tracker.ts";
import { FAILURE_TEXT, type FailureCode } from "../../src/core/failure.ts";
import { type TestTracker, startTestTracker } from "../helpers/in-process.ts";
import { getBencode, pct } from "../helpers/http-client.ts";
import { bin20, type Json, webtorrentPeerId, WsClient } from "../helpers/ws-client.ts";

const WS_INTERVAL = 90;
const MAX_SOCKETS = 6;
let tracker: TestTracker;
let url: string;
const open: WsClient[] = [];

beforeAll(async () => {
  tracker = await startTestTracker([
    "--udp-listen",
    "off",
    "--ws-interval-secs",
    String(WS_INTERVAL),
    "--ws-max-sockets-per-ip",
    String(MAX_SOCKETS),
  ]);
  url = `ws://127.0.0.1:${tracker.httpPort}`;
});
afterAll(() => tracker.stop());
afterEach(async () => {
  for (const c of open.splice(0)) {
    c.close();
    await c.closed;
  }
});

/** A sample of /metrics (every thread's sum with --workers), by name with labels. */
async function metric(series: string, t: TestTracker = tracker): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

const DROPPED = "buntracker_websocket_answers_dropped_total";
const RTC_PEERS = 'buntracker_peers{family="websocket"}';

async function client(path = "/announce"): Promise<WsClient> {
  const c = await WsClient.open(url + path);
  open.push(c);
  return c;
}

/** The failure for `code`, with the routing keys (action, info_hash) the reply must carry. */
function failure(code: FailureCode, route: Json = {}): Json {
  return { ...route, "failure reason": FAILURE_TEXT[code] };
}

let torrents = 0;
/** A fresh info hash per test, so tests do not see each other's peers. */
function freshHash(): string {
  return bin20(`ws torrent ${torrents++}`);
}

function offers(from: string, n: number): Json[] {
  return Array.from({ length: n }, (_, i) => ({
    offer_id: bin20(`${from} offer ${i}`),
    offer: { type: "offer", sdp: `v=0 sdp of ${from} #${i}` },
  }));
}

async function announce(c: WsClient, infoHash: string, peerId: string, extra: Json = {}): Promise<Json> {
  c.send({
    action: "announce",
    info_hash: infoHash,
    peer_id: peerId,
    numwant: 10,
    uploaded: 0,
    downloaded: 0,
    left: 1000,
    ...extra,
  });
  const reply = await c.next();
  expect(reply["failure reason"]).toBeUndefined();
  return reply;
}

/** Store counts for a torrent, via the tracker's own HTTP scrape. */
async function httpScrape(infoHash: string): Promise<Json> {
  const bytes = Uint8Array.from(infoHash, (ch) => ch.charCodeAt(0));
  const r = await getBencode(`http://127.0.0.1:${tracker.httpPort}/scrape?info_hash=${pct(bytes)}`);
  return ((r.body.files as Record<string, Json>)[infoHash] ?? {}) as Json;
}

describe("announce and relay", () => {
  test("an announce gets interval and counts; its offers reach other peers of the torrent, one each", async () => {
    const hash = freshHash();
    const [a, b, c] = [await client(), await client("/"), await client()];
    const first = await announce(a, hash, webtorrentPeerId(1), { event: "started" });
    expect(first).toEqual({
      action: "announce",
      interval: first.interval,
      info_hash: hash,
      complete: 0,
      incomplete: 1,
    });
    expect(first.interval).toBeWithin(WS_INTERVAL * 0.9, WS_INTERVAL * 1.1 + 1); // ±10% jitter
    await announce(b, hash, webtorrentPeerId(2), { event: "started", left: 0 });
    const third = await announce(c, hash, webtorrentPeerId(3), { event: "started", offers: offers("c", 5) });
    expect([third.complete, third.incomplete]).toEqual([1, 2]);
    const atA = await a.next();
    const atB = await b.next();
    for (const m of [atA, atB]) {
      expect(m.action).toBe("announce");
      expect(m.info_hash).toBe(hash);
      expect(m.peer_id).toBe(webtorrentPeerId(3));
      expect((m.offer as Json).type).toBe("offer");
    }
    // Two peers, two distinct offers of the five; nothing comes back to the announcer itself.
    expect(atA.offer_id).not.toBe(atB.offer_id);
    const sent = new Map(offers("c", 5).map((o) => [o.offer_id, (o.offer as Json).sdp]));
    expect((atA.offer as Json).sdp).toBe(sent.get(atA.offer_id as string)!);
    expect(c.pending).toBe(0);
  });

  test("an answer goes back to the peer that made the offer, with no reply to the answerer", async () => {
    const hash = freshHash();
    const [a, b] = [await client(), await client()];
    await announce(a, hash, webtorrentPeerId(20));
    await announce(b, hash, webtorrentPeerId(21), { offers: offers("b", 1) });
    const offer = await a.next();
    a.send({
      action: "announce",
      info_hash: hash,
      peer_id: webtorrentPeerId(20),
      to_peer_id: offer.peer_id,
      offer_id: offer.offer_id,
      answer: { type: "answer", sdp: "v=0 answer from a", extra: "dropped" },
    });
    const answer = await b.next();
    expect(answer).toEqual({
      action: "announce",
      info_hash: hash,
      peer_id: webtorrentPeerId(20),
      offer_id: offer.offer_id,
      answer: { type: "answer", sdp: "v=0 answer from a" },
    });
    // a got no reply for its answer: its next message is the reply to a scrape.
    a.send({ action: "scrape", info_hash: hash });
    expect((await a.next()).action).toBe("scrape");
    expect(await metric('buntracker_websocket_relayed_total{kind="answer"}')).toBeGreaterThan(0);
  });

  test("only the peer an offer went to can answer it, only to its maker, and only once", async () => {
    const hash = freshHash();
    const [a, b, mallory] = [await client(), await client(), await client()];
    await announce(a, hash, webtorrentPeerId(25));
    await announce(b, hash, webtorrentPeerId(26), { offers: offers("b", 1) });
    const offer = await a.next(); // a was the only other peer: the one offer went to a
    await announce(mallory, hash, webtorrentPeerId(27));
    const answer = (from: string, offerId: unknown) => ({
      action: "announce",
      info_hash: hash,
      peer_id: from,
      to_peer_id: webtorrentPeerId(26),
      offer_id: offerId,
      answer: { type: "answer", sdp: `v=0 from ${from}` },
    });
    const dropped = await metric(DROPPED);
    // A swarm member that was sent no offer: neither a made-up offer id nor a's real one gets through.
    mallory.send(answer(webtorrentPeerId(27), bin20("made up")));
    mallory.send(answer(webtorrentPeerId(27), offer.offer_id));
    // a answers its offer twice, and once to the wrong peer (mallory, who made no offer): one answer passes.
    a.send({ ...answer(webtorrentPeerId(25), offer.offer_id), to_peer_id: webtorrentPeerId(27) });
    a.send(answer(webtorrentPeerId(25), offer.offer_id));
    a.send(answer(webtorrentPeerId(25), offer.offer_id));
    expect((await b.next()).answer).toEqual({ type: "answer", sdp: `v=0 from ${webtorrentPeerId(25)}` });
    for (const c of [a, b, mallory]) {
      c.send({ action: "scrape", info_hash: hash });
      expect((await c.next()).action).toBe("scrape"); // nothing else relayed before it
    }
    expect(await metric(DROPPED)).toBe(dropped + 4);
  });

  test("answers are relayed only between peers of the same torrent", async () => {
    const [one, other] = [freshHash(), freshHash()];
    const [a, b] = [await client(), await client()];
    await announce(a, one, webtorrentPeerId(30));
    await announce(b, other, webtorrentPeerId(31));
    const dropped = await metric(DROPPED);
    // a names b, but b is not in torrent `one`; then a names torrent `other`, which a is not in.
    a.send({
      action: "announce",
      info_hash: one,
      peer_id: webtorrentPeerId(30),
      to_peer_id: webtorrentPeerId(31),
      offer_id: bin20("x"),
      answer: { type: "answer", sdp: "s" },
    });
    a.send({
      action: "announce",
      info_hash: other,
      peer_id: webtorrentPeerId(30),
      to_peer_id: webtorrentPeerId(31),
      offer_id: bin20("y"),
      answer: { type: "answer", sdp: "s" },
    });
    b.send({ action: "scrape", info_hash: other });
    expect((await b.next()).action).toBe("scrape"); // nothing relayed before it
    a.send({ action: "scrape", info_hash: one });
    expect((await a.next()).action).toBe("scrape");
    expect(await metric(DROPPED)).toBe(dropped + 2);
  });

  test("a peer id belongs to the connection that announced it first", async () => {
    const hash = freshHash();
    const [a, mallory] = [await client(), await client()];
    await announce(a, hash, webtorrentPeerId(40));
    mallory.send({ action: "announce", info_hash: hash, peer_id: webtorrentPeerId(40), left: 0 });
    expect(await mallory.next()).toEqual(failure("peer_id_in_use", { action: "announce", info_hash: hash }));
    // Once the owner is gone, the id is free again (a reconnecting browser).
    a.close();
    await a.closed;
    expect((await announce(mallory, hash, webtorrentPeerId(40))).incomplete).toBe(1);
  });

  test("one connection may carry several peers (WebTorrent clients in one page share it), up to a cap", async () => {
    const hash = freshHash();
    const c = await client();
    for (let i = 0; i < MAX_PEER_IDS_PER_CONNECTION; i++) await announce(c, hash, webtorrentPeerId(100 + i));
    c.send({ action: "announce", info_hash: hash, peer_id: webtorrentPeerId(999), left: 1 });
    expect(await c.next()).toEqual(failure("too_many_peer_ids", { action: "announce", info_hash: hash }));
    expect(await httpScrape(hash)).toEqual({ complete: 0, downloaded: 0, incomplete: MAX_PEER_IDS_PER_CONNECTION });
  });
});

describe("leaving", () => {
  test("stopped removes the peer; closing the connection removes its peers from every torrent", async () => {
    const [h1, h2] = [freshHash(), freshHash()];
    const [a, b] = [await client(), await client()];
    await announce(a, h1, webtorrentPeerId(50));
    await announce(a, h2, webtorrentPeerId(50), { left: 0 });
    await announce(b, h1, webtorrentPeerId(51));
    expect(await httpScrape(h1)).toEqual({ complete: 0, downloaded: 0, incomplete: 2 });
    const stopped = await announce(b, h1, webtorrentPeerId(51), { event: "stopped" });
    expect(stopped.incomplete).toBe(1);
    const peersBefore = await metric(RTC_PEERS);
    a.close();
    await a.closed;
    // The close handler runs on the server's side of the close; wait for /metrics to show it.
    const deadline = Date.now() + 5000;
    while ((await metric(RTC_PEERS)) !== peersBefore - 2 && Date.now() < deadline) await Bun.sleep(5);
    expect(await metric(RTC_PEERS)).toBe(peersBefore - 2);
    expect(await httpScrape(h1)).toEqual({ complete: 0, downloaded: 0, incomplete: 0 });
    expect(await httpScrape(h2)).toEqual({ complete: 0, downloaded: 0, incomplete: 0 });
  });
});

describe("bad input", () => {
  const cases: [string, string | Json, Json][] = [
    ["not JSON", "{nope", failure("invalid_message")],
    ["not an object", "[1,2]", failure("invalid_message")],
    ["unknown action", { action: "hello" }, failure("invalid_action")],
    [
      "short info_hash",
      { action: "announce", info_hash: "abc", peer_id: webtorrentPeerId(1) },
      failure("invalid_info_hash", { action: "announce" }),
    ],
    [
      "info_hash with a char above 0xFF",
      { action: "announce", info_hash: "\u0100".repeat(20), peer_id: webtorrentPeerId(1) },
      failure("invalid_info_hash", { action: "announce" }),
    ],
    [
      "missing peer_id",
      { action: "announce", info_hash: bin20("bad 1") },
      failure("invalid_peer_id", { action: "announce", info_hash: bin20("bad 1") }),
    ],
    [
      "bad event",
      { action: "announce", info_hash: bin20("bad 2"), peer_id: webtorrentPeerId(1), event: "exploded" },
      failure("invalid_event", { action: "announce", info_hash: bin20("bad 2") }),
    ],
    [
      "offers not an array",
      { action: "announce", info_hash: bin20("bad 3"), peer_id: webtorrentPeerId(1), offers: {} },
      failure("invalid_offers", { action: "announce", info_hash: bin20("bad 3") }),
    ],
    [
      "offer without sdp",
      {
        action: "announce",
        info_hash: bin20("bad 4"),
        peer_id: webtorrentPeerId(1),
        offers: [{ offer_id: bin20("o"), offer: { type: "offer" } }],
      },
      failure("invalid_offers", { action: "announce", info_hash: bin20("bad 4") }),
    ],
    ["scrape without info_hash", { action: "scrape" }, failure("missing_info_hash", { action: "scrape" })],
    [
      "scrape of 101 hashes",
      { action: "scrape", info_hash: Array.from({ length: 101 }, (_, i) => bin20(`s${i}`)) },
      failure("too_many_info_hashes", { action: "scrape" }),
    ],
  ];
  for (const [name, message, reply] of cases) {
    test(`${name}: a failure reason, and the connection keeps working`, async () => {
      const c = await client();
      c.send(message);
      expect(await c.next()).toEqual(reply);
      c.send({ action: "scrape", info_hash: bin20("still fine") });
      expect((await c.next()).action).toBe("scrape");
    });
  }

  test("a binary message gets a failure reason", async () => {
    const c = await client();
    c.socket.send(new Uint8Array([1, 2, 3]));
    expect(await c.next()).toEqual(failure("invalid_message"));
  });

  test("a message over the size cap closes the connection with 1009, and the tracker keeps serving", async () => {
    const c = await client();
    c.send({
      action: "announce",
      info_hash: bin20("big"),
      peer_id: webtorrentPeerId(1),
      pad: "x".repeat(WS_MAX_MESSAGE_BYTES),
    });
    expect(await c.closed).toBe(1009);
    const d = await client();
    expect((await announce(d, freshHash(), webtorrentPeerId(90))).incomplete).toBe(1);
  });

  test("connections beyond the per-address cap are refused with 429, and freed slots are reusable", async () => {
    const held: WsClient[] = [];
    // Other tests' clients are closed by now (afterEach), so all slots are free.
    for (let i = 0; i < MAX_SOCKETS; i++) held.push(await client());
    const r = await fetch(`http://127.0.0.1:${tracker.httpPort}/announce`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(r.status).toBe(429);
    expect(await r.text()).toBe(`${FAILURE_TEXT.too_many_connections}\n`);
    await expect(WsClient.open(url + "/announce")).rejects.toThrow();
    const refused = await metric("buntracker_websocket_refused_connections_total");
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(await metric('buntracker_failures_total{protocol="websocket",code="too_many_connections"}')).toBe(refused);
    held[0].close();
    await held[0].closed;
    const deadline = Date.now() + 5000;
    while ((await metric("buntracker_websocket_connections")) >= MAX_SOCKETS && Date.now() < deadline)
      await Bun.sleep(5);
    expect((await announce(await client(), freshHash(), webtorrentPeerId(95))).incomplete).toBe(1);
  });
});

describe("through a reverse proxy and under the rate limit", () => {
  test("behind a trusted proxy, the connection cap counts the forwarded client address", async () => {
    const t = await startTestTracker([
      "--udp-listen",
      "off",
      "--trust-proxy",
      "127.0.0.1/32",
      "--ws-max-sockets-per-ip",
      "1",
    ]);
    const opened: WebSocket[] = [];
    const connect = (forwarded: string) =>
      new Promise<boolean>((resolve) => {
        // Bun's WebSocket takes extra handshake headers, as a proxy would add them.
        const ws = new WebSocket(`ws://127.0.0.1:${t.httpPort}/announce`, {
          headers: { "x-forwarded-for": forwarded },
        } as never);
        opened.push(ws);
        ws.onopen = () => resolve(true);
        ws.onerror = () => resolve(false);
      });
    try {
      expect(await connect("203.0.113.7")).toBe(true);
      expect(await connect("203.0.113.8")).toBe(true);
      expect(await connect("203.0.113.7")).toBe(false);
      expect(await metric("buntracker_websocket_refused_connections_total", t)).toBe(1);
    } finally {
      for (const ws of opened) ws.close();
      await t.stop();
    }
  });
});

describe("statistics", () => {
  test("WebRTC peers show in /api/stats and /metrics, labelled websocket", async () => {
    const c = await client();
    await announce(c, freshHash(), webtorrentPeerId(200), { left: 0 });
    const stats = (await (await fetch(`http://127.0.0.1:${tracker.httpPort}/api/stats`)).json()) as Json;
    expect(stats.websocket).toBe(true);
    const rtcPeers = await metric(RTC_PEERS);
    expect(stats.peers_websocket).toBe(rtcPeers);
    expect(stats.peers_websocket).toBeGreaterThanOrEqual(1);
    expect(stats.websocket_connections).toBeGreaterThanOrEqual(1);
    expect(Object.keys(stats.requests_per_sec as Json)).toContain("ws_announce");
    const metrics = await (await fetch(`http://127.0.0.1:${tracker.httpPort}/metrics`)).text();

    expect(metrics).toMatch(/buntracker_requests_total\{protocol="websocket",action="announce",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/buntracker_websocket_connections [1-9]/);
    // WebTorrent's peer id prefix is recognised in the client distribution.
    const clients = (await (await fetch(`http://127.0.0.1:${tracker.httpPort}/api/clients/list`)).json()) as {
      clients: { name: string }[];
    };
    expect(clients.clients.map((x) => x.name)).toContain("WebTorrent");
  });

  test("with --websocket off, an upgrade request is plain HTTP", async () => {
    const t = await startTestTracker(["--udp-listen", "off", "--websocket", "off"]);
    try {
      await expect(WsClient.open(`ws://127.0.0.1:${t.httpPort}/announce`)).rejects.toThrow();
      const stats = (await (await fetch(`http://127.0.0.1:${t.httpPort}/api/stats`)).json()) as Json;
      expect(stats.websocket).toBe(false);
    } finally {
      await t.stop();
    }
  });
});
