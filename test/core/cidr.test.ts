// CidrSet: the trusted-proxy networks, matched against the raw address bytes the server works with.
import { describe, expect, test } from "bun:test";
import { parseIp } from "../../src/codec/ip.ts";
import { CidrSet } from "../../src/core/cidr.ts";

function set(text: string): CidrSet {
  const s = CidrSet.parse(text);
  if (typeof s === "string") throw new Error(`unexpected parse error: ${s}`);
  return s;
}

function parseError(text: string): string {
  const s = CidrSet.parse(text);
  if (typeof s !== "string") throw new Error(`expected "${text}" to be rejected`);
  return s;
}

/** Whether the textual address lies in the set, as the server asks it (canonical bytes from parseIp). */
function has(s: CidrSet, address: string): boolean {
  const b = new Uint8Array(16);
  const len = parseIp(address, b);
  if (len === 0) throw new Error(`bad test address ${address}`);
  return s.has(b, len);
}

describe("CidrSet prefixes", () => {
  test("/0 matches every address of its own family", () => {
    const v4 = set("0.0.0.0/0");
    for (const a of ["0.0.0.0", "127.0.0.1", "203.0.113.7", "255.255.255.255"]) expect(has(v4, a)).toBe(true);
    const v6 = set("::/0");
    for (const a of ["::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"])
      expect(has(v6, a)).toBe(true);
  });

  test("/7 splits inside the first byte", () => {
    const v4 = set("254.0.0.0/7"); // 1111111x
    expect(has(v4, "254.0.0.0")).toBe(true);
    expect(has(v4, "255.255.255.255")).toBe(true);
    expect(has(v4, "253.255.255.255")).toBe(false);
    const v6 = set("fc00::/7"); // unique local addresses: fc00::/8 and fd00::/8
    expect(has(v6, "fc00::1")).toBe(true);
    expect(has(v6, "fdff:ffff::1")).toBe(true);
    expect(has(v6, "fe80::1")).toBe(false);
    expect(has(v6, "fbff:ffff::1")).toBe(false);
  });

  test("/8 on a byte boundary", () => {
    const s = set("10.0.0.0/8");
    expect(has(s, "10.0.0.0")).toBe(true);
    expect(has(s, "10.255.255.255")).toBe(true);
    expect(has(s, "9.255.255.255")).toBe(false);
    expect(has(s, "11.0.0.0")).toBe(false);
  });

  test("/32: one IPv4 host, or an IPv6 network", () => {
    const host = set("192.0.2.10/32");
    expect(has(host, "192.0.2.10")).toBe(true);
    expect(has(host, "192.0.2.11")).toBe(false);
    expect(has(host, "192.0.2.9")).toBe(false);
    const net = set("2001:db8::/32");
    expect(has(net, "2001:db8:ffff:ffff::1")).toBe(true);
    expect(has(net, "2001:db9::")).toBe(false);
    expect(has(net, "2001:db7:ffff::")).toBe(false);
  });

  test("/64 and /128", () => {
    const net = set("2001:db8:1:2::/64");
    expect(has(net, "2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe(true);
    expect(has(net, "2001:db8:1:3::")).toBe(false);
    expect(has(net, "2001:db8:1:1:ffff:ffff:ffff:ffff")).toBe(false);
    const host = set("::1/128");
    expect(has(host, "::1")).toBe(true);
    expect(has(host, "::2")).toBe(false);
    expect(has(host, "::")).toBe(false);
  });

  test("an odd prefix in the middle of an address (/20, /113)", () => {
    const v4 = set("172.16.0.0/12"); // 172.16.0.0 - 172.31.255.255
    expect(has(v4, "172.31.255.255")).toBe(true);
    expect(has(v4, "172.32.0.0")).toBe(false);
    expect(has(v4, "172.15.255.255")).toBe(false);
    const v6 = set("2001:db8::8000/113");
    expect(has(v6, "2001:db8::ffff")).toBe(true);
    expect(has(v6, "2001:db8::7fff")).toBe(false);
  });

  test("an address without a prefix is a single host", () => {
    const s = set("127.0.0.1, ::1");
    expect(has(s, "127.0.0.1")).toBe(true);
    expect(has(s, "127.0.0.2")).toBe(false);
    expect(has(s, "::1")).toBe(true);
    expect(has(s, "::2")).toBe(false);
  });

  test("host bits set in the network address do not matter", () => {
    const s = set("10.1.2.3/8");
    expect(has(s, "10.200.0.1")).toBe(true);
    expect(has(s, "11.1.2.3")).toBe(false);
  });

  test("several networks: any one matching is enough", () => {
    const s = set("10.0.0.0/8,192.168.0.0/16 , 2001:db8::/32");
    expect(s.size).toBe(3);
    expect(s.text).toEqual(["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]);
    expect(has(s, "10.9.9.9")).toBe(true);
    expect(has(s, "192.168.7.7")).toBe(true);
    expect(has(s, "2001:db8::5")).toBe(true);
    expect(has(s, "172.16.0.1")).toBe(false);
    expect(has(s, "2001:db9::5")).toBe(false);
  });
});

describe("CidrSet families", () => {
  test("IPv4 networks never match IPv6 addresses, and the other way round", () => {
    const v4 = set("0.0.0.0/0");
    expect(has(v4, "::")).toBe(false);
    expect(has(v4, "::1")).toBe(false);
    expect(has(v4, "2001:db8::1")).toBe(false);
    const v6 = set("::/0");
    expect(has(v6, "0.0.0.0")).toBe(false);
    expect(has(v6, "127.0.0.1")).toBe(false);
    // Same leading bytes, different family: 10.0.0.0/8 is not 0a00::/8.
    expect(has(set("10.0.0.0/8"), "a00::1")).toBe(false);
    expect(has(set("a00::/8"), "10.0.0.1")).toBe(false);
  });

  test("an IPv4 client seen on a dual-stack socket (::ffff:a.b.c.d) is the IPv4 address", () => {
    expect(has(set("127.0.0.1"), "::ffff:127.0.0.1")).toBe(true);
    expect(has(set("::ffff:127.0.0.1"), "127.0.0.1")).toBe(true);
    expect(has(set("10.0.0.0/8"), "::ffff:a01:203")).toBe(true);
  });
});

describe("CidrSet bad input", () => {
  test("names the item and what is wrong with it", () => {
    expect(parseError("10.0.0.0/33")).toBe('"10.0.0.0/33" has a bad prefix length (0-32)');
    expect(parseError("::1/129")).toBe('"::1/129" has a bad prefix length (0-128)');
    expect(parseError("proxy.example")).toBe('"proxy.example" is not an IP address or CIDR network');
    expect(parseError("10.0.0.0/8, 300.1.1.1")).toBe('"300.1.1.1" is not an IP address or CIDR network');
  });

  test("rejects broken prefixes and addresses", () => {
    for (const bad of ["10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/x", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/1000"]) {
      expect(parseError(bad)).toContain("bad prefix length");
    }
    for (const bad of ["/8", "10.0.0/8", "10.0.0.0.0", "2001:db8:::1/64", "[::1]/128", "10.0.0.0 /8"]) {
      expect(parseError(bad)).toContain("is not an IP address or CIDR network");
    }
  });

  test("blank items are skipped; an empty list is an empty set", () => {
    expect(set("").size).toBe(0);
    expect(set(" , ,").size).toBe(0);
    expect(set("127.0.0.1,,").size).toBe(1);
  });
});
