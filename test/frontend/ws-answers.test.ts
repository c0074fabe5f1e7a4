// WebTorrent answers against the clock the front end is given: an offer can be answered within
// OFFER_ANSWER_TIMEOUT_S and not after, and a connection remembers a bounded number of offers (the oldest is
// forgotten first), reusing expired slots instead of growing.

import { describe, expect, test } from "bun:test";
import { FixedInterval } from "../../src/core/adaptive-interval.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { Counters } from "../../src/frontend/counters.ts";
import { MAX_PENDING_OFFERS, OFFER_ANSWER_TIMEOUT_S, PendingOffers } from "../../src/frontend/pending-offers.ts";
import { IntervalSource } from "../../src/frontend/settings.ts";
import { type WsConnection, WsTracker } from "../../src/frontend/ws-tracker.ts";
import { bin20, type Json, webtorrentPeerId } from "../helpers/ws-client.ts";

const T0 = 1_700_000_000;

function setup() {
  const store = new Store({ peerTimeoutS: 3000, random: xoshiro128(new Uint32Array([1, 2, 3, 4])) });
  const ws = new WsTracker(store, new Counters(), {
    interval: new IntervalSource(new FixedInterval(120), 1, 3000, Math.random),
    minIntervalS: 60,
    maxSocketsPerIp: 100,
  });
  const inbox = new Map<WsConnection, Json[]>();
  const connect = (n: number) => {
    const c = ws.connect(new Uint8Array([198, 51, 100, n]), 4)!;
    const got: Json[] = [];
    inbox.set(c, got);
    c.sink = { send: (text) => got.push(JSON.parse(text) as Json), close() {} };
    return c;
  };
  return { ws, connect, inbox };
}

describe("answers and the clock", () => {
  const hash = bin20("answer clock");
  const [maker, taker] = [webtorrentPeerId(1), webtorrentPeerId(2)];
  const offer = (i: number) => ({ offer_id: bin20(`offer ${i}`), offer: { type: "offer", sdp: `sdp ${i}` } });
  const answer = (i: number) =>
    JSON.stringify({
      action: "announce",
      info_hash: hash,
      peer_id: taker,
      to_peer_id: maker,
      offer_id: bin20(`offer ${i}`),
      answer: { type: "answer", sdp: `answer ${i}` },
    });

  test(`an offer can be answered for ${OFFER_ANSWER_TIMEOUT_S} s after it was relayed, not later`, () => {
    const { ws, connect, inbox } = setup();
    const [a, b] = [connect(1), connect(2)];
    ws.message(b, JSON.stringify({ action: "announce", info_hash: hash, peer_id: taker, left: 1 }), T0);
    ws.message(
      a,
      JSON.stringify({ action: "announce", info_hash: hash, peer_id: maker, left: 1, offers: [offer(1)] }),
      T0,
    );
    ws.message(
      a,
      JSON.stringify({ action: "announce", info_hash: hash, peer_id: maker, left: 1, offers: [offer(2)] }),
      T0,
    );
    expect(inbox.get(b)!.filter((m) => m.offer !== undefined).length).toBe(2);
    ws.message(b, answer(1), T0 + OFFER_ANSWER_TIMEOUT_S);
    ws.message(b, answer(2), T0 + OFFER_ANSWER_TIMEOUT_S + 1);
    const answers = inbox.get(a)!.filter((m) => m.answer !== undefined);
    expect(answers.map((m) => (m.answer as Json).sdp)).toEqual(["answer 1"]);
    expect(ws.counters.wsAnswersDropped).toBe(1);
  });

  test(`a connection keeps at most ${MAX_PENDING_OFFERS} offers: the oldest is forgotten first`, () => {
    const { ws, connect, inbox } = setup();
    const [a, b] = [connect(1), connect(2)];
    ws.message(b, JSON.stringify({ action: "announce", info_hash: hash, peer_id: taker, left: 1 }), T0);
    for (let i = 0; i <= MAX_PENDING_OFFERS; i++) {
      ws.message(
        a,
        JSON.stringify({ action: "announce", info_hash: hash, peer_id: maker, left: 1, offers: [offer(i)] }),
        T0,
      );
    }
    expect(b.offers.capacity).toBe(MAX_PENDING_OFFERS);
    ws.message(b, answer(0), T0 + 1); // the oldest: forgotten
    ws.message(b, answer(1), T0 + 1);
    ws.message(b, answer(MAX_PENDING_OFFERS), T0 + 1);
    expect(
      inbox
        .get(a)!
        .filter((m) => m.answer !== undefined)
        .map((m) => (m.answer as Json).sdp),
    ).toEqual(["answer 1", `answer ${MAX_PENDING_OFFERS}`]);
  });
});

describe("PendingOffers", () => {
  const id = (i: number) => bin20(`id ${i}`);
  const hash = bin20("pending");
  const [maker, other] = [webtorrentPeerId(1), webtorrentPeerId(3)];
  /** Answers offer `offerId`: the maker's handle it was recorded with, or 0 when there is no such offer. */
  const answer = (
    p: PendingOffers,
    offerId: string,
    infoHash: string,
    makerPeerId: string,
    receiver: number,
    now: number,
  ) => {
    const slot = p.find(offerId, infoHash, makerPeerId, receiver, now);
    if (slot < 0) return 0;
    p.end(slot);
    return p.makerAt(slot);
  };

  test("expired slots are reused: a steady trickle of offers never grows the ring", () => {
    const p = new PendingOffers();
    for (let t = 0; t < 1000; t++) p.add(id(t), hash, 1, 2, T0 + t * 10, maker); // 6 live at a time
    expect(p.capacity).toBe(8);
    expect(answer(p, id(999), hash, maker, 2, T0 + 9990)).toBe(1);
    expect(answer(p, id(994), hash, maker, 2, T0 + 9990)).toBe(1); // sent 50 s ago
    expect(answer(p, id(993), hash, maker, 2, T0 + 9990)).toBe(0); // expired
  });

  test("growing keeps every live offer, and each matches only its maker, receiver and torrent", () => {
    const p = new PendingOffers();
    for (let i = 0; i < 40; i++) p.add(id(i), hash, 1 + i, 2, T0, maker);
    expect(p.capacity).toBe(64);
    expect(answer(p, id(5), hash, other, 2, T0)).toBe(0); // another maker
    expect(answer(p, id(5), hash, maker, 4, T0)).toBe(0); // another receiver
    expect(answer(p, id(5), bin20("other torrent"), maker, 2, T0)).toBe(0);
    for (let i = 0; i < 40; i++) expect(answer(p, id(i), hash, maker, 2, T0)).toBe(1 + i);
    expect(answer(p, id(5), hash, maker, 2, T0)).toBe(0); // once
  });
});
