// The BEP 15 / BEP 41 wire fixtures (test/fixtures/udp-wire.ts), both ways: the client-side codec
// (udp-messages.ts) parses each datagram into its message and writes the message back to the same bytes,
// and the tracker's in-place codec (udp.ts) reads the same requests and writes the same replies.

import { describe, expect, test } from "bun:test";
import { parseIp } from "../../src/codec/ip.ts";
import {
  decodeAnnounce,
  encodeAnnounceHeader,
  encodeConnectHeader,
  encodeError,
  encodeScrapeEntry,
  encodeScrapeHeader,
  isConnectMagic,
  OFF_REPLY_CONNECTION_ID,
  readNumWant,
} from "../../src/codec/udp.ts";
import {
  parseReply,
  parseRequest,
  type UdpReply,
  urlData,
  urlDataOptions,
  writeReply,
  writeRequest,
} from "../../src/codec/udp-messages.ts";
import { AnnounceRequest } from "../../src/core/announce.ts";
import { fixtureBytes, REPLIES, REQUESTS } from "../fixtures/udp-wire.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("UDP wire fixtures: requests", () => {
  for (const f of REQUESTS) {
    test(f.name, () => {
      const wire = fixtureBytes(f);
      expect(parseRequest(wire)).toEqual(f.request!);
      expect(hex(writeRequest(f.request!))).toBe(hex(wire));
    });
  }

  test("the tracker's decoder reads the same fields", () => {
    for (const f of REQUESTS) {
      const wire = fixtureBytes(f);
      const m = f.request!;
      expect(isConnectMagic(wire)).toBe(m.action === "connect");
      if (m.action !== "announce") continue;
      const req = new AnnounceRequest();
      expect(decodeAnnounce(wire, req)).toBeNull();
      expect(req.hashBytes!.subarray(req.hashOff, req.hashOff + 20)).toEqual(m.infoHash);
      expect([req.event, req.port, req.left === 0, readNumWant(wire)]).toEqual([
        m.event,
        m.port,
        m.left === 0n,
        m.numWant,
      ]);
    }
  });

  test("qBittorrent's URLData option carries the announce path; pieces are concatenated", () => {
    const [, , qbt, split] = REQUESTS.map((f) => f.request!);
    expect(qbt.action === "announce" && urlData(qbt.options)).toBe("/announce");
    expect(split.action === "announce" && urlData(split.options)).toBe("/dir?a=b&c=d");
  });

  test("a long URL is split into URLData options of at most 255 bytes", () => {
    const path = "/announce?" + "k".repeat(600);
    const options = urlDataOptions(path);
    expect(options.map((o) => o.data!.length)).toEqual([255, 255, 100]);
    expect(urlData(options)).toBe(path);
  });
});

describe("UDP wire fixtures: replies", () => {
  for (const f of REPLIES) {
    test(f.name, () => {
      const wire = fixtureBytes(f);
      const m = f.reply!;
      expect(parseReply(wire, m.action === "announce" ? m.family : 4)).toEqual(m);
      expect(hex(writeReply(m))).toBe(hex(wire));
    });
  }

  test("the tracker's encoders write the same bytes", () => {
    for (const f of REPLIES) expect(hex(trackerEncode(f.reply!))).toBe(hex(fixtureBytes(f)));
  });
});

describe("UDP message parsers reject what is not a well-formed datagram", () => {
  const announce = fixtureBytes(REQUESTS[2]);
  test.each([
    ["a request shorter than its header", announce.subarray(0, 15), /at least 16/],
    [
      "a connect without the protocol id",
      Uint8Array.from([...new Uint8Array(8), 0, 0, 0, 0, 1, 2, 3, 4]),
      /protocol id/,
    ],
    ["an announce shorter than 98 bytes", announce.subarray(0, 97), /at least 98/],
    ["an option whose length runs past the end", announce.subarray(0, announce.length - 1), /runs past the end/],
    ["a scrape with a partial hash", fixtureBytes(REQUESTS[4]).subarray(0, 16 + 20 + 19), /16 \+ 20n/],
  ])("%s", (_name, b, message) => {
    expect(() => parseRequest(b)).toThrow(message);
  });

  // (The reverse cannot be caught: 18n bytes are always a multiple of 6. The family must come from the socket.)
  test("an IPv4 announce reply read with IPv6's peer size is refused, not misread", () => {
    expect(() => parseReply(fixtureBytes(REPLIES[1]), 6)).toThrow(/20 \+ 18n/);
  });

  test("a reply with an unknown action is refused", () => {
    expect(() => parseReply(Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 1]))).toThrow(/unknown reply action 9/);
  });
});

/** The reply as the tracker writes it: in place, from a request that carries the same transaction id. */
function trackerEncode(m: UdpReply): Uint8Array {
  const out = new Uint8Array(1500);
  const req = writeRequest({ action: "connect", transactionId: m.transactionId });
  if (m.action === "connect") {
    const n = encodeConnectHeader(out, req);
    out.set(m.connectionId, OFF_REPLY_CONNECTION_ID);
    return out.slice(0, n);
  }
  if (m.action === "error") return out.slice(0, encodeError(out, req, m.message));
  if (m.action === "scrape") {
    let n = encodeScrapeHeader(out, req);
    for (const e of m.entries) n = encodeScrapeEntry(out, n, e.seeders, e.completed, e.leechers);
    return out.slice(0, n);
  }
  let n = encodeAnnounceHeader(out, req, m.interval, m.leechers, m.seeders);
  const ip = new Uint8Array(16);
  for (const p of m.peers) {
    const len = parseIp(p.ip, ip);
    out.set(ip.subarray(0, len), n);
    out[n + len] = p.port >> 8;
    out[n + len + 1] = p.port & 0xff;
    n += len + 2;
  }
  return out.slice(0, n);
}
