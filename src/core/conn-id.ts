// BEP 15 connection ids, stateless (a syn-cookie): nothing is stored per client.
//
// Layout (8 bytes, big-endian): [u32 issue time, unix seconds][u32 = SipHash-2-4(key, time ‖ ip)].
// - Bound to the client IP (canonical: IPv4 as 4 bytes), not the port: NATs may remap ports between the
//   connect and the announce.
// - Valid from issue until LIFETIME_S later. BEP 15 asks trackers to accept ids for 2 minutes; real clients
//   (uTorrent) reuse them for about 5, so we accept 5. Ids stamped in the future (beyond clock skew) fail, so
//   a guessed time field cannot stretch an id's life.
// - A forged id needs the 32-bit MAC for the victim's IP and a fresh time: 2^32 guesses, each worth at most
//   a few minutes. The key is random per process (a restart invalidates ids; clients reconnect).
// - The MAC is compared as one 32-bit integer: a single comparison, so no byte-by-byte timing leak.

import { readU32, writeU32 } from "./bytes.ts";
import { SipHash } from "./siphash.ts";

export const CONN_ID_LIFETIME_S = 300;
const MAX_FUTURE_S = 10;

export class ConnIdIssuer {
  readonly #mac: SipHash;
  readonly #msg = new Uint8Array(4 + 16);

  constructor(key: Uint8Array) {
    this.#mac = new SipHash(key);
  }

  /** Writes a connection id for (ip, now) into out[at..at+8]. */
  issue(ip: Uint8Array, ipLen: 4 | 16, now: number, out: Uint8Array, at: number): void {
    const t = now >>> 0;
    writeU32(out, at, t);
    writeU32(out, at + 4, this.#tag(ip, ipLen, t));
  }

  /** True if the 8 bytes at id[at..] were issued by us for this IP within the lifetime. */
  check(id: Uint8Array, at: number, ip: Uint8Array, ipLen: 4 | 16, now: number): boolean {
    const t = readU32(id, at);
    const age = now - t;
    if (age > CONN_ID_LIFETIME_S || age < -MAX_FUTURE_S) return false;
    return readU32(id, at + 4) === this.#tag(ip, ipLen, t);
  }

  #tag(ip: Uint8Array, ipLen: number, t: number): number {
    const m = this.#msg;
    writeU32(m, 0, t);
    for (let i = 0; i < ipLen; i++) m[4 + i] = ip[i];
    return this.#mac.hash(m, 0, 4 + ipLen).lo;
  }
}
