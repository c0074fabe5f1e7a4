// Which torrents this tracker serves: everything (off), everything but a deny list, or only an allow list.
// Pure: the list arrives as bytes, parsed here a slice at a time into a HashList; the server reads, watches
// and writes the file.

import { HashList } from "./hash-list.ts";

export type AccessMode = "off" | "deny" | "allow";

/** What a parse found besides hashes: invalid lines (a count and the first few) and how hashes were written. */
export class ParseReport {
  /** Lines that are neither a 40-hex info hash, a comment nor blank. */
  invalidCount = 0;
  /** The first MAX_SAMPLES of them (1-based line numbers, text cut to 80 characters). */
  readonly invalid: { line: number; text: string }[] = [];
  /** Whether some hash was written in upper case, or in mixed case (neither all lower nor all upper): see findKeyLines. */
  upperCase = false;
  mixedCase = false;
}

const MAX_SAMPLES = 5;
/** Lines between yields of parseSteps. */
const LINES_PER_STEP = 1024;
const NL = 10;
const HASH = 35; // '#'

/**
 * One 40-hex info hash per line; `#` starts a comment (whole line or after the hash); blank lines are fine;
 * CRLF too. Takes the file a chunk of whole lines at a time (so no copy of a big file is ever held), adds every
 * hash to `into` (unsorted: run its sortSteps after) and reports the rest to `report`.
 */
export class ListParser {
  readonly #into: HashList;
  readonly #report: ParseReport;
  readonly #key = new Uint8Array(20);
  #line = 0;

  constructor(into: HashList, report: ParseReport) {
    this.#into = into;
    this.#report = report;
  }

  /**
   * Parses `chunk`: whole lines, but the last one may lack its newline (the end of the file, or a line longer
   * than the reader's buffer, cut). `continued`: the chunk starts with the rest of such a cut line, which was
   * judged by its start already and is skipped. Yields every few thousand lines.
   */
  *steps(chunk: Uint8Array, continued = false): Generator<void, void> {
    const report = this.#report;
    const key = this.#key;
    let start = 0;
    if (continued) {
      const nl = chunk.indexOf(NL);
      start = nl < 0 ? chunk.length : nl + 1;
    }
    while (start < chunk.length) {
      let end = chunk.indexOf(NL, start);
      if (end < 0) end = chunk.length;
      const line = ++this.#line;
      const r = keyBytes(chunk, start, end, key);
      if (r === BAD) {
        report.invalidCount++;
        if (report.invalid.length < MAX_SAMPLES) {
          report.invalid.push({
            line,
            text: new TextDecoder().decode(chunk.subarray(start, Math.min(end, start + 80))).replace(/\r$/, ""),
          });
        }
      } else if (r !== BLANK) {
        this.#into.addUnsorted(key, 0);
        if (r === MIXED) report.mixedCase = true;
        else if (r === UPPER) report.upperCase = true;
      }
      start = end + 1;
      if (line % LINES_PER_STEP === 0) yield;
    }
  }
}

/** A whole file's bytes at once (tests, small lists). */
export function parseSteps(bytes: Uint8Array, into: HashList, report: ParseReport): Generator<void, void> {
  return new ListParser(into, report).steps(bytes);
}

const BLANK = 0; // blank or comment only
const BAD = 1;
const LOWER = 2; // a hash, hex digits all lower case (or digits only)
const UPPER = 3;
const MIXED = 4;

/** Reads the line b[start, end) into `out` (20 bytes) if it holds a hash; says what the line held. */
function keyBytes(b: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let e = start;
  while (e < end && b[e] !== HASH) e++;
  while (start < e && isSpace(b[start])) start++;
  while (e > start && isSpace(b[e - 1])) e--;
  if (e === start) return BLANK;
  if (e - start !== 40) return BAD;
  let lower = false;
  let upper = false;
  for (let i = 0; i < 20; i++) {
    const hi = hexValue(b[start + 2 * i]);
    const lo = hexValue(b[start + 2 * i + 1]);
    if (hi < 0 || lo < 0) return BAD;
    out[i] = ((hi & 15) << 4) | (lo & 15);
    if ((hi | lo) & 16) lower = true;
    if ((hi | lo) & 32) upper = true;
  }
  return lower && upper ? MIXED : upper ? UPPER : LOWER;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** A hex digit's value, plus 16 for a lower-case letter or 32 for an upper-case one; -1 for anything else. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87 + 16;
  if (c >= 65 && c <= 70) return c - 55 + 32;
  return -1;
}

/**
 * The lines of `bytes` that hold `key`, as [start, end) ranges including their newline. Without mixed-case
 * lines (see ParseReport) the native substring search finds the candidates (lower case, and upper case if the
 * file has any), so a 40 MB list is searched in milliseconds; otherwise every line is read.
 */
export function findKeyLines(
  bytes: Uint8Array,
  key: string,
  cases: { mixedCase: boolean; upperCase: boolean },
): [number, number][] {
  const mixedCase = cases.mixedCase;
  const found: [number, number][] = [];
  const out = new Uint8Array(20);
  const keyHere = (start: number, end: number): boolean => {
    if (keyBytes(bytes, start, end, out) < LOWER) return false;
    for (let i = 0; i < 20; i++) if (out[i] !== key.charCodeAt(i)) return false;
    return true;
  };
  const lineEnd = (from: number) => {
    const e = bytes.indexOf(NL, from);
    return e < 0 ? bytes.length : e;
  };
  if (mixedCase) {
    for (let start = 0; start < bytes.length; ) {
      const end = lineEnd(start);
      if (keyHere(start, end)) found.push([start, Math.min(end + 1, bytes.length)]);
      start = end + 1;
    }
    return found;
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = keyToHex(key);
  for (const needle of cases.upperCase && /[a-f]/.test(hex) ? [hex, hex.toUpperCase()] : [hex]) {
    for (let at = buf.indexOf(needle, 0, "latin1"); at >= 0; ) {
      const start = at === 0 ? 0 : bytes.lastIndexOf(NL, at - 1) + 1;
      const end = lineEnd(at);
      if (keyHere(start, end)) found.push([start, Math.min(end + 1, bytes.length)]);
      at = end + 1 >= bytes.length ? -1 : buf.indexOf(needle, end + 1, "latin1");
    }
  }
  return found.sort((a, b) => a[0] - b[0]);
}

/** Parses a whole list at once (tests, small lists): its hashes as keys, and its invalid lines. */
export function parseList(text: string): { hashes: Set<string>; invalid: { line: number; text: string }[] } {
  const list = new HashList(1, 2);
  const report = new ParseReport();
  const steps = parseSteps(new TextEncoder().encode(text), list, report);
  while (!steps.next().done);
  const sorting = list.sortSteps();
  while (!sorting.next().done);
  const hashes = new Set<string>();
  for (let i = 0; i < list.size; i++) hashes.add(list.keyAt(i));
  return { hashes, invalid: report.invalid };
}

/** The hash a list line holds (as a key), or null for comments, blanks and junk. */
export function lineKey(line: string): string | null {
  const b = new TextEncoder().encode(line);
  const out = new Uint8Array(20);
  return keyBytes(b, 0, b.length, out) < LOWER ? null : String.fromCharCode(...out);
}

/** 40 hex digits (either case) -> 20-char latin1 key, or null. */
export function hexToKey(hex: string): string | null {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) return null;
  let s = "";
  for (let i = 0; i < 40; i += 2) s += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return s;
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function keyToHex(key: string): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += HEX_PAIRS[key.charCodeAt(i)];
  return s;
}

/**
 * What every front end asks of the access list: whether it serves a torrent, by info hash string or by the
 * 20 bytes at b[off] (UDP packets, no string made). Front ends take `Access | null`, null meaning no list.
 */
export interface Access {
  allows(infoHash: string): boolean;
  allowsBytes(b: Uint8Array, off: number): boolean;
}

/** The decision the front ends ask for on every announce and scrape: one table lookup. */
export class AccessList implements Access {
  constructor(
    readonly mode: AccessMode,
    readonly hashes: HashList = new HashList(1, 2),
  ) {}

  allows(infoHash: string): boolean {
    if (this.mode === "off") return true;
    return this.hashes.has(infoHash) === (this.mode === "allow");
  }

  /** The same for the info hash at b[off, off + 20) (UDP packets), without making a string. */
  allowsBytes(b: Uint8Array, off: number): boolean {
    if (this.mode === "off") return true;
    return this.hashes.hasBytes(b, off) === (this.mode === "allow");
  }
}
