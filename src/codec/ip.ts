// Textual IP addresses <-> raw bytes. Sockets report addresses as strings; the store and the wire want bytes.
// IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports for IPv4 clients) becomes plain IPv4 here,
// so every later decision (peer family, response stride, connection id) sees one canonical form.

/**
 * Parses `text` into `out` (at least 16 bytes). Returns 4 or 16 (bytes written), or 0 if it is not an address.
 * A `%scope` suffix is ignored; `::ffff:a.b.c.d` and its hex form `::ffff:7f00:1` come back as 4 bytes.
 */
export function parseIp(text: string, out: Uint8Array): 0 | 4 | 16 {
  let end = text.indexOf("%");
  if (end < 0) end = text.length;
  if (text.indexOf(":") < 0) return parseIpv4(text, 0, end, out, 0) ? 4 : 0;
  // Fast path for the common case on a dual-stack socket: an IPv4 client reported as ::ffff:a.b.c.d.
  if (text.startsWith("::ffff:") && text.indexOf(".", 7) > 0) return parseIpv4(text, 7, end, out, 0) ? 4 : 0;
  if (!parseIpv6(text, end, out)) return 0;
  if (isV4Mapped(out)) {
    out.copyWithin(0, 12, 16);
    return 4;
  }
  return 16;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function parseIpv4(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 /* '.' */ : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros: "010" is octal to some parsers and ambiguous to people.
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 48);
      if (value > 255) return false;
      digits++;
    } else return false;
  }
  return part === 4;
}

const groups = new Uint16Array(8); // scratch, reused: parsing is synchronous
const tail = new Uint8Array(4);

function parseIpv6(s: string, end: number, out: Uint8Array): boolean {
  let n = 0;
  let gap = -1; // group index where "::" stands
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) {
      out.fill(0, 0, 16);
      return true;
    }
  }
  while (i < end) {
    let j = i;
    let value = 0;
    while (j < end && j - i < 5) {
      const c = s.charCodeAt(j);
      const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (h < 0) break;
      value = (value << 4) | h;
      j++;
    }
    const c = j < end ? s.charCodeAt(j) : -1;
    if (c === 46) {
      // Dotted IPv4 tail, e.g. ::ffff:1.2.3.4
      if (n > 6) return false;
      if (!parseIpv4(s, i, end, tail, 0)) return false;
      groups[n++] = (tail[0] << 8) | tail[1];
      groups[n++] = (tail[2] << 8) | tail[3];
      i = end;
      break;
    }
    if (j === i || j - i > 4 || n >= 8) return false;
    groups[n++] = value;
    if (j === end) {
      i = end;
      break;
    }
    if (c !== 58) return false;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let g = 0, src = 0; g < 8; g++) {
    const v = gap >= 0 && g >= gap && g < gap + zeros ? 0 : groups[src++];
    out[g * 2] = v >> 8;
    out[g * 2 + 1] = v & 0xff;
  }
  return true;
}

/** Formats 4 or 16 raw bytes (from `off`) as text; IPv6 uses the RFC 5952 short form. */
export function formatIp(b: Uint8Array, off: number, len: 4 | 16): string {
  if (len === 4) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + i * 2] << 8) | b[off + i * 2 + 1]);
  // Longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(":");
  const head = g
    .slice(0, bestStart)
    .map((x) => x.toString(16))
    .join(":");
  const tail = g
    .slice(bestStart + bestLen)
    .map((x) => x.toString(16))
    .join(":");
  return `${head}::${tail}`;
}
