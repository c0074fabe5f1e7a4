// Parsing and checking WebTorrent tracker messages (the socket-level behaviour is in test/server/websocket.test.ts).

import { describe, expect, test } from "bun:test";
import {
  failureReply,
  isBinary20,
  parseWsMessage,
  type WsAnnounce,
  type WsInvalid,
} from "../../src/codec/ws-message.ts";
import type { FailureCode } from "../../src/core/failure.ts";

const HASH = "\u00ff".repeat(10) + "abcdefghij";
const PEER = "-WW0208-000000000001";
const offer = (i: number) => ({
  offer_id: String(i).padStart(20, "o"),
  offer: { type: "offer", sdp: `sdp ${i}`, junk: { big: true } },
});
const parse = (m: unknown, maxOffers = 10) =>
  parseWsMessage(typeof m === "string" ? m : JSON.stringify(m), maxOffers, 100);

describe("parseWsMessage", () => {
  test("keeps at most maxOffers offers, rebuilt as {type, sdp} without anything else the client put in", () => {
    const m = parse(
      {
        action: "announce",
        info_hash: HASH,
        peer_id: PEER,
        offers: [0, 1, 2, 3].map(offer),
        left: 0,
        event: "started",
      },
      3,
    ) as WsAnnounce;
    expect(m.offers).toEqual(
      [0, 1, 2].map((i) => ({ offerId: offer(i).offer_id, offer: { type: "offer", sdp: `sdp ${i}` } })),
    );
    expect([m.event, m.left, m.answer]).toEqual(["started", 0, null]);
  });

  test("a missing, null or empty event is a plain announce; unknown left means not a seeder (null)", () => {
    for (const event of [undefined, null, ""]) {
      const m = parse({ action: "announce", info_hash: HASH, peer_id: PEER, event }) as WsAnnounce;
      expect([m.event, m.left, m.offers]).toEqual([null, null, []]);
    }
  });

  test("an answer needs to_peer_id, offer_id and {type: answer, sdp}", () => {
    const base = {
      action: "announce",
      info_hash: HASH,
      peer_id: PEER,
      to_peer_id: PEER.replace("1", "2"),
      offer_id: "x".repeat(20),
    };
    const ok = parse({ ...base, answer: { type: "answer", sdp: "s" } }) as WsAnnounce;
    expect(ok.answer).toEqual({
      toPeerId: base.to_peer_id,
      offerId: base.offer_id,
      answer: { type: "answer", sdp: "s" },
    });
    const bad = { action: "announce", infoHash: HASH, code: "invalid_answer" } as const;
    expect(parse({ ...base, answer: { type: "offer", sdp: "s" } })).toEqual(bad);
    expect(parse({ ...base, to_peer_id: "short", answer: { type: "answer", sdp: "s" } })).toEqual(bad);
    expect(parse({ ...base, offer_id: 7, answer: { type: "answer", sdp: "s" } })).toEqual(bad);
  });

  test("negative or non-numeric left is refused", () => {
    for (const left of [-1, "5", {}]) {
      expect(parse({ action: "announce", info_hash: HASH, peer_id: PEER, left })).toEqual({
        action: "announce",
        infoHash: HASH,
        code: "invalid_left",
      });
    }
  });

  test.each([
    ["not JSON", "{nope", null, null, "invalid_message"],
    ["not an object", "[1,2]", null, null, "invalid_message"],
    ["unknown action", { action: "hello" }, null, null, "invalid_action"],
    ["short info_hash", { action: "announce", info_hash: "abc", peer_id: PEER }, "announce", null, "invalid_info_hash"],
    ["missing peer_id", { action: "announce", info_hash: HASH }, "announce", HASH, "invalid_peer_id"],
    [
      "bad event",
      { action: "announce", info_hash: HASH, peer_id: PEER, event: "exploded" },
      "announce",
      HASH,
      "invalid_event",
    ],
    [
      "offers not a list",
      { action: "announce", info_hash: HASH, peer_id: PEER, offers: {} },
      "announce",
      HASH,
      "invalid_offers",
    ],
    [
      "offer without sdp",
      { action: "announce", info_hash: HASH, peer_id: PEER, offers: [{ offer_id: PEER, offer: { type: "offer" } }] },
      "announce",
      HASH,
      "invalid_offers",
    ],
    ["scrape without info_hash", { action: "scrape" }, "scrape", null, "missing_info_hash"],
    [
      "scrape of 101 hashes",
      { action: "scrape", info_hash: Array.from({ length: 101 }, () => HASH) },
      "scrape",
      null,
      "too_many_info_hashes",
    ],
    ["scrape of a short hash", { action: "scrape", info_hash: ["abc"] }, "scrape", null, "invalid_info_hash"],
  ] as [string, unknown, WsInvalid["action"], string | null, FailureCode][])(
    "%s: its failure code, and the action and info hash known so far",
    (_name, m, action, infoHash, code) => {
      expect(parse(m)).toEqual({ action, infoHash, code });
    },
  );

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
