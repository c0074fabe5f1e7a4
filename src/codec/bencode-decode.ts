// A strict bencode reader for replies (tests, load generators, tools). Byte strings come back as latin1 JS
// strings so binary values (info hashes, compact peers) survive; use `latin1Bytes` to get the bytes back.

export type BValue = number | string | BValue[] | { [key: string]: BValue };

export function decodeBencode(data: Uint8Array): BValue {
  const r = { pos: 0 };
  const value = readValue(data, r);
  if (r.pos !== data.length) throw new Error(`trailing bytes at ${r.pos}`);
  return value;
}

export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function readValue(d: Uint8Array, r: { pos: number }): BValue {
  const c = d[r.pos];
  if (c === 0x69) {
    const end = d.indexOf(0x65, r.pos);
    if (end < 0) throw new Error("unterminated integer");
    const text = latin1(d, r.pos + 1, end);
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw new Error(`bad integer ${text}`);
    r.pos = end + 1;
    return Number(text);
  }
  if (c === 0x6c) {
    r.pos++;
    const items: BValue[] = [];
    while (d[r.pos] !== 0x65) {
      if (r.pos >= d.length) throw new Error("unterminated list");
      items.push(readValue(d, r));
    }
    r.pos++;
    return items;
  }
  if (c === 0x64) {
    r.pos++;
    const dict: { [key: string]: BValue } = {};
    let last: string | null = null;
    while (d[r.pos] !== 0x65) {
      if (r.pos >= d.length) throw new Error("unterminated dictionary");
      const key = readString(d, r);
      if (last !== null && key <= last) throw new Error(`keys not sorted or repeated: ${JSON.stringify(key)}`);
      last = key;
      dict[key] = readValue(d, r);
    }
    r.pos++;
    return dict;
  }
  return readString(d, r);
}

function readString(d: Uint8Array, r: { pos: number }): string {
  const colon = d.indexOf(0x3a, r.pos);
  if (colon < 0) throw new Error("bad string length");
  const lenText = latin1(d, r.pos, colon);
  if (!/^(0|[1-9][0-9]*)$/.test(lenText)) throw new Error(`bad string length ${lenText}`);
  const len = Number(lenText);
  const start = colon + 1;
  if (start + len > d.length) throw new Error("string past end");
  r.pos = start + len;
  return latin1(d, start, start + len);
}

function latin1(d: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(d[i]);
  return s;
}
