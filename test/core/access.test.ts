// The access list itself: parsing the file's text, hex <-> key, and the allow/deny decision.
import { describe, expect, test } from "bun:test";
import {
  AccessList,
  findKeyLines,
  hexToKey,
  keyToHex,
  lineKey,
  ListParser,
  ParseReport,
  parseList,
  parseSteps,
} from "../../src/core/access.ts";
import { HashList } from "../../src/core/hash-list.ts";

const A = "0123456789abcdef0123456789abcdef01234567";
const B = "fedcba9876543210fedcba9876543210fedcba98";
const C = "80ff80ff80ff80ff80ff80ff80ff80ff80ff80ff";
const key = (hex: string) => {
  const k = hexToKey(hex);
  if (k === null) throw new Error(`bad test hash ${hex}`);
  return k;
};

describe("hexToKey / keyToHex", () => {
  test("40 hex digits become the 20-byte key the store uses, and back (lowercase)", () => {
    const k = key(C);
    expect(k).toHaveLength(20);
    expect([...k].map((ch) => ch.charCodeAt(0))).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 0x80 : 0xff)),
    );
    expect(keyToHex(k)).toBe(C);
    expect(keyToHex(key(A))).toBe(A);
  });

  test("either case gives the same key", () => {
    expect(key(B.toUpperCase())).toBe(key(B));
    expect(keyToHex(key("ABCDEFabcdef0123456789ABCDEFabcdef012345"))).toBe("abcdefabcdef0123456789abcdefabcdef012345");
  });

  test("anything but exactly 40 hex digits is refused", () => {
    for (const bad of [
      "",
      A.slice(1),
      A + "0",
      A.slice(1) + "g",
      ` ${A}`,
      `${A} `,
      `0x${A.slice(2)}`,
      A.slice(0, 20) + "-" + A.slice(21),
    ]) {
      expect(hexToKey(bad)).toBeNull();
    }
  });
});

describe("parseList", () => {
  test("one hash per line, # comments (whole line or trailing), blank lines, surrounding spaces", () => {
    const text = [
      "# deny list",
      "",
      A,
      `  ${B}  # noisy torrent`,
      "   ",
      "\t# indented comment",
      C.toUpperCase(),
      "",
    ].join("\n");
    const r = parseList(text);
    expect(r.invalid).toEqual([]);
    expect([...r.hashes].map(keyToHex).sort()).toEqual([A, B, C].sort());
  });

  test("CRLF line endings and a last line without a newline", () => {
    const r = parseList(`${A}\r\n# c\r\n${B}`);
    expect(r.invalid).toEqual([]);
    expect(r.hashes.size).toBe(2);
    expect(r.hashes.has(key(B))).toBe(true);
  });

  test("a hash listed twice counts once", () => {
    const r = parseList(`${A}\n${A.toUpperCase()}\n${A} # again\n`);
    expect(r.hashes.size).toBe(1);
    expect(r.invalid).toEqual([]);
  });

  test("invalid lines are reported with their 1-based line number and skipped; the rest still counts", () => {
    const r = parseList([A, "not a hash", "", A.slice(2), `${B} ${C}`, C, "x".repeat(200)].join("\n"));
    expect([...r.hashes].map(keyToHex).sort()).toEqual([A, C].sort());
    expect(r.invalid.map((i) => i.line)).toEqual([2, 4, 5, 7]);
    expect(r.invalid[0].text).toBe("not a hash");
    expect(r.invalid[3].text).toBe("x".repeat(80)); // long junk is shortened for the log
  });

  test("empty text is an empty list", () => {
    expect(parseList("")).toEqual({ hashes: new Set(), invalid: [] });
    expect(parseList("\n\n# only comments\n").hashes.size).toBe(0);
  });
});

describe("lineKey", () => {
  test("the key on a line, or null for comments, blanks and junk", () => {
    expect(lineKey(`${A}  # note`)).toBe(key(A));
    expect(lineKey(`# ${A}`)).toBeNull();
    expect(lineKey("")).toBeNull();
    expect(lineKey("junk")).toBeNull();
  });
});

describe("AccessList", () => {
  const listed = new HashList(3, 4);
  listed.add(key(A));

  test("off: every torrent is served", () => {
    const l = new AccessList("off", listed);
    expect(l.allows(key(A))).toBe(true);
    expect(l.allows(key(B))).toBe(true);
  });

  test("deny: all but the listed torrents", () => {
    const l = new AccessList("deny", listed);
    expect(l.allows(key(A))).toBe(false);
    expect(l.allows(key(B))).toBe(true);
    expect(new AccessList("deny").allows(key(A))).toBe(true);
  });

  test("allow: only the listed torrents; an empty allow list serves nothing", () => {
    const l = new AccessList("allow", listed);
    expect(l.allows(key(A))).toBe(true);
    expect(l.allows(key(B))).toBe(false);
    expect(new AccessList("allow").allows(key(A))).toBe(false);
  });
});

describe("HashList", () => {
  /** `count` pseudo-random keys (a fixed LCG, so a failure repeats). */
  function keys(count: number): string[] {
    let x = 12345;
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      let s = "";
      for (let j = 0; j < 20; j++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        s += String.fromCharCode(x >>> 24);
      }
      out.push(s);
    }
    return out;
  }
  const inOrder = (l: HashList) => Array.from({ length: l.size }, (_, i) => l.keyAt(i));
  const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0); // latin1 chars compare as bytes

  test("a load parsed from bytes is listed in byte order; single edits keep that order", () => {
    const all = keys(20_000);
    const l = new HashList(7, 8, all.length);
    const text = all.map((k) => `${keyToHex(k)}\n`).join("") + `${keyToHex(all[5]).toUpperCase()}\n`; // a duplicate
    const report = new ParseReport();
    const parse = parseSteps(new TextEncoder().encode(text), l, report);
    while (!parse.next().done);
    const sort = l.sortSteps();
    while (!sort.next().done);
    expect(l.size).toBe(all.length);
    expect(inOrder(l)).toEqual([...all].sort(byteOrder));
    expect(report.invalidCount).toBe(0);

    const extra = keys(20_100).slice(20_000);
    for (const k of extra) expect(l.add(k)).toBe(true);
    expect(l.add(extra[0])).toBe(false);
    for (const k of all.slice(0, 300)) expect(l.delete(k)).toBe(true);
    expect(l.delete(all[0])).toBe(false);
    expect(l.has(all[0])).toBe(false);
    expect(l.has(all[400])).toBe(true);
    expect(inOrder(l)).toEqual([...all.slice(300), ...extra].sort(byteOrder));
  });
});

describe("ParseReport", () => {
  test("counts every invalid line but keeps only the first five (binary junk does not flood the log)", () => {
    const junk = Array.from({ length: 1000 }, (_, i) => `junk ${i}`);
    const l = new HashList(1, 2);
    const report = new ParseReport();
    const parse = parseSteps(new TextEncoder().encode([A, ...junk, B].join("\n")), l, report);
    while (!parse.next().done);
    expect(report.invalidCount).toBe(1000);
    expect(report.invalid.map((i) => [i.line, i.text])).toEqual(junk.slice(0, 5).map((t, i) => [i + 2, t]));
    expect(l.size).toBe(2);
  });
});

describe("findKeyLines", () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  test("finds every line holding the hash, in either case, with its newline; not in comments", () => {
    const text = `# ${A}\n${A}\n${B}\n  ${A.toUpperCase()}  # again\n${A}`;
    const found = findKeyLines(bytes(text), key(A), { mixedCase: false, upperCase: true });
    expect(found.map(([s, e]) => text.slice(s, e))).toEqual([`${A}\n`, `  ${A.toUpperCase()}  # again\n`, A]);
  });

  test("mixed-case lines are found when the parse said they exist", () => {
    const mixed = A.slice(0, 20) + A.slice(20).toUpperCase();
    const text = `${B}\n${mixed}\n`;
    expect(
      findKeyLines(bytes(text), key(A), { mixedCase: true, upperCase: false }).map(([s, e]) => text.slice(s, e)),
    ).toEqual([`${mixed}\n`]);
  });
});

describe("ListParser (the file a chunk of lines at a time)", () => {
  test("line numbers run on across chunks; a cut over-long line is judged by its start, its rest skipped", () => {
    const l = new HashList(1, 2);
    const report = new ParseReport();
    const p = new ListParser(l, report);
    const run = (text: string, continued = false) => {
      const steps = p.steps(new TextEncoder().encode(text), continued);
      while (!steps.next().done);
    };
    run(`${A}\njunk\n`);
    run(`${B} # a comment cut by the reader's buffer: xxxx`); // no newline: cut
    run(`xxxx still the comment\n${C}\nmore junk`, true);
    expect(l.size).toBe(3);
    expect(report.invalidCount).toBe(2);
    expect(report.invalid.map((i) => [i.line, i.text])).toEqual([
      [2, "junk"],
      [5, "more junk"],
    ]);
  });
});
