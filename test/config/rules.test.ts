// Each cross-option rule, broken once: the exact message a user reads. The defaults never break one.
import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/config/parse-args.ts";
import { RULES } from "../../src/config/rules.ts";

const CASES: Record<string, { argv: string[]; env?: Record<string, string>; message: string }[]> = {
  "cluster-no-state-file": [
    {
      argv: ["--state-file", "/var/lib/buntracker/state.bin"],
      env: { BUNTRACKER_REDIS: "redis://:pw@10.0.0.5:6379" },
      message:
        "--state-file and BUNTRACKER_REDIS cannot go together: in cluster mode the engine keeps the completion counts (see docs/cluster.md)",
    },
  ],
  "min-interval-at-most-interval": [
    {
      argv: ["--interval-secs", "600", "--min-interval-secs", "601"],
      message:
        'invalid --min-interval-secs "601": the min interval must be at most the announce interval (--interval-secs, 600)',
    },
  ],
  "peer-timeout-at-least-interval": [
    {
      argv: ["--peer-timeout-secs", "600"],
      message:
        'invalid --peer-timeout-secs "600": the peer timeout must be at least the announce interval (--interval-secs, 1800)',
    },
    {
      argv: [],
      env: { BUNTRACKER_PEER_TIMEOUT_SECS: "60", BUNTRACKER_INTERVAL_SECS: "120" },
      message:
        'invalid BUNTRACKER_PEER_TIMEOUT_SECS "60": the peer timeout must be at least the announce interval (BUNTRACKER_INTERVAL_SECS, 120)',
    },
  ],
  "default-numwant-at-most-max": [
    {
      argv: ["--default-numwant", "300"],
      message: 'invalid --default-numwant "300": must be at most the most peers per reply (--max-numwant, 200)',
    },
  ],
  "tls-cert-and-key-together": [
    { argv: ["--tls-cert", "c.pem"], message: "--tls-cert needs --tls-key PATH too" },
    { argv: [], env: { BUNTRACKER_TLS_KEY: "k.pem" }, message: "BUNTRACKER_TLS_KEY needs --tls-cert PATH too" },
  ],
  "tls-listen-needs-cert": [
    { argv: ["--tls-listen", "443"], message: "--tls-listen needs --tls-cert PATH and --tls-key PATH" },
  ],
  "blacklist-or-access-list": [
    {
      argv: ["--blacklist", "/x", "--access-list", "/y"],
      message: "--blacklist and --access-list both name a list: use one",
    },
  ],
  "blacklist-is-deny": [
    {
      argv: ["--blacklist", "/x", "--access-mode", "allow"],
      message: "--blacklist is a deny list, but --access-mode is allow",
    },
  ],
  "access-mode-needs-list": [
    {
      argv: [],
      env: { BUNTRACKER_ACCESS_MODE: "allow" },
      message: "BUNTRACKER_ACCESS_MODE allow needs --access-list PATH",
    },
  ],
  "access-list-needs-mode": [
    { argv: ["--access-list", "/x"], message: "--access-list needs --access-mode deny or allow" },
  ],
  "import-is-not-the-trends-file": [
    {
      argv: ["--trends-file", "/var/lib/rustracker/trends.jsonl"],
      env: { RUSTRACKER_TRENDS_FILE: "/var/lib/rustracker/../rustracker/trends.jsonl" },
      message:
        "RUSTRACKER_TRENDS_FILE and --trends-file name the same file: " +
        "give --trends-file another path (the history is kept in buntracker's own format)",
    },
  ],
  "one-admin-token": [
    {
      argv: ["--admin-token", "t".repeat(16), "--admin-token-file", "/t"],
      message: "--admin-token and --admin-token-file both give an admin token: use one",
    },
  ],
  "admin-listen-own-port": [
    {
      argv: ["--admin-listen", "127.0.0.1:6969"],
      message:
        'invalid --admin-listen "127.0.0.1:6969": the admin listener needs a port of its own (--listen uses 6969)',
    },
    {
      argv: ["--tls-cert", "c", "--tls-key", "k", "--tls-listen", "443"],
      env: { BUNTRACKER_ADMIN_LISTEN: "[::1]:443" },
      message:
        'invalid BUNTRACKER_ADMIN_LISTEN "[::1]:443": the admin listener needs a port of its own (--tls-listen uses 443)',
    },
  ],
};

describe("cross-option rules", () => {
  test("every rule has a case here, and every case a rule", () => {
    expect(Object.keys(CASES).sort()).toEqual(RULES.map((r) => r.id).sort());
  });
  for (const rule of RULES) {
    test(rule.id, () => {
      for (const c of CASES[rule.id] ?? [])
        expect(parseArgs(c.argv, c.env ?? {})).toEqual({ kind: "error", message: c.message });
    });
  }
  test("the defaults, and values that just meet each rule, pass", () => {
    for (const argv of [
      [],
      ["--interval-secs", "600", "--min-interval-secs", "600", "--peer-timeout-secs", "600"],
      ["--max-numwant", "20", "--default-numwant", "20"],
      ["--max-numwant", "20"], // the default numwant follows it down
      ["--interval-secs", "86400"], // the timeout follows the interval up
      ["--tls-cert", "c", "--tls-key", "k", "--tls-listen", "443"],
      ["--blacklist", "/x", "--access-mode", "deny"],
      ["--import-rustracker-trends", "/var/lib/rustracker/trends.jsonl"], // ours goes beside it
      ["--admin-listen", "127.0.0.1:6970"],
      ["--listen", "0", "--admin-listen", "127.0.0.1:0"], // port 0: each gets a free port of its own
    ]) {
      expect(parseArgs(argv, {}).kind).toBe("run");
    }
  });
});
