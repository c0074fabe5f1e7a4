// A bencode writer over one reused byte buffer, grown when a reply needs more room (never truncated).
// Callers write dictionary keys in sorted order themselves (canonical bencode, BEP 3): the encoders in
// http-response.ts list them that way, and tests check it.

export class BencodeWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** A copy of what was written, safe to hand to a Response while the writer is reused. */
  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  raw(c: number): this {
    if (this.pos === this.buf.length) this.#grow(1);
    this.buf[this.pos++] = c;
    return this;
  }

  dict(): this {
    return this.raw(0x64); // 'd'
  }

  list(): this {
    return this.raw(0x6c); // 'l'
  }

  end(): this {
    return this.raw(0x65); // 'e'
  }

  int(n: number): this {
    this.raw(0x69); // 'i'
    this.#digits(n);
    return this.raw(0x65);
  }

  /** A string of ASCII/latin1 characters (keys, messages, IP text, binary info hashes as latin1). */
  str(s: string): this {
    this.#digits(s.length);
    this.raw(0x3a); // ':'
    if (this.pos + s.length > this.buf.length) this.#grow(s.length);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i) & 0xff;
    this.pos = p;
    return this;
  }

  /** A byte string whose body is `len` bytes of `src` from `off`. */
  bytes(src: Uint8Array, off: number, len: number): this {
    this.#digits(len);
    this.raw(0x3a);
    if (this.pos + len > this.buf.length) this.#grow(len);
    const b = this.buf;
    if (len > 64) b.set(src.subarray(off, off + len), this.pos);
    else for (let i = 0, p = this.pos; i < len; i++) b[p + i] = src[off + i]; // no view made for short copies
    this.pos += len;
    return this;
  }

  #digits(n: number): void {
    if (n < 0) {
      this.raw(0x2d);
      n = -n;
    }
    n = Math.floor(n);
    // Digits written straight into the buffer (no string per number: replies carry a handful of them).
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    if (this.pos + len > this.buf.length) this.#grow(len);
    const b = this.buf;
    for (let p = this.pos + len - 1; p >= this.pos; p--) {
      const q = Math.floor(n / 10);
      b[p] = 0x30 + (n - q * 10);
      n = q;
    }
    this.pos += len;
  }

  #grow(need: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + need));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}
