import { describe, expect, test } from "bun:test";
import { formatIp, parseIp } from "../../src/codec/ip.ts";

function parse(text: string): string | null {
  const out = new Uint8Array(16);
  const n = parseIp(text, out);
  return n === 0 ? null : formatIp(out, 0, n);
}

describe("parseIp", () => {
  test("IPv4", () => {
    expect(parse("127.0.0.1")).toBe("127.0.0.1");
    expect(parse("255.255.255.255")).toBe("255.255.255.255");
  });
  test("IPv4-mapped IPv6 (what a dual-stack socket reports) becomes IPv4", () => {
    expect(parse("::ffff:1.2.3.4")).toBe("1.2.3.4");
    expect(parse("::ffff:0102:0304")).toBe("1.2.3.4");
    expect(parse("0:0:0:0:0:ffff:1.2.3.4")).toBe("1.2.3.4");
  });
  test("IPv6 forms, with scope ids ignored", () => {
    expect(parse("::1")).toBe("::1");
    expect(parse("::")).toBe("::");
    expect(parse("2001:db8::1")).toBe("2001:db8::1");
    expect(parse("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(parse("fe80::1%eth0")).toBe("fe80::1");
    expect(parse("1:2:3:4:5:6:7:8")).toBe("1:2:3:4:5:6:7:8");
    expect(parse("64:ff9b::192.0.2.33")).toBe("64:ff9b::c000:221");
  });
  test("rejects what is not an address", () => {
    for (const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "a.b.c.d",
      ":::",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "::ffff:1.2.3",
      "1:",
      "localhost",
    ]) {
      expect(parse(bad)).toBeNull();
    }
  });
});
