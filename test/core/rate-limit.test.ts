import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../src/core/rate-limit.ts";

const v4 = (n: number) => new Uint8Array([198, 51, (n >> 8) & 255, n & 255]);
const v6 = (prefix: number, host: number) => {
  const b = new Uint8Array(16);
  b.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, prefix >> 8, prefix & 255]);
  b[15] = host;
  return b;
};

describe("RateLimiter", () => {
  test("allows a burst, then the sustained rate", () => {
    const l = new RateLimiter({ perSecond: 5, burst: 10, seed: 1 });
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (l.allow(v4(1), 4, 1000)) allowed++;
    expect(allowed).toBe(10);
    expect(l.refused).toBe(40);
    // Two seconds later: 10 more tokens (5/s), capped at the burst.
    allowed = 0;
    for (let i = 0; i < 50; i++) if (l.allow(v4(1), 4, 1002)) allowed++;
    expect(allowed).toBe(10);
  });

  test("one source's flood does not limit other sources", () => {
    const l = new RateLimiter({ perSecond: 1, burst: 5, seed: 7, slots: 1024 });
    for (let i = 0; i < 1000; i++) l.allow(v4(1), 4, 1000);
    // With two hashed buckets per source, a neighbour sharing one bucket still has the other.
    let blocked = 0;
    for (let n = 2; n < 2000; n++) if (!l.allow(v4(n), 4, 1000)) blocked++;
    expect(blocked).toBe(0);
  });

  test("an IPv6 /64 is one source; another /64 is another", () => {
    const l = new RateLimiter({ perSecond: 1, burst: 3, seed: 3 });
    let allowed = 0;
    for (let host = 0; host < 20; host++) if (l.allow(v6(1, host), 16, 1000)) allowed++;
    expect(allowed).toBe(3);
    expect(l.allow(v6(2, 0), 16, 1000)).toBe(true);
  });

  test("wait: seconds until the next token, without taking one", () => {
    const l = new RateLimiter({ perSecond: 5 / 60, burst: 5, seed: 4, slots: 1024 });
    for (let i = 0; i < 10; i++) expect(l.wait(v4(1), 4, 1000)).toBe(0); // asking takes nothing
    for (let i = 0; i < 5; i++) expect(l.allow(v4(1), 4, 1000)).toBe(true);
    expect(l.wait(v4(1), 4, 1000)).toBe(12); // one token per 12 s
    expect(l.wait(v4(1), 4, 1007)).toBe(5);
    expect(l.wait(v4(1), 4, 1012)).toBe(0);
    expect(l.wait(v4(2), 4, 1000)).toBe(0);
  });

  test("memory is fixed whatever the number of sources, and 0 turns limiting off", () => {
    const l = new RateLimiter({ perSecond: 100, burst: 100, seed: 9, slots: 1024 });
    for (let n = 0; n < 100_000; n++) l.allow(v4(n), 4, 1000 + (n % 7));
    const off = new RateLimiter({ perSecond: 0, burst: 1, seed: 9 });
    for (let i = 0; i < 1000; i++) expect(off.allow(v4(1), 4, 1000)).toBe(true);
    expect(off.enabled).toBe(false);
  });
});
