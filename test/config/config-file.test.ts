// --config FILE (TOML with the table's keys): the lowest of the three sources, checked like flags.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Config } from "../../src/config/config.ts";
import { effectiveSettings } from "../../src/config/effective.ts";
import { parseArgs } from "../../src/config/parse-args.ts";

const FILE = "/etc/buntracker/buntracker.toml";

function parse(toml: string, argv: string[] = [], env: Record<string, string> = {}) {
  return parseArgs(["--config", FILE, ...argv], env, undefined, (path) => {
    if (path !== FILE) throw new Error(`read ${path}`);
    return toml;
  });
}
function config(toml: string, argv: string[] = [], env: Record<string, string> = {}): Config {
  const r = parse(toml, argv, env);
  if (r.kind !== "run") throw new Error(JSON.stringify(r));
  return r.config;
}
function error(toml: string, argv: string[] = [], env: Record<string, string> = {}): string {
  const r = parse(toml, argv, env);
  if (r.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.message;
}

describe("--config", () => {
  test("keys are the options' snake-case names; integers, strings and true/false all work", () => {
    const c = config(
      'listen = "127.0.0.1:7000"\ninterval_secs = 900\nwebsocket = false\nfull_scrape = "on"\nrate_limit_exempt = ""\n',
    );
    expect(c.listen).toEqual({ host: "127.0.0.1", port: 7000 });
    expect(c.udpListen).toEqual({ host: "127.0.0.1", port: 7000 });
    expect([c.intervalS, c.minIntervalS, c.websocket, c.fullScrape, c.rateLimitExempt]).toEqual([
      900,
      450,
      false,
      true,
      null,
    ]);
  });

  test("the command line wins over the environment, which wins over the file", () => {
    const toml = 'interval_secs = 900\nmax_numwant = 100\nlog_level = "warn"\n';
    const c = config(toml, ["--interval-secs", "700"], {
      BUNTRACKER_INTERVAL_SECS: "800",
      BUNTRACKER_MAX_NUMWANT: "150",
    });
    expect([c.intervalS, c.maxNumWant, c.logLevel]).toEqual([700, 150, "warn"]);
    // BUNTRACKER_CONFIG names the file too.
    const r = parseArgs([], { BUNTRACKER_CONFIG: FILE }, undefined, () => toml);
    expect(r.kind === "run" && r.config.intervalS).toBe(900);
  });

  test("mistakes are one line naming the key and the file", () => {
    expect(error("lisen = 80\n")).toBe(`unknown key lisen in ${FILE} line 1 (did you mean listen?)`);
    expect(error("# tuned\ninterval_secs = 900\n\n  speed = 80\n")).toBe(
      `unknown key speed in ${FILE} line 4 (see docs/options.md)`,
    );
    expect(error('websocket = true\n"a.b+" = 1\n')).toBe(`unknown key a.b+ in ${FILE} line 2 (see docs/options.md)`);
    expect(error("interval_secs = 900\n[tls]\ncert = 'x'\n")).toBe(
      `unknown key tls in ${FILE} line 2 (see docs/options.md)`,
    );
    expect(error("interval_secs = 0\n")).toBe(
      `invalid interval_secs in ${FILE} "0": must be an integer from 1 to 86400`,
    );
    expect(error("interval_secs = 1.5\n")).toBe(
      `invalid interval_secs in ${FILE} line 1: must be a string, an integer, true or false`,
    );
    expect(error("[listen]\nport = 80\n")).toBe(
      `invalid listen in ${FILE} line 1: must be a string, an integer, true or false`,
    );
    expect(error("interval_secs = = 3\n")).toStartWith(`cannot read --config ${FILE}: `);
    expect(error("interval_secs = 900\n", ["--peer-timeout-secs", "600"])).toBe(
      `invalid --peer-timeout-secs "600": the peer timeout must be at least the announce interval (interval_secs in ${FILE}, 900)`,
    );
    const missing = join(import.meta.dir, "no-such.toml");
    const r = parseArgs(["--config", missing], {});
    expect(r.kind === "error" && r.message).toStartWith(`cannot read --config ${missing}: ENOENT`);
  });

  test("what --check-config prints is a config file that gives the same settings back", () => {
    const r = parseArgs(
      [
        "--check-config",
        "--listen",
        "7000",
        "--interval-secs",
        "600",
        "--blacklist",
        "/srv/deny",
        "--trust-proxy",
        "10.0.0.0/8",
        "--admin-token",
        "t".repeat(20),
      ],
      {},
    );
    if (r.kind !== "check") throw new Error(JSON.stringify(r));
    const text = effectiveSettings(r.config, r.sources, "1.0.0");
    const back = config(text);
    expect(JSON.stringify({ ...back, adminToken: "t".repeat(20) })).toBe(JSON.stringify(r.config));
    expect(back.adminToken).toBeNull(); // never written out
  });
});
