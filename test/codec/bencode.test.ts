import { describe, expect, test } from "bun:test";
import { BencodeWriter } from "../../src/codec/bencode.ts";
import { decodeBencode } from "../../src/codec/bencode-decode.ts";
import { encodeAnnounce, encodeFailure, encodeScrape } from "../../src/codec/http-response.ts";
import { AnnounceResult } from "../../src/core/announce.ts";

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

describe("bencode", () => {
  test("writes integers, strings, lists and dictionaries", () => {
    const w = new BencodeWriter(64);
    w.dict().str("a").int(-3).str("b").list().int(0).str("").end().end();
    expect(text(w.take())).toBe("d1:ai-3e1:bli0e0:ee");
  });
  test("grows instead of truncating when a reply outgrows the buffer", () => {
    const w = new BencodeWriter(4);
    const long = "x".repeat(1000);
    w.list().str(long).int(123456789).bytes(new Uint8Array(300).fill(7), 0, 300).end();
    const out = w.take();
    expect(out.length).toBe(1 + 5 + 1000 + 11 + 4 + 300 + 1);
    expect(text(out).endsWith("\x07e")).toBe(true);
  });
  test("failure replies are canonical bencode", () => {
    expect(text(encodeFailure(new BencodeWriter(128), "missing port"))).toBe("d14:failure reason12:missing porte");
  });
  test("announce replies list their keys in sorted order, with external ip, peers and peers6", () => {
    const res = new AnnounceResult(10);
    Object.assign(res, { complete: 2, incomplete: 3, downloaded: 4, count4: 1, count6: 1 });
    res.peers4.set([10, 0, 0, 1, 0x1a, 0xe1]);
    res.peers6.set([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80]);
    const ip = new Uint8Array([192, 0, 2, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const body = encodeAnnounce(new BencodeWriter(1024), res, { interval: 1800, minInterval: 900, compact: true, ip, ipLen: 4 });
    const d = decodeBencode(body) as Record<string, unknown>; // throws on unsorted keys
    expect(Object.keys(d)).toEqual(["complete", "downloaded", "external ip", "incomplete", "interval", "min interval", "peers", "peers6"]);
    expect(d["external ip"]).toBe("\xc0\x00\x02\x07");
    expect((d.peers as string).length).toBe(6);
    expect((d.peers6 as string).length).toBe(18);
    const dict = decodeBencode(encodeAnnounce(new BencodeWriter(1024), res, { interval: 1800, minInterval: 900, compact: false, ip, ipLen: 4 })) as Record<string, unknown>;
    expect(dict.peers).toEqual([{ ip: "10.0.0.1", port: 6881 }, { ip: "2001:db8::1", port: 80 }]);
  });
  test("scrape replies map raw hashes to sorted count dictionaries", () => {
    const body = encodeScrape(new BencodeWriter(1024), [{ infoHash: "\x00".repeat(20), complete: 1, downloaded: 2, incomplete: 3 }]);
    expect(decodeBencode(body)).toEqual({ files: { ["\x00".repeat(20)]: { complete: 1, downloaded: 2, incomplete: 3 } } });
  });
});
