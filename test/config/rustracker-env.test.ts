// Rustracker's environment variables (/etc/rustracker.env) work as aliases of ours: each fills its option,
// ours win when both are set, a bad value is named by the variable given, and the real process logs one line
// per variable found (never the token).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseArgs } from "../../src/config/parse-args.ts";
import { startTracker } from "../helpers/tracker-process.ts";

const TOKEN = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; // as its installer makes them
const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

function parse(argv: string[], env: Record<string, string>, file?: string) {
  const r = parseArgs(argv, env, undefined, () => file ?? "");
  if (r.kind !== "run") throw new Error(JSON.stringify(r));
  return r;
}

describe("RUSTRACKER_* variables", () => {
  test("the installer's settings file works as it is", () => {
    const { config, aliases } = parse([], {
      RUSTRACKER_LISTEN: "0.0.0.0:8080",
      RUSTRACKER_INTERVAL_SECS: "900",
      RUSTRACKER_PEER_TIMEOUT_SECS: "2700",
      RUSTRACKER_BLACKLIST: "/etc/rustracker/blacklist.txt",
      RUSTRACKER_ADMIN_TOKEN: TOKEN,
    });
    expect(config.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(config.udpListen).toEqual({ host: "0.0.0.0", port: 8080 }); // UDP follows, as with --listen
    expect([config.intervalS, config.peerTimeoutS]).toEqual([900, 2700]);
    expect([config.accessMode, config.accessList]).toEqual(["deny", "/etc/rustracker/blacklist.txt"]);
    expect(config.adminToken).toBe(TOKEN);
    expect(aliases).toEqual([
      { variable: "RUSTRACKER_LISTEN", outcome: "used", ours: "BUNTRACKER_LISTEN" },
      { variable: "RUSTRACKER_INTERVAL_SECS", outcome: "used", ours: "BUNTRACKER_INTERVAL_SECS" },
      { variable: "RUSTRACKER_PEER_TIMEOUT_SECS", outcome: "used", ours: "BUNTRACKER_PEER_TIMEOUT_SECS" },
      { variable: "RUSTRACKER_BLACKLIST", outcome: "used", ours: "BUNTRACKER_BLACKLIST" },
      { variable: "RUSTRACKER_ADMIN_TOKEN", outcome: "used", ours: "BUNTRACKER_ADMIN_TOKEN" },
    ]);
  });

  test("RUSTRACKER_TRENDS_FILE is imported (its format is not ours); our history goes beside it unless told", () => {
    const env = { RUSTRACKER_TRENDS_FILE: "/var/lib/rustracker/trends.jsonl" };
    const r = parse([], env);
    expect(r.config.importRustrackerTrends).toBe("/var/lib/rustracker/trends.jsonl");
    expect(r.config.trendsFile).toBe(join("/var/lib/rustracker", "buntracker-trends.jsonl"));
    expect(r.aliases).toEqual([
      { variable: "RUSTRACKER_TRENDS_FILE", outcome: "used", ours: "BUNTRACKER_IMPORT_RUSTRACKER_TRENDS" },
    ]);
    expect(parse([], { ...env, BUNTRACKER_TRENDS_FILE: "/srv/trends.jsonl" }).config.trendsFile).toBe(
      "/srv/trends.jsonl",
    );
    // Without it, nothing is imported and the history stays in memory (as before).
    expect([parse([], {}).config.importRustrackerTrends, parse([], {}).config.trendsFile]).toEqual([null, null]);
  });

  test("ours win: a flag, a BUNTRACKER_* variable or a --config key over the Rustracker variable", () => {
    const env = { RUSTRACKER_INTERVAL_SECS: "900" };
    expect(parse([], env).config.intervalS).toBe(900);
    const byVar = parse([], { ...env, BUNTRACKER_INTERVAL_SECS: "1200" });
    expect(byVar.config.intervalS).toBe(1200);
    expect(byVar.aliases).toEqual([
      {
        variable: "RUSTRACKER_INTERVAL_SECS",
        outcome: "overridden",
        ours: "BUNTRACKER_INTERVAL_SECS",
        by: "BUNTRACKER_INTERVAL_SECS",
      },
    ]);
    const byFlag = parse(["--interval-secs", "600"], { ...env, BUNTRACKER_INTERVAL_SECS: "1200" });
    expect(byFlag.config.intervalS).toBe(600);
    expect(byFlag.aliases[0]).toMatchObject({ outcome: "overridden", by: "--interval-secs" });
    const byFile = parse(["--config", "/etc/buntracker.toml"], env, "interval_secs = 700\n");
    expect(byFile.config.intervalS).toBe(700);
    expect(byFile.aliases[0]).toMatchObject({ outcome: "overridden", by: "interval_secs in /etc/buntracker.toml" });
  });

  test("our access list or token file also win, instead of clashing with Rustracker's blacklist or token", () => {
    const r = parse(["--access-mode", "allow", "--access-list", "/srv/allow.txt", "--admin-token-file", "/etc/token"], {
      RUSTRACKER_BLACKLIST: "/etc/rustracker/blacklist.txt",
      RUSTRACKER_ADMIN_TOKEN: TOKEN,
    });
    expect([r.config.accessMode, r.config.accessList, r.config.adminToken, r.config.adminTokenFile]).toEqual([
      "allow",
      "/srv/allow.txt",
      null,
      "/etc/token",
    ]);
    expect(r.aliases.map((a) => [a.variable, a.outcome])).toEqual([
      ["RUSTRACKER_BLACKLIST", "overridden"],
      ["RUSTRACKER_ADMIN_TOKEN", "overridden"],
    ]);
  });

  test("variables without an equivalent are reported, not applied; empty ones are not there", () => {
    const r = parse([], {
      RUSTRACKER_TRUST_PROXY_HEADERS: "true",
      RUSTRACKER_KEEPALIVE_TIMEOUT_SECS: "2",
      RUSTRACKER_LISTEN: "",
    });
    expect(r.config.trustProxy).toBeNull();
    expect(r.config.listen).toEqual({ host: "::", port: 6969 });
    expect(r.aliases).toEqual([
      {
        variable: "RUSTRACKER_TRUST_PROXY_HEADERS",
        outcome: "unsupported",
        note: "set BUNTRACKER_TRUST_PROXY to your proxies' addresses",
      },
      {
        variable: "RUSTRACKER_KEEPALIVE_TIMEOUT_SECS",
        outcome: "unsupported",
        note: "the server closes idle connections itself",
      },
    ]);
  });

  test("a bad value is named by the Rustracker variable that carried it", () => {
    const error = (env: Record<string, string>) => {
      const r = parseArgs([], env);
      return r.kind === "error" ? r.message : JSON.stringify(r);
    };
    expect(error({ RUSTRACKER_INTERVAL_SECS: "abc" })).toBe(
      'invalid RUSTRACKER_INTERVAL_SECS "abc": must be an integer from 1 to 86400',
    );
    // Rustracker takes several comma-separated addresses; one is served here.
    expect(error({ RUSTRACKER_LISTEN: "[::]:8080,0.0.0.0:8080" })).toStartWith(
      'invalid RUSTRACKER_LISTEN "[::]:8080,0.0.0.0:8080"',
    );
    expect(error({ RUSTRACKER_ADMIN_TOKEN: "short" })).toStartWith("invalid RUSTRACKER_ADMIN_TOKEN");
    expect(error({ RUSTRACKER_PEER_TIMEOUT_SECS: "60" })).toBe(
      'invalid RUSTRACKER_PEER_TIMEOUT_SECS "60": the peer timeout must be at least the announce interval (--interval-secs, 1800)',
    );
  });

  test("--check-config shows the Rustracker variable as the source and warns about the ignored ones", () => {
    const r = parseArgs(["--check-config", "--interval-secs", "600"], {
      RUSTRACKER_PEER_TIMEOUT_SECS: "2700",
      RUSTRACKER_INTERVAL_SECS: "900",
      RUSTRACKER_TRUST_PROXY_HEADERS: "true",
    });
    if (r.kind !== "check") throw new Error(JSON.stringify(r));
    expect(r.sources.get("peer_timeout_secs")).toEqual({ kind: "env", from: "RUSTRACKER_PEER_TIMEOUT_SECS" });
    expect(r.warnings).toEqual([
      "RUSTRACKER_INTERVAL_SECS is ignored: --interval-secs is given",
      "RUSTRACKER_TRUST_PROXY_HEADERS has no equivalent and is ignored: set BUNTRACKER_TRUST_PROXY to your proxies' addresses",
    ]);
  });
});

describe("the real process", () => {
  test("logs one line per Rustracker variable found, never the token, and runs with them", async () => {
    const p = await startTracker([], {
      RUSTRACKER_LISTEN: "127.0.0.1:0",
      RUSTRACKER_INTERVAL_SECS: "900",
      BUNTRACKER_INTERVAL_SECS: "1200",
      RUSTRACKER_ADMIN_TOKEN: TOKEN,
      RUSTRACKER_TRUST_PROXY_HEADERS: "true",
    });
    try {
      expect(p.host).toBe("127.0.0.1");
      const lines = p
        .output()
        .split("\n")
        .filter((l) => l.includes("RUSTRACKER_"))
        .map((l) => JSON.parse(l) as { level: string; msg: string; variable: string });
      expect(lines.map((l) => [l.level, l.msg])).toEqual([
        ["info", "config: RUSTRACKER_LISTEN is read as BUNTRACKER_LISTEN"],
        ["info", "config: RUSTRACKER_INTERVAL_SECS is ignored: BUNTRACKER_INTERVAL_SECS is given"],
        ["info", "config: RUSTRACKER_ADMIN_TOKEN is read as BUNTRACKER_ADMIN_TOKEN"],
        [
          "warn",
          "config: RUSTRACKER_TRUST_PROXY_HEADERS has no equivalent and is ignored: set BUNTRACKER_TRUST_PROXY to your proxies' addresses",
        ],
      ]);
      expect(p.output()).toContain('"interval":1200');
      expect(p.output()).not.toContain(TOKEN);
      // The token works for the admin API.
      const res = await fetch(`http://127.0.0.1:${p.httpPort}/api/blacklist`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(409); // authorized; no list configured
    } finally {
      await p.stop();
    }
  });

  test("--check-config names the variable in its one-line error", () => {
    const r = Bun.spawnSync([process.execPath, MAIN, "--check-config"], {
      env: { PATH: process.env.PATH ?? "", RUSTRACKER_INTERVAL_SECS: "0" },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toBe(
      'buntracker: invalid RUSTRACKER_INTERVAL_SECS "0": must be an integer from 1 to 86400\n',
    );
  });
});
