// The access list itself: parsing the file's text, hex <-> key, and the allow/deny decision.
import { describe, expect, test } from "bun:test";
import { AccessList, hexToKey, keyToHex, lineKey, parseList } from "../../src/core/access.ts";

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
    expect([...k].map((ch) => ch.charCodeAt(0))).toEqual(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 0x80 : 0xff)));
    expect(keyToHex(k)).toBe(C);
    expect(keyToHex(key(A))).toBe(A);
  });

  test("either case gives the same key", () => {
    expect(key(B.toUpperCase())).toBe(key(B));
    expect(keyToHex(key("ABCDEFabcdef0123456789ABCDEFabcdef012345"))).toBe("abcdefabcdef0123456789abcdefabcdef012345");
  });

  test("anything but exactly 40 hex digits is refused", () => {
    for (const bad of ["", A.slice(1), A + "0", A.slice(1) + "g", ` ${A}`, `${A} `, `0x${A.slice(2)}`, A.slice(0, 20) + "-" + A.slice(21)]) {
      expect(hexToKey(bad)).toBeNull();
    }
  });
});

describe("parseList", () => {
  test("one hash per line, # comments (whole line or trailing), blank lines, surrounding spaces", () => {
    const text = ["# deny list", "", A, `  ${B}  # noisy torrent`, "   ", "\t# indented comment", C.toUpperCase(), ""].join("\n");
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
  const listed = new Set([key(A)]);

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
