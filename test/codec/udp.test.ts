import { describe, expect, test } from "bun:test";
import { decodeAnnounce, encodeError, isConnectMagic, readNumWant } from "../../src/codec/udp.ts";
import { AnnounceRequest, EVENT_STARTED } from "../../src/core/announce.ts";
import { announcePacket, connectPacket, testHash } from "../helpers/udp-client.ts";

describe("BEP 15 codec", () => {
  test("recognises the connect magic", () => {
    expect(isConnectMagic(connectPacket(1))).toBe(true);
    const bad = connectPacket(1);
    bad[7] ^= 1;
    expect(isConnectMagic(bad)).toBe(false);
  });
  test("decodes an announce field by field", () => {
    const packet = announcePacket({
      connectionId: new Uint8Array(8),
      infoHash: testHash(1),
      left: 0n,
      event: EVENT_STARTED,
      numWant: -1,
      port: 51413,
    });
    const req = new AnnounceRequest();
    expect(decodeAnnounce(packet, req)).toBeNull();
    expect(req.hashBytes!.subarray(req.hashOff, req.hashOff + 20)).toEqual(testHash(1));
    expect([req.left, req.event, req.port, readNumWant(packet)]).toEqual([0, EVENT_STARTED, 51413, -1]);
  });
  test("a left above 2^32 is not a seeder", () => {
    const req = new AnnounceRequest();
    decodeAnnounce(
      announcePacket({ connectionId: new Uint8Array(8), infoHash: testHash(1), left: 1n << 40n, port: 1 }),
      req,
    );
    expect(req.left).not.toBe(0);
  });
  test("rejects port 0 and unknown events", () => {
    const req = new AnnounceRequest();
    expect(
      decodeAnnounce(announcePacket({ connectionId: new Uint8Array(8), infoHash: testHash(1), port: 0 }), req),
    ).toBe("invalid_port");
    expect(
      decodeAnnounce(
        announcePacket({ connectionId: new Uint8Array(8), infoHash: testHash(1), port: 1, event: 4 }),
        req,
      ),
    ).toBe("invalid_event");
  });
  test("error packets carry action 3, the transaction id and the text", () => {
    const out = new Uint8Array(64);
    const n = encodeError(out, connectPacket(0xdeadbeef), "nope");
    expect(Buffer.from(out.subarray(0, n)).toString("hex")).toBe(
      "00000003deadbeef" + Buffer.from("nope").toString("hex"),
    );
  });
});
