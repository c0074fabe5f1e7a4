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
    const body = encodeAnnounce(new BencodeWriter(1024), res, {
      interval: 1800,
      minInterval: 900,
      compact: true,
      ip,
      ipLen: 4,
    });
    const d = decodeBencode(body) as Record<string, unknown>; // throws on unsorted keys
    expect(Object.keys(d)).toEqual([
      "complete",
      "downloaded",
      "external ip",
      "incomplete",
      "interval",
      "min interval",
      "peers",
      "peers6",
    ]);
    expect(d["external ip"]).toBe("\xc0\x00\x02\x07");
    expect((d.peers as string).length).toBe(6);
    expect((d.peers6 as string).length).toBe(18);
    const dict = decodeBencode(
      encodeAnnounce(new BencodeWriter(1024), res, { interval: 1800, minInterval: 900, compact: false, ip, ipLen: 4 }),
    ) as Record<string, unknown>;
    expect(dict.peers).toEqual([
      { ip: "10.0.0.1", port: 6881 },
      { ip: "2001:db8::1", port: 80 },
    ]);
  });
  test("scrape replies map raw hashes to sorted count dictionaries", () => {
    const body = encodeScrape(new BencodeWriter(1024), [
      { infoHash: "\x00".repeat(20), complete: 1, downloaded: 2, incomplete: 3 },
    ]);
    expect(decodeBencode(body)).toEqual({
      files: { ["\x00".repeat(20)]: { complete: 1, downloaded: 2, incomplete: 3 } },
    });
  });
});

describe("bencode properties (seeded)", () => {
  // A small seeded generator of values our writer can express: integers, binary strings, lists, dictionaries.
  type V = number | string | V[] | { [k: string]: V };
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const str = () =>
    String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 24) }, () => Math.floor(rnd() * 256)));
  function value(depth: number): V {
    const k = depth > 3 ? Math.floor(rnd() * 2) : Math.floor(rnd() * 4);
    if (k === 0) return Math.floor((rnd() - 0.5) * 2 ** 40);
    if (k === 1) return str();
    if (k === 2) return Array.from({ length: Math.floor(rnd() * 5) }, () => value(depth + 1));
    const d: { [k: string]: V } = {};
    for (let i = Math.floor(rnd() * 5); i > 0; i--) d[str()] = value(depth + 1);
    return d;
  }
  function write(w: BencodeWriter, v: V): void {
    if (typeof v === "number") w.int(v);
    else if (typeof v === "string") w.str(v);
    else if (Array.isArray(v)) {
      w.list();
      for (const x of v) write(w, x);
      w.end();
    } else {
      w.dict();
      for (const k of Object.keys(v).sort()) write(w.str(k), v[k]);
      w.end();
    }
  }

  test("whatever is written decodes back to the same value", () => {
    for (let i = 0; i < 2000; i++) {
      const v = value(0);
      const w = new BencodeWriter(16);
      write(w, v);
      expect(decodeBencode(w.take())).toEqual(v);
    }
  });

  test("damaged input is rejected with an Error, never anything worse", () => {
    for (let i = 0; i < 2000; i++) {
      const w = new BencodeWriter(16);
      write(w, value(0));
      const bytes = w.take();
      const cut = bytes.slice(0, Math.floor(rnd() * bytes.length));
      if (cut.length > 0) cut[Math.floor(rnd() * cut.length)] ^= 1 << Math.floor(rnd() * 8);
      try {
        decodeBencode(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
      }
    }
  });
});
