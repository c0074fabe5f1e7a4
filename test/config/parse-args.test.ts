import { describe, expect, test } from "bun:test";
import { OPTIONS } from "../../src/config/options.ts";
import { parseArgs } from "../../src/config/parse-args.ts";

function run(argv: string[], env: Record<string, string> = {}) {
  const r = parseArgs(argv, env);
  if (r.kind !== "run") throw new Error(JSON.stringify(r));
  return r.config;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const r = parseArgs(argv, env);
  if (r.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.message;
}

describe("parseArgs", () => {
  test("defaults: dual stack on 6969 for HTTP and UDP, 1800 s interval, 3000 s timeout", () => {
    const c = run([]);
    expect(c.listen).toEqual({ host: "::", port: 6969 });
    expect(c.udpListen).toEqual({ host: "::", port: 6969 });
    expect([c.intervalS, c.minIntervalS, c.peerTimeoutS, c.defaultNumWant, c.maxNumWant, c.logLevel]).toEqual([
      1800,
      900,
      3000,
      50,
      200,
      "info",
    ]);
  });
  test("listen forms: HOST:PORT, [v6]:PORT, :PORT, PORT", () => {
    expect(run(["--listen", "127.0.0.1:80"]).listen).toEqual({ host: "127.0.0.1", port: 80 });
    expect(run(["--listen=[::1]:81"]).listen).toEqual({ host: "::1", port: 81 });
    expect(run(["--listen", ":82"]).listen).toEqual({ host: "::", port: 82 });
    expect(run(["--listen", "83"]).listen).toEqual({ host: "::", port: 83 });
    expect(run(["--listen", "tracker.example:84"]).listen).toEqual({ host: "tracker.example", port: 84 });
  });
  test("UDP follows --listen unless given, and can be off", () => {
    expect(run(["--listen", "127.0.0.1:7000"]).udpListen).toEqual({ host: "127.0.0.1", port: 7000 });
    expect(run(["--udp-listen", "[::]:7001"]).udpListen).toEqual({ host: "::", port: 7001 });
    expect(run(["--udp-listen", "off"]).udpListen).toBeNull();
  });
  test("every flag has an environment twin; the command line wins", () => {
    expect(OPTIONS.map((o) => o.env)).toContain("BUNTRACKER_PEER_TIMEOUT_SECS");
    expect(run([], { BUNTRACKER_INTERVAL_SECS: "600" }).intervalS).toBe(600);
    expect(run(["--interval-secs", "700"], { BUNTRACKER_INTERVAL_SECS: "600" }).intervalS).toBe(700);
    expect(run([], { BUNTRACKER_UDP_LISTEN: "off" }).udpListen).toBeNull();
    expect(run([], { BUNTRACKER_LOG_LEVEL: "debug" }).logLevel).toBe("debug");
  });
  test("min interval defaults to half the interval", () => {
    expect(run(["--interval-secs", "600"]).minIntervalS).toBe(300);
  });
  test("bad values give one line naming the flag or variable, the value and what is allowed", () => {
    expect(error(["--interval-secs", "abc"])).toBe('invalid --interval-secs "abc": must be an integer from 1 to 86400');
    expect(error([], { BUNTRACKER_MAX_NUMWANT: "0" })).toContain("BUNTRACKER_MAX_NUMWANT");
    expect(error(["--min-interval-secs", "2000"])).toContain("--min-interval-secs");
    expect(error(["--peer-timeout-secs", "10"])).toContain("--peer-timeout-secs");
    expect(error(["--listen", "1.2.3.4"])).toContain("--listen");
    expect(error(["--listen", "::1:80"])).toContain("--listen");
    expect(error(["--listen", "host:99999"])).toContain("--listen");
    expect(error(["--log-level", "loud"])).toContain("--log-level");
    expect(error(["--nope"])).toContain("unknown option --nope");
    expect(error(["--min-interval-secs", "2000"])).toBe(
      'invalid --min-interval-secs "2000": the min interval must be at most the announce interval (--interval-secs, 1800)',
    );
    expect(error(["--listen"])).toContain("needs a value");
    expect(error(["stray"])).toContain("unexpected argument");
    for (const m of [error(["--interval-secs", "x"]), error(["--nope"])]) expect(m).not.toContain("\n");
  });
  test("a port out of range, an IPv6 address without brackets: what is wrong, not only the expected shape", () => {
    expect(error(["--listen", "70000"])).toBe('invalid --listen "70000": port out of range (0-65535)');
    expect(error([], { BUNTRACKER_UDP_LISTEN: "host:123456" })).toBe(
      'invalid BUNTRACKER_UDP_LISTEN "host:123456": port out of range (0-65535)',
    );
    expect(error(["--listen", "::1:80"])).toBe(
      'invalid --listen "::1:80": an IPv6 address needs brackets: [IPv6]:PORT',
    );
    expect(error(["--listen", "1.2.3.4"])).toBe('invalid --listen "1.2.3.4": expected HOST:PORT, [IPv6]:PORT or PORT');
    expect(error(["--tls-cert", "c", "--tls-key", "k", "--tls-listen", "x:"])).toBe(
      'invalid --tls-listen "x:": expected HOST:PORT, [IPv6]:PORT or PORT',
    );
  });
  test("an unknown flag close to a known one gets a suggestion", () => {
    expect(error(["--lisen", "80"])).toBe("unknown option --lisen (did you mean --listen?)");
    expect(error(["--peer-timeout=60"])).toBe("unknown option --peer-timeout (did you mean --peer-timeout-secs?)");
    expect(error(["--intervall-secs", "60"])).toBe("unknown option --intervall-secs (did you mean --interval-secs?)");
    expect(error(["--nope"])).toBe("unknown option --nope (see --help)");
  });
  test("a peer timeout below the interval names the interval's flag (or variable) and value", () => {
    expect(error(["--peer-timeout-secs", "60"])).toBe(
      'invalid --peer-timeout-secs "60": the peer timeout must be at least the announce interval (--interval-secs, 1800)',
    );
    expect(error(["--peer-timeout-secs", "600"], { BUNTRACKER_INTERVAL_SECS: "900" })).toBe(
      'invalid --peer-timeout-secs "600": the peer timeout must be at least the announce interval (BUNTRACKER_INTERVAL_SECS, 900)',
    );
    expect(run(["--peer-timeout-secs", "600", "--interval-secs", "600"]).peerTimeoutS).toBe(600);
    // Not given, the timeout follows a long interval.
    expect(run(["--interval-secs", "5000"]).peerTimeoutS).toBe(5000);
  });
  test("help and version", () => {
    expect(parseArgs(["--help"], {}).kind).toBe("help");
    expect(parseArgs(["-V"], {}).kind).toBe("version");
  });
});
