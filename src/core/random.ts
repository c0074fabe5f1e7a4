// A small fast PRNG (xoshiro128**) for peer selection. Not for secrets: connection ids use a keyed MAC.
// Seeded by the caller, so tests can replay a sequence and the core stays free of hidden entropy reads.

import type { Random } from "./select.ts";

export function xoshiro128(seed: Uint32Array): Random {
  let a = seed[0] | 0,
    b = seed[1] | 0,
    c = seed[2] | 0,
    d = seed[3] | 0;
  if ((a | b | c | d) === 0) a = 1; // the all-zero state never leaves zero
  return () => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return (r >>> 0) / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
