// Which address an HTTP request comes from. The socket's peer address, unless that peer is a trusted reverse
// proxy (--trust-proxy): then X-Forwarded-For (its rightmost address that is not itself a trusted proxy, since
// each proxy appends what it saw and anything further left was written by the client), else X-Real-IP, else
// CF-Connecting-IP. Headers from anyone else are ignored: they are whatever the client wants them to be.

import { parseIp } from "../codec/ip.ts";
import type { CidrSet } from "../core/cidr.ts";

const scratch = new Uint8Array(16);

export interface ClientAddress {
  len: 0 | 4 | 16;
}

// One result object, refilled per call: resolving runs on every announce and must not allocate.
const result: ClientAddress = { len: 0 };

function answer(len: 0 | 4 | 16): ClientAddress {
  result.len = len;
  return result;
}

/**
 * Writes the client's address into out (16 bytes) and returns its length (0: no usable address). The returned
 * object is reused by the next call: read it at once.
 */
export function resolveClientAddress(
  socketAddress: string,
  req: { readonly headers: { get(name: string): string | null } },
  proxies: CidrSet | null,
  out: Uint8Array,
): ClientAddress {
  const len = parseIp(socketAddress, out);
  if (len === 0 || proxies === null || !proxies.has(out, len)) return answer(len);
  // Headers are only looked at (and built, in Bun) for requests from a trusted proxy.
  const headers = req.headers;
  const fromXff = forwardedFor(headers.get("x-forwarded-for"), proxies, out);
  if (fromXff !== 0) return answer(fromXff);
  for (const name of ["x-real-ip", "cf-connecting-ip"]) {
    const v = headers.get(name);
    const n = v === null ? 0 : parseHostOnly(v.trim(), scratch);
    if (n !== 0) {
      out.set(scratch.subarray(0, n));
      return answer(n);
    }
  }
  return answer(parseIp(socketAddress, out)); // out may hold a rejected hop: restore it
}

/**
 * The rightmost untrusted X-Forwarded-For address (the leftmost if all are trusted proxies). 0 when the header
 * is absent or a hop cannot be read: a broken chain is not evidence of anything.
 */
function forwardedFor(value: string | null, proxies: CidrSet, out: Uint8Array): 0 | 4 | 16 {
  if (value === null) return 0;
  const parts = value.split(",");
  let found: 0 | 4 | 16 = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    const n = parseHostOnly(parts[i].trim(), scratch);
    if (n === 0) return 0;
    found = n;
    out.set(scratch.subarray(0, n));
    if (!proxies.has(scratch, n)) break;
  }
  return found;
}

/** An address, also in the forms proxies write with a port: "1.2.3.4:5678" and "[2001:db8::1]:5678". */
function parseHostOnly(text: string, out: Uint8Array): 0 | 4 | 16 {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    return close < 0 ? 0 : parseIp(text.slice(1, close), out);
  }
  const colon = text.indexOf(":");
  if (colon > 0 && colon === text.lastIndexOf(":")) return parseIp(text.slice(0, colon), out);
  return parseIp(text, out);
}
