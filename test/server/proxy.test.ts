// Client addresses behind reverse proxies (--trust-proxy). The address the tracker settled on is observed
// twice, as a user would: in the announce reply's BEP 24 `external ip`, and in the compact peer list that
// the next peer of the same torrent receives.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { latin1Bytes } from "../../src/codec/bencode-decode.ts";
import { formatIp } from "../../src/codec/ip.ts";
import { parseArgs } from "../../src/config/parse-args.ts";
import { announceQuery, getBencode, sha1, urlHost } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker } from "../helpers/tracker-process.ts";
import { announcePacket, parseAnnounceReply, UdpClient } from "../helpers/udp-client.ts";

const FIRST_PORT = 1111;
type Hdrs = Record<string, string> | Headers;
const id = (n: number) => new TextEncoder().encode(`-qB4650-${String(n).padStart(12, "0")}`);

/** "a.b.c.d:port" / "[v6]:port" for each peer of a compact `peers` (6-byte) or `peers6` (18-byte) string. */
function decodePeers(value: unknown, len: 4 | 16): string[] {
  const b = latin1Bytes(value as string);
  const out: string[] = [];
  for (let o = 0; o < b.length; o += len + 2) {
    const ip = formatIp(b, o, len);
    out.push(`${len === 16 ? `[${ip}]` : ip}:${(b[o + len] << 8) | b[o + len + 1]}`);
  }
  return out;
}

let torrentCount = 0;

/**
 * Announces as peer 1 (port 1111) with `headers` and `extra` query text from `host` (the socket address the
 * tracker sees), then as peer 2 without any; returns the address peer 1 was given and what peer 2 was told.
 */
async function observe(
  port: number,
  host: "127.0.0.1" | "::1",
  headers: Hdrs = {},
  extra = "",
): Promise<{ external: string; peers: string[] }> {
  const infoHash = sha1(`proxy ${++torrentCount}`);
  const url = (q: string) => `http://${urlHost(host, port)}/announce?${q}`;
  const first = await getBencode(url(announceQuery({ infoHash, port: FIRST_PORT, peerId: id(1), left: 1, extra })), {
    headers,
  });
  expect(first.body["failure reason"]).toBeUndefined();
  const ext = latin1Bytes(first.body["external ip"] as string);
  expect([4, 16]).toContain(ext.length);
  const second = await getBencode(url(announceQuery({ infoHash, port: 2222, peerId: id(2), left: 1 })));
  expect(second.body["failure reason"]).toBeUndefined();
  return {
    external: formatIp(ext, 0, ext.length as 4 | 16),
    peers: [...decodePeers(second.body.peers, 4), ...decodePeers(second.body.peers6, 16)],
  };
}

/** What observe() returns for a peer seen at `address`. */
function seenAt(address: string) {
  return {
    external: address,
    peers: [address.includes(":") ? `[${address}]:${FIRST_PORT}` : `${address}:${FIRST_PORT}`],
  };
}

const trackers: TestTracker[] = [];
async function tracker(args: string[]): Promise<TestTracker> {
  const t = await startTestTracker(["--udp-listen", "off", ...args]);
  trackers.push(t);
  return t;
}
afterAll(async () => {
  for (const t of trackers) await t.stop();
});

describe("IPv4: a request from a trusted proxy", () => {
  let port: number;
  const at = (headers: Hdrs, extra = "") => observe(port, "127.0.0.1", headers, extra);

  beforeAll(async () => {
    // The proxy itself is 127.0.0.1; 10.0.0.0/8 stands for further proxy hops in front of it.
    port = (await tracker(["--listen", "127.0.0.1:0", "--trust-proxy", "127.0.0.1/32,10.0.0.0/8"])).httpPort;
  });

  test("without forwarding headers: the proxy's own address", async () => {
    expect(await at({})).toEqual(seenAt("127.0.0.1"));
  });

  test("X-Forwarded-For names the client", async () => {
    expect(await at({ "x-forwarded-for": "203.0.113.7" })).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-forwarded-for": " 203.0.113.7 " })).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-forwarded-for": "203.0.113.7:5555" })).toEqual(seenAt("203.0.113.7"));
  });

  test("entries a client wrote itself (to the left) are ignored: the rightmost untrusted address wins", async () => {
    expect(await at({ "x-forwarded-for": "6.6.6.6, 203.0.113.7" })).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-forwarded-for": "1.1.1.1,6.6.6.6,203.0.113.7,10.0.0.5" })).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.9.9.9, 10.0.0.5" })).toEqual(seenAt("203.0.113.7"));
    // Two header lines are one list, in order.
    const twoLines = new Headers([
      ["x-forwarded-for", "6.6.6.6"],
      ["x-forwarded-for", "203.0.113.8"],
    ]);
    expect(await at(twoLines)).toEqual(seenAt("203.0.113.8"));
  });

  test("a chain of trusted proxies only: the leftmost entry", async () => {
    expect(await at({ "x-forwarded-for": "10.0.0.1, 10.0.0.2" })).toEqual(seenAt("10.0.0.1"));
    expect(await at({ "x-forwarded-for": "127.0.0.1" })).toEqual(seenAt("127.0.0.1"));
  });

  test("a junk entry where the client should be: X-Real-IP, else the socket address", async () => {
    expect(await at({ "x-forwarded-for": "203.0.113.7, garbage", "x-real-ip": "198.51.100.2" })).toEqual(
      seenAt("198.51.100.2"),
    );
    expect(await at({ "x-forwarded-for": "203.0.113.7, 10.0.0.1, unknown" })).toEqual(seenAt("127.0.0.1"));
    expect(await at({ "x-forwarded-for": "garbage" })).toEqual(seenAt("127.0.0.1"));
    expect(await at({ "x-forwarded-for": "", "cf-connecting-ip": "192.0.2.44" })).toEqual(seenAt("192.0.2.44"));
    expect(await at({ "x-forwarded-for": "203.0.113.7,,10.0.0.1", "x-real-ip": "198.51.100.2" })).toEqual(
      seenAt("198.51.100.2"),
    );
    // Junk further left than the answer is the client's own writing, and does not matter.
    expect(await at({ "x-forwarded-for": "garbage, 203.0.113.7" })).toEqual(seenAt("203.0.113.7"));
  });

  test("X-Real-IP and CF-Connecting-IP, in that order after X-Forwarded-For", async () => {
    expect(await at({ "x-real-ip": "198.51.100.2" })).toEqual(seenAt("198.51.100.2"));
    expect(await at({ "cf-connecting-ip": "192.0.2.44" })).toEqual(seenAt("192.0.2.44"));
    expect(await at({ "x-real-ip": "198.51.100.2", "cf-connecting-ip": "192.0.2.44" })).toEqual(seenAt("198.51.100.2"));
    expect(
      await at({ "x-forwarded-for": "203.0.113.7", "x-real-ip": "198.51.100.2", "cf-connecting-ip": "192.0.2.44" }),
    ).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-real-ip": "not an address", "cf-connecting-ip": "192.0.2.44" })).toEqual(seenAt("192.0.2.44"));
    expect(await at({ "x-real-ip": "not an address" })).toEqual(seenAt("127.0.0.1"));
  });

  test("an IPv6 client behind an IPv4 proxy is an IPv6 peer", async () => {
    expect(await at({ "x-forwarded-for": "2001:db8::7" })).toEqual(seenAt("2001:db8::7"));
    expect(await at({ "x-forwarded-for": "[2001:db8::8]:443" })).toEqual(seenAt("2001:db8::8"));
    // The IPv4-mapped form is the IPv4 client.
    expect(await at({ "x-forwarded-for": "::ffff:203.0.113.9" })).toEqual(seenAt("203.0.113.9"));
  });

  test("the ip= parameter is ignored even from the proxy: the proxy passes on whatever its client wrote", async () => {
    expect(await at({}, "&ip=198.51.100.9")).toEqual(seenAt("127.0.0.1"));
    expect(await at({ "x-forwarded-for": "203.0.113.7" }, "&ip=198.51.100.9")).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-forwarded-for": "203.0.113.7" }, "&ip=2001:db8::9")).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-forwarded-for": "203.0.113.7" }, "&ip=peer.example")).toEqual(seenAt("203.0.113.7"));
  });
});

describe("IPv4: a request from anyone else", () => {
  const spoofs: [Hdrs, string][] = [
    [{ "x-forwarded-for": "203.0.113.7" }, ""],
    [{ "x-real-ip": "198.51.100.2" }, ""],
    [{ "cf-connecting-ip": "192.0.2.44" }, ""],
    [{}, "&ip=198.51.100.9"],
    [{ "x-forwarded-for": "203.0.113.7", "x-real-ip": "198.51.100.2" }, "&ip=2001:db8::9"],
  ];

  test("with --trust-proxy naming other networks: headers and ip= are ignored", async () => {
    const { httpPort } = await tracker(["--listen", "127.0.0.1:0", "--trust-proxy", "10.0.0.0/8,::1"]);
    for (const [headers, extra] of spoofs)
      expect(await observe(httpPort, "127.0.0.1", headers, extra)).toEqual(seenAt("127.0.0.1"));
  });

  test("without --trust-proxy: headers and ip= are ignored", async () => {
    const { httpPort } = await tracker(["--listen", "127.0.0.1:0"]);
    for (const [headers, extra] of spoofs)
      expect(await observe(httpPort, "127.0.0.1", headers, extra)).toEqual(seenAt("127.0.0.1"));
  });
});

describe("IPv6", () => {
  test("a tracker on [::1] trusting ::1/128", async () => {
    const { httpPort } = await tracker(["--listen", "[::1]:0", "--trust-proxy", "::1/128"]);
    const at = (headers: Hdrs, extra = "") => observe(httpPort, "::1", headers, extra);
    expect(await at({})).toEqual(seenAt("::1"));
    expect(await at({ "x-forwarded-for": "2001:db8::7" })).toEqual(seenAt("2001:db8::7"));
    expect(await at({ "x-forwarded-for": "[2001:db8::8]:51413" })).toEqual(seenAt("2001:db8::8"));
    expect(await at({ "x-forwarded-for": "2001:db8::6, [2001:db8::8]:51413, ::1" })).toEqual(seenAt("2001:db8::8"));
    expect(await at({ "x-forwarded-for": "203.0.113.7" })).toEqual(seenAt("203.0.113.7"));
    expect(await at({ "x-real-ip": "2001:db8::5" })).toEqual(seenAt("2001:db8::5"));
    expect(await at({ "x-forwarded-for": "[2001:db8::8" })).toEqual(seenAt("::1")); // unclosed bracket: junk
    expect(await at({}, "&ip=2001:db8::9")).toEqual(seenAt("::1")); // ip= is never believed
  });

  test("a tracker on [::1] trusting only IPv4 proxies ignores forwarding from ::1", async () => {
    const { httpPort } = await tracker(["--listen", "[::1]:0", "--trust-proxy", "0.0.0.0/0"]);
    expect(await observe(httpPort, "::1", { "x-forwarded-for": "2001:db8::7" }, "&ip=2001:db8::9")).toEqual(
      seenAt("::1"),
    );
  });

  test("a dual-stack tracker ([::]) trusting 127.0.0.1: IPv4 clients (seen as ::ffff:127.0.0.1) are trusted, ::1 is not", async () => {
    const { httpPort } = await tracker(["--listen", "[::]:0", "--trust-proxy", "127.0.0.1"]);
    expect(await observe(httpPort, "127.0.0.1", { "x-forwarded-for": "2001:db8::7" })).toEqual(seenAt("2001:db8::7"));
    expect(await observe(httpPort, "127.0.0.1", { "x-forwarded-for": "203.0.113.7" })).toEqual(seenAt("203.0.113.7"));
    expect(await observe(httpPort, "::1", { "x-forwarded-for": "203.0.113.7" })).toEqual(seenAt("::1"));
  });
});

describe("UDP", () => {
  test("the announce's IP address field is ignored, even from a trusted proxy address", async () => {
    const t = await startTestTracker(["--listen", "127.0.0.1:0", "--trust-proxy", "127.0.0.1"]);
    trackers.push(t);
    const c = await UdpClient.open("127.0.0.1", t.udpPort!);
    try {
      const connectionId = await c.connect();
      const infoHash = sha1("udp ip field");
      await c.request(announcePacket({ connectionId, infoHash, port: 3333, ip: 0xcb007107 /* 203.0.113.7 */ }));
      const reply = parseAnnounceReply(
        await c.request(announcePacket({ connectionId, infoHash, port: 4444, peerId: id(9) })),
        4,
      );
      expect(reply.peers).toEqual(["127.0.0.1:3333"]);
    } finally {
      c.close();
    }
  });
});

describe("configuration", () => {
  function parse(argv: string[], env: Record<string, string> = {}) {
    return parseArgs(argv, env);
  }

  test("a bad network is one clear error naming the flag and the item", () => {
    expect(parse(["--trust-proxy", "10.0.0.0/33"])).toEqual({
      kind: "error",
      message: 'invalid --trust-proxy: "10.0.0.0/33" has a bad prefix length (0-32)',
    });
    expect(parse(["--trust-proxy", "127.0.0.1,proxy.local"])).toEqual({
      kind: "error",
      message: 'invalid --trust-proxy: "proxy.local" is not an IP address or CIDR network',
    });
    expect(parse([], { BUNTRACKER_TRUST_PROXY: "::1/200" })).toEqual({
      kind: "error",
      message: 'invalid BUNTRACKER_TRUST_PROXY: "::1/200" has a bad prefix length (0-128)',
    });
  });

  test("the environment twin, and the command line winning over it", () => {
    const fromEnv = parse([], { BUNTRACKER_TRUST_PROXY: "10.0.0.0/8, ::1" });
    expect(fromEnv.kind === "run" && fromEnv.config.trustProxy?.text).toEqual(["10.0.0.0/8", "::1"]);
    const both = parse(["--trust-proxy", "192.168.0.0/16"], { BUNTRACKER_TRUST_PROXY: "bogus" });
    expect(both.kind === "run" && both.config.trustProxy?.text).toEqual(["192.168.0.0/16"]);
    const none = parse([]);
    expect(none.kind === "run" && none.config.trustProxy).toBeNull();
  });

  test("real process: a bad network exits 2 with one line; BUNTRACKER_TRUST_PROXY is honoured", async () => {
    const main = join(import.meta.dir, "..", "..", "src", "main.ts");
    const bad = Bun.spawnSync([
      process.execPath,
      main,
      "--listen",
      "127.0.0.1:0",
      "--trust-proxy",
      "10.0.0.0/8,10.0.0.0/99",
    ]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout.toString()).toBe("");
    expect(bad.stderr.toString()).toBe(
      'buntracker: invalid --trust-proxy: "10.0.0.0/99" has a bad prefix length (0-32)\n',
    );

    const p = await startTracker(["--listen", "127.0.0.1:0", "--udp-listen", "off"], {
      BUNTRACKER_TRUST_PROXY: "127.0.0.1/32",
    });
    try {
      expect(await observe(p.httpPort, "127.0.0.1", { "x-forwarded-for": "6.6.6.6, 203.0.113.7" })).toEqual(
        seenAt("203.0.113.7"),
      );
    } finally {
      await p.stop();
    }
  });
});
