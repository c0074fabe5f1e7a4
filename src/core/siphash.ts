// SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit MAC, in 32-bit integer arithmetic so it runs fast
// in JavaScript without BigInt. Used for BEP 15 connection ids. Checked against the reference test vectors.

export class SipHash {
  readonly #k: Uint32Array; // k0 lo, k0 hi, k1 lo, k1 hi
  /** High and low 32 bits of the last result (kept here so hashing allocates nothing). */
  hi = 0;
  lo = 0;

  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError("SipHash key must be 16 bytes");
    this.#k = new Uint32Array(4);
    for (let i = 0; i < 4; i++) this.#k[i] = readLE32(key, i * 4);
  }

  /** Hashes msg[off, off+len); read the result from `hi` and `lo`. */
  hash(msg: Uint8Array, off: number, len: number): this {
    const k = this.#k;
    // Constants are "somepseudorandomlygeneratedbytes".
    v0h = k[1] ^ 0x736f6d65;
    v0l = k[0] ^ 0x70736575;
    v1h = k[3] ^ 0x646f7261;
    v1l = k[2] ^ 0x6e646f6d;
    v2h = k[1] ^ 0x6c796765;
    v2l = k[0] ^ 0x6e657261;
    v3h = k[3] ^ 0x74656462;
    v3l = k[2] ^ 0x79746573;
    const end = off + len - (len % 8);
    let p = off;
    for (; p < end; p += 8) compress(readLE32(msg, p), readLE32(msg, p + 4));
    // Last block: remaining bytes, with the length in the top byte.
    let ml = 0;
    let mh = (len & 0xff) << 24;
    for (let i = 0; p + i < off + len; i++) {
      const b = msg[p + i];
      if (i < 4) ml |= b << (8 * i);
      else mh |= b << (8 * (i - 4));
    }
    compress(ml, mh);
    v2l ^= 0xff;
    sipRound();
    sipRound();
    sipRound();
    sipRound();
    this.hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
    this.lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
    return this;
  }
}

// The state v0..v3 as (high, low) 32-bit halves. Module-level so the round function needs no closure (and
// hashing allocates nothing); hashing is synchronous, so one state serves every instance.
let v0h = 0,
  v0l = 0,
  v1h = 0,
  v1l = 0,
  v2h = 0,
  v2l = 0,
  v3h = 0,
  v3l = 0;

function compress(ml: number, mh: number): void {
  v3l ^= ml;
  v3h ^= mh;
  sipRound();
  sipRound();
  v0l ^= ml;
  v0h ^= mh;
}

function sipRound(): void {
  let t: number;
  // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
  t = (v0l + v1l) >>> 0;
  v0h = (v0h + v1h + (t < v0l >>> 0 ? 1 : 0)) | 0;
  v0l = t;
  t = (v1h << 13) | (v1l >>> 19);
  v1l = (v1l << 13) | (v1h >>> 19);
  v1h = t;
  v1h ^= v0h;
  v1l ^= v0l;
  t = v0h;
  v0h = v0l;
  v0l = t;
  // v2 += v3; v3 = rotl(v3, 16) ^ v2
  t = (v2l + v3l) >>> 0;
  v2h = (v2h + v3h + (t < v2l >>> 0 ? 1 : 0)) | 0;
  v2l = t;
  t = (v3h << 16) | (v3l >>> 16);
  v3l = (v3l << 16) | (v3h >>> 16);
  v3h = t;
  v3h ^= v2h;
  v3l ^= v2l;
  // v0 += v3; v3 = rotl(v3, 21) ^ v0
  t = (v0l + v3l) >>> 0;
  v0h = (v0h + v3h + (t < v0l >>> 0 ? 1 : 0)) | 0;
  v0l = t;
  t = (v3h << 21) | (v3l >>> 11);
  v3l = (v3l << 21) | (v3h >>> 11);
  v3h = t;
  v3h ^= v0h;
  v3l ^= v0l;
  // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
  t = (v2l + v1l) >>> 0;
  v2h = (v2h + v1h + (t < v2l >>> 0 ? 1 : 0)) | 0;
  v2l = t;
  t = (v1h << 17) | (v1l >>> 15);
  v1l = (v1l << 17) | (v1h >>> 15);
  v1h = t;
  v1h ^= v2h;
  v1l ^= v2l;
  t = v2h;
  v2h = v2l;
  v2l = t;
}

function readLE32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
