import { describe, expect, test } from "bun:test";
import { CONN_ID_LIFETIME_S, ConnIdIssuer } from "../../src/core/conn-id.ts";
import { SipHash } from "../../src/core/siphash.ts";

describe("SipHash-2-4", () => {
  // Reference vectors (key 00..0f, message 00..len-1), output as little-endian bytes.
  const vectors: [number, string][] = [
    [0, "310e0edd47db6f72"],
    [1, "fd67dc93c539f874"],
    [7, "37d1018bf50002ab"],
    [8, "6224939a79f5f593"],
  ];
  const h = new SipHash(Uint8Array.from({ length: 16 }, (_, i) => i));
  for (const [len, hex] of vectors) {
    test(`matches the reference vector for a ${len}-byte message`, () => {
      h.hash(
        Uint8Array.from({ length: len }, (_, i) => i),
        0,
        len,
      );
      const out = Buffer.alloc(8);
      out.writeUInt32LE(h.lo, 0);
      out.writeUInt32LE(h.hi, 4);
      expect(out.toString("hex")).toBe(hex);
    });
  }
});

describe("ConnIdIssuer", () => {
  const key = new Uint8Array(16).fill(3);
  const issuer = new ConnIdIssuer(key);
  const ip = new Uint8Array([192, 0, 2, 1]);
  const id = new Uint8Array(8);
  issuer.issue(ip, 4, 1_000_000, id, 0);

  test("accepts its own id from the same IP for the whole lifetime", () => {
    expect(issuer.check(id, 0, ip, 4, 1_000_000)).toBe(true);
    expect(issuer.check(id, 0, ip, 4, 1_000_000 + 120)).toBe(true);
    expect(issuer.check(id, 0, ip, 4, 1_000_000 + CONN_ID_LIFETIME_S)).toBe(true);
  });
  test("rejects it after the lifetime", () => {
    expect(issuer.check(id, 0, ip, 4, 1_000_000 + CONN_ID_LIFETIME_S + 1)).toBe(false);
  });
  test("rejects it from another IP, including the same bytes as an IPv6 prefix", () => {
    expect(issuer.check(id, 0, new Uint8Array([192, 0, 2, 2]), 4, 1_000_000)).toBe(false);
    const v6 = new Uint8Array(16);
    v6.set(ip);
    expect(issuer.check(id, 0, v6, 16, 1_000_000)).toBe(false);
  });
  test("rejects any flipped bit, and a time stamped in the future", () => {
    for (let bit = 0; bit < 64; bit++) {
      const bad = id.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      expect(issuer.check(bad, 0, ip, 4, 1_000_000)).toBe(false);
    }
    const future = new Uint8Array(8);
    issuer.issue(ip, 4, 1_000_100, future, 0);
    expect(issuer.check(future, 0, ip, 4, 1_000_000)).toBe(false);
  });
  test("another key (another process) does not accept the id", () => {
    expect(new ConnIdIssuer(new Uint8Array(16).fill(4)).check(id, 0, ip, 4, 1_000_000)).toBe(false);
  });
});
