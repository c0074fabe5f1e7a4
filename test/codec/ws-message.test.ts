// Parsing and checking WebTorrent tracker messages (the socket-level behaviour is in test/server/websocket.test.ts).

import { describe, expect, test } from "bun:test";
import { failureReply, isBinary20, parseWsMessage, type WsAnnounce } from "../../src/codec/ws-message.ts";

const HASH = "\u00ff".repeat(10) + "abcdefghij";
const PEER = "-WW0208-000000000001";
const offer = (i: number) => ({ offer_id: String(i).padStart(20, "o"), offer: { type: "offer", sdp: `sdp ${i}`, junk: { big: true } } });
const parse = (m: unknown, maxOffers = 10) => parseWsMessage(typeof m === "string" ? m : JSON.stringify(m), maxOffers, 100);

describe("parseWsMessage", () => {
  test("keeps at most maxOffers offers, rebuilt as {type, sdp} without anything else the client put in", () => {
    const m = parse({ action: "announce", info_hash: HASH, peer_id: PEER, offers: [0, 1, 2, 3].map(offer), left: 0, event: "started" }, 3) as WsAnnounce;
    expect(m.offers).toEqual([0, 1, 2].map((i) => ({ offerId: offer(i).offer_id, offer: { type: "offer", sdp: `sdp ${i}` } })));
    expect([m.event, m.left, m.answer]).toEqual(["started", 0, null]);
  });

  test("a missing, null or empty event is a plain announce; unknown left means not a seeder (null)", () => {
    for (const event of [undefined, null, ""]) {
      const m = parse({ action: "announce", info_hash: HASH, peer_id: PEER, event }) as WsAnnounce;
      expect([m.event, m.left, m.offers]).toEqual([null, null, []]);
    }
  });

  test("an answer needs to_peer_id, offer_id and {type: answer, sdp}", () => {
    const base = { action: "announce", info_hash: HASH, peer_id: PEER, to_peer_id: PEER.replace("1", "2"), offer_id: "x".repeat(20) };
    const ok = parse({ ...base, answer: { type: "answer", sdp: "s" } }) as WsAnnounce;
    expect(ok.answer).toEqual({ toPeerId: base.to_peer_id, offerId: base.offer_id, answer: { type: "answer", sdp: "s" } });
    expect(parse({ ...base, answer: { type: "offer", sdp: "s" } })).toMatchObject({ reason: 'invalid answer: expected {type: "answer", sdp}' });
    expect(parse({ ...base, to_peer_id: "short", answer: { type: "answer", sdp: "s" } })).toMatchObject({ reason: "invalid to_peer_id: expected a 20-byte binary string" });
    expect(parse({ ...base, offer_id: 7, answer: { type: "answer", sdp: "s" } })).toMatchObject({ reason: "invalid offer_id: expected a 20-byte binary string" });
  });

  test("negative or non-numeric left is refused", () => {
    for (const left of [-1, "5", {}]) {
      expect(parse({ action: "announce", info_hash: HASH, peer_id: PEER, left })).toMatchObject({ reason: "invalid left: expected a number of bytes" });
    }
  });

  test("binary strings are 20 chars of 0-255", () => {
    expect(isBinary20("\u0000".repeat(20))).toBe(true);
    expect(isBinary20("\u00ff".repeat(20))).toBe(true);
    expect(isBinary20("\u0100" + "a".repeat(19))).toBe(false);
    expect(isBinary20("a".repeat(21))).toBe(false);
    expect(isBinary20(["a".repeat(20)])).toBe(false);
  });
});

test("failure replies round-trip binary info hashes exactly", () => {
  const text = failureReply("announce", HASH, "nope");
  expect(JSON.parse(text)).toEqual({ action: "announce", info_hash: HASH, "failure reason": "nope" });
});
