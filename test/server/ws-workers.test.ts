// WebTorrent across threads (--workers 2, real WebSockets): a connection lives on the thread that accepted it,
// a swarm on the thread that owns its info hash. Many connections are opened so that both threads hold some;
// each thread's connection count (the pool's "ws" answer) tells which one took each. Offers and answers then
// cross threads in both directions, for torrents of either owner; counts are exact; a closed connection's
// peers leave the other thread's swarms.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { ownerOf } from "../../src/core/owner.ts";
import { wsThreadCounts } from "../../src/server/workers/ws-forwarding.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { announceQuery, getBencode, pct } from "../helpers/http-client.ts";
import { bin20, type Json, webtorrentPeerId, WsClient } from "../helpers/ws-client.ts";

type ThreadCounts = ReturnType<typeof wsThreadCounts>;

let t: TestTracker;
/** Connections by the thread that holds them. */
const onThread: WsClient[][] = [[], []];
const all: WsClient[] = [];

async function threadCounts(): Promise<ThreadCounts[]> {
  const others = await t.pool!.ask<ThreadCounts>("ws");
  return [wsThreadCounts(t.ws, t.counters), ...others.map((c) => c!)];
}

/** Info hashes owned by thread `owner` of two. */
function hashOwnedBy(owner: number, label: string): string {
  for (let i = 0; ; i++) {
    const h = bin20(`${label} ${i}`);
    if (ownerOf(h, 2) === owner) return h;
  }
}

function announce(c: WsClient, infoHash: string, peerId: string, extra: Json = {}): void {
  c.send({ action: "announce", info_hash: infoHash, peer_id: peerId, numwant: 10, left: 1000, ...extra });
}

async function reply(c: WsClient): Promise<Json> {
  const m = await c.next();
  expect(m["failure reason"]).toBeUndefined();
  return m;
}

function oneOffer(label: string): Json[] {
  return [{ offer_id: bin20(`offer ${label}`), offer: { type: "offer", sdp: `v=0 sdp ${label} é` } }];
}

/** Store counts over HTTP (forwarded to the owner like any other request). */
async function httpScrape(infoHash: string): Promise<Json> {
  const bytes = Uint8Array.from(infoHash, (ch) => ch.charCodeAt(0));
  const r = await getBencode(`http://127.0.0.1:${t.httpPort}/scrape?info_hash=${pct(bytes)}`);
  return ((r.body.files as Record<string, Json>)[infoHash] ?? {}) as Json;
}

beforeAll(async () => {
  t = await startTestTracker(["--workers", "2", "--udp-listen", "off", "--rate-limit", "0"]);
  // The kernel spreads connections over both threads' listening sockets: open until each has four.
  for (let i = 0; i < 200 && (onThread[0].length < 4 || onThread[1].length < 4); i++) {
    const before = await threadCounts();
    const c = await WsClient.open(`ws://127.0.0.1:${t.httpPort}/announce`);
    all.push(c);
    const after = await threadCounts();
    const thread = after.findIndex((n, k) => n.connections > before[k].connections);
    onThread[thread].push(c);
  }
});
afterAll(async () => {
  for (const c of all) c.close();
  await t.stop();
});

describe("WebTorrent across two threads", () => {
  test("connections land on both threads", () => {
    expect(onThread[0].length).toBeGreaterThanOrEqual(4);
    expect(onThread[1].length).toBeGreaterThanOrEqual(4);
  });

  for (const [from, to] of [
    [0, 1],
    [1, 0],
  ]) {
    for (const owner of [0, 1]) {
      test(`an offer from thread ${from} reaches thread ${to} and the answer comes back (torrent of thread ${owner})`, async () => {
        const hash = hashOwnedBy(owner, `relay ${from} ${to}`);
        const [maker, taker] = [onThread[from][0], onThread[to][0]];
        const [makerId, takerId] = [webtorrentPeerId(100 + from * 10 + owner), webtorrentPeerId(200 + to * 10 + owner)];
        announce(taker, hash, takerId);
        expect(await reply(taker)).toMatchObject({ action: "announce", complete: 0, incomplete: 1 });
        const before = await threadCounts();
        announce(maker, hash, makerId, { offers: oneOffer(`${from}${to}${owner}`), left: 0 });
        expect(await reply(maker)).toMatchObject({ action: "announce", complete: 1, incomplete: 1 });
        const offer = await taker.next();
        expect(offer).toEqual({
          action: "announce",
          info_hash: hash,
          peer_id: makerId,
          offer_id: bin20(`offer ${from}${to}${owner}`),
          offer: { type: "offer", sdp: `v=0 sdp ${from}${to}${owner} é` },
        });
        const answer = { type: "answer", sdp: `v=0 answer ${from}${to}${owner}` };
        const answerMessage = {
          action: "announce",
          info_hash: hash,
          peer_id: takerId,
          to_peer_id: makerId,
          offer_id: offer.offer_id,
          answer,
        };
        taker.send(answerMessage);
        expect(await maker.next()).toEqual({
          action: "announce",
          info_hash: hash,
          peer_id: takerId,
          offer_id: offer.offer_id,
          answer,
        });
        // Once only: the same answer again is dropped on the taker's thread. The maker's next message is the
        // reply to its scrape (a relayed answer would come first: it travels the same ring, sent before).
        taker.send(answerMessage);
        taker.send({ action: "scrape", info_hash: hash });
        expect((await taker.next()).action).toBe("scrape");
        maker.send({ action: "scrape", info_hash: hashOwnedBy(to, "ordering") });
        expect((await maker.next()).action).toBe("scrape");
        const after = await threadCounts();
        expect(after[to].offersRelayed - before[to].offersRelayed).toBe(1);
        expect(after[from].answersRelayed - before[from].answersRelayed).toBe(1);
        expect(after[to].answersDropped - before[to].answersDropped).toBe(1);
        // Both leave, so the next case starts from an empty swarm.
        announce(taker, hash, takerId, { event: "stopped" });
        expect(await reply(taker)).toMatchObject({ complete: 1, incomplete: 0 });
        announce(maker, hash, makerId, { event: "stopped" });
        expect(await reply(maker)).toMatchObject({ complete: 0, incomplete: 0 });
      });
    }
  }

  test("counts are exact whichever threads the peers and the torrent are on", async () => {
    const peers = [...onThread[0].slice(0, 4), ...onThread[1].slice(0, 4)];
    for (const owner of [0, 1]) {
      const hash = hashOwnedBy(owner, "counts");
      // Seeders: the even ones, two on each thread.
      for (const [i, c] of peers.entries()) {
        announce(c, hash, webtorrentPeerId(300 + i), { left: i % 2 === 0 ? 0 : 10, event: "started", numwant: 0 });
        await reply(c);
      }
      for (const [i, c] of peers.entries()) {
        announce(c, hash, webtorrentPeerId(300 + i), { left: i % 2 === 0 ? 0 : 10, numwant: 0 });
        expect(await reply(c)).toMatchObject({ complete: 4, incomplete: 4 });
      }
      // A scrape of both owners' torrents from either thread.
      const other = hashOwnedBy(1 - owner, "counts");
      for (const c of [onThread[0][0], onThread[1][0]]) {
        c.send({ action: "scrape", info_hash: [hash, other] });
        const m = await reply(c);
        const files = m.files as Record<string, Json>;
        expect(files[hash]).toEqual({ complete: 4, incomplete: 4, downloaded: 0 });
        expect(Object.keys(files)).toEqual([hash, other]);
      }
      expect(await httpScrape(hash)).toMatchObject({ complete: 4, incomplete: 4 });
      // And they leave, one by one, each seeing the rest.
      for (const [i, c] of peers.entries()) {
        announce(c, hash, webtorrentPeerId(300 + i), { left: i % 2 === 0 ? 0 : 10, event: "stopped" });
        const left = peers.length - 1 - i;
        expect(await reply(c)).toMatchObject({ complete: Math.floor(left / 2), incomplete: Math.ceil(left / 2) });
      }
    }
    // None of them is kept anywhere as another thread's peer.
    expect((await threadCounts()).map((n) => n.remotePeers)).toEqual([0, 0]);
  });

  test("a closed connection's peers leave the swarms of the other thread", async () => {
    // A fresh connection on each thread, in a torrent of each owner.
    const leaving = await openOn(0);
    const staying = onThread[1][1];
    const hashes = [hashOwnedBy(0, "close"), hashOwnedBy(1, "close")];
    for (const hash of hashes) {
      announce(staying, hash, webtorrentPeerId(400));
      await reply(staying);
      announce(leaving, hash, webtorrentPeerId(401), { left: 0 });
      expect(await reply(leaving)).toMatchObject({ complete: 1, incomplete: 1 });
    }
    expect((await threadCounts())[1].remotePeers).toBeGreaterThanOrEqual(1);
    leaving.close();
    await leaving.closed;
    // The close reaches thread 1 through the mesh: wait for it there, then check what peers see.
    const deadline = Date.now() + 5000;
    while ((await httpScrape(hashes[1])).complete !== 0 && Date.now() < deadline) await Bun.sleep(20);
    for (const hash of hashes) {
      expect(await httpScrape(hash)).toMatchObject({ complete: 0, incomplete: 1 });
      announce(staying, hash, webtorrentPeerId(400), { offers: oneOffer("after close") });
      expect(await reply(staying)).toMatchObject({ complete: 0, incomplete: 1 });
    }
    const counts = await threadCounts();
    // No peer of another thread's connection is left in either thread's swarms but the staying one's.
    expect(counts[0].remotePeers).toBe(1); // staying's peer in thread 0's torrent
    expect(counts[1].remotePeers).toBe(0);
  });
});

describe("limits across threads", () => {
  test("a peer id belongs to the first connection that announced it, whichever thread holds either", async () => {
    const hash = hashOwnedBy(0, "peer id");
    const id = webtorrentPeerId(500);
    const [first, second] = [onThread[1][2], onThread[0][2]];
    announce(first, hash, id);
    await reply(first);
    announce(second, hash, id);
    expect(await second.next()).toEqual({
      action: "announce",
      info_hash: hash,
      "failure reason": FAILURE_TEXT.peer_id_in_use,
    });
    // Free again once its holder has closed, and its peer has left the owner's swarm (thread 0's, told so
    // through the mesh).
    const held = (await threadCounts())[0].remotePeers;
    first.close();
    await first.closed;
    const deadline = Date.now() + 5000;
    while ((await threadCounts())[0].remotePeers === held && Date.now() < deadline) await Bun.sleep(10);
    announce(second, hash, id);
    expect(await reply(second)).toMatchObject({ incomplete: 1 });
  });

  test("a peer id taken over right after its holder closed is one peer, not two, in the owner's swarm", async () => {
    // A browser that reconnects announces its peer id again on a new connection. The old connection is on
    // thread 1 and the torrent on thread 0, which learns of the close through the mesh; the new connection is
    // on thread 0 itself, so its announce can be read there before that news. Whenever it is read, the
    // owner's swarm must hold the peer once (the peer id is free only because its holder is gone).
    const hash = hashOwnedBy(0, "taken over");
    const again = await openOn(0);
    for (let round = 0; round < 5; round++) {
      const id = webtorrentPeerId(900 + round);
      const old = await openOn(1);
      announce(old, hash, id);
      expect(await reply(old)).toMatchObject({ incomplete: 1 });
      old.close();
      let answer: Json;
      do {
        announce(again, hash, id);
        answer = await again.next();
      } while (answer["failure reason"] === FAILURE_TEXT.peer_id_in_use);
      expect(answer).toMatchObject({ action: "announce", complete: 0, incomplete: 1 });
      announce(again, hash, id, { event: "stopped" });
      await reply(again);
    }
  });

  test("the per-address connection cap counts the connections of every thread", async () => {
    const capped = await startTestTracker(["--workers", "2", "--udp-listen", "off", "--ws-max-sockets-per-ip", "6"]);
    const url = `ws://127.0.0.1:${capped.httpPort}/announce`;
    const opened: WsClient[] = [];
    try {
      const perThread = async () => {
        const others = await capped.pool!.ask<ThreadCounts>("ws");
        return [capped.ws!.size, ...others.map((c) => c!.connections)];
      };
      for (let i = 0; i < 6; i++) opened.push(await WsClient.open(url));
      const spread = await perThread();
      expect(spread[0] + spread[1]).toBe(6);
      // The seventh is refused, whichever thread takes it (try several: the kernel picks per connection).
      for (let i = 0; i < 8; i++) {
        const r = await fetch(`http://127.0.0.1:${capped.httpPort}/announce`, { headers: UPGRADE });
        expect(r.status).toBe(429);
      }
      // A freed slot is usable again.
      const gone = opened.pop()!;
      gone.close();
      await gone.closed;
      const deadline = Date.now() + 5000;
      let again: WsClient | null = null;
      while (again === null && Date.now() < deadline) again = await WsClient.open(url).catch(() => null);
      expect(again).not.toBeNull();
      opened.push(again!);
    } finally {
      for (const c of opened) c.close();
      await capped.stop();
    }
  });
});

describe("the per-source share across threads", () => {
  test("a WebRTC peer counts against its connection's address in the owner's store, until it closes", async () => {
    // 3 peers per address in each thread's store; loopback is not exempt here.
    const share = await startTestTracker([
      ...["--workers", "2", "--udp-listen", "off", "--max-peers", "100", "--source-share", "3"],
      ...["--rate-limit-exempt", ""],
    ]);
    const url = `ws://127.0.0.1:${share.httpPort}/announce`;
    try {
      const c = await WsClient.open(url);
      const thread = share.ws!.size === 1 ? 0 : 1;
      const hash = hashOwnedBy(1 - thread, "share"); // the other thread's torrent
      const send = (peer: number) => {
        c.send({ action: "announce", info_hash: hash, peer_id: webtorrentPeerId(700 + peer), numwant: 0, left: 1 });
        return c.next();
      };
      for (let peer = 0; peer < 3; peer++) expect((await send(peer))["failure reason"]).toBeUndefined();
      expect(await send(3)).toMatchObject({ "failure reason": FAILURE_TEXT.source_share });
      // Closed: its peers leave the owner's store, and give the address's places back there.
      c.close();
      await c.closed;
      const httpAnnounce = async (port: number) => {
        const q = announceQuery({ infoHash: Uint8Array.from(hash, (ch) => ch.charCodeAt(0)), port, left: 1 });
        return (await getBencode(`http://127.0.0.1:${share.httpPort}/announce?${q}`)).body;
      };
      const deadline = Date.now() + 5000;
      let body = await httpAnnounce(1);
      while (body["failure reason"] !== undefined && Date.now() < deadline) {
        await Bun.sleep(20);
        body = await httpAnnounce(1);
      }
      expect(body).toMatchObject({ complete: 0, incomplete: 1 });
      expect((await httpAnnounce(2))["failure reason"]).toBeUndefined();
      expect((await httpAnnounce(3))["failure reason"]).toBeUndefined();
      expect((await httpAnnounce(4))["failure reason"]).toBe(FAILURE_TEXT.source_share);
    } finally {
      await share.stop();
    }
  });
});

describe("a thread that dies", () => {
  // Last: it ends thread 1's connections.
  test("its connections' peers leave the other thread's swarms, and their peer ids are free, once it is back", async () => {
    const hash = hashOwnedBy(0, "crash");
    const [survivor, doomed] = [onThread[0][3], onThread[1][3]];
    announce(survivor, hash, webtorrentPeerId(600));
    await reply(survivor);
    announce(doomed, hash, webtorrentPeerId(601), { left: 0 });
    expect(await reply(doomed)).toMatchObject({ complete: 1, incomplete: 1 });
    t.pool!.terminate(1);
    await doomed.closed;
    const deadline = Date.now() + 10_000;
    while (!t.logs.some((l) => l.includes("worker thread started again")) && Date.now() < deadline) {
      await Bun.sleep(20);
    }
    while ((await httpScrape(hash)).complete !== 0 && Date.now() < deadline) await Bun.sleep(20);
    expect(await httpScrape(hash)).toMatchObject({ complete: 0, incomplete: 1 });
    announce(survivor, hash, webtorrentPeerId(600));
    expect(await reply(survivor)).toMatchObject({ complete: 0, incomplete: 1 });
    expect((await threadCounts())[0].remotePeers).toBe(0);
    // Its peer ids are free again (the new thread dropped its predecessor's claims).
    announce(survivor, hash, webtorrentPeerId(601));
    expect(await reply(survivor)).toMatchObject({ complete: 0, incomplete: 2 });
  });
});

const UPGRADE = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

/** A new connection that thread `thread` holds (others opened on the way are kept open and unused). */
async function openOn(thread: number): Promise<WsClient> {
  for (let i = 0; i < 200; i++) {
    const before = await threadCounts();
    const c = await WsClient.open(`ws://127.0.0.1:${t.httpPort}/announce`);
    all.push(c);
    const after = await threadCounts();
    if (after[thread].connections > before[thread].connections) return c;
  }
  throw new Error(`no connection landed on thread ${thread}`);
}
