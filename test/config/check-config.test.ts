// buntracker --check-config as the installers and users run it: a real process; exit 0 with the settings in
// force (where each came from, the admin token hidden), exit 2 with one line when they are bad.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
const TOKEN = "0123456789abcdef0123456789abcdef";
const dir = await mkdtemp(join(tmpdir(), "buntracker-check-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

function check(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([process.execPath, MAIN, "--check-config", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** The `key = value  # source` lines as {key: [value, source]}. */
function settings(stdout: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  for (const m of stdout.matchAll(/^(?:# )?(\w+) = (.*?)\s+# (.*)$/gm)) out[m[1]] = [m[2], m[3]];
  return out;
}

describe("--check-config", () => {
  test("prints every setting in force with its source and exits 0 without starting", () => {
    const r = check(["--listen", "7000", "--interval-secs", "600"], {
      BUNTRACKER_LOG_LEVEL: "debug",
      BUNTRACKER_ADMIN_TOKEN: TOKEN,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const s = settings(r.stdout);
    expect(s.listen).toEqual(['"[::]:7000"', "flag --listen"]);
    expect(s.udp_listen).toEqual(['"[::]:7000"', "default"]);
    expect(s.interval_secs).toEqual(["600", "flag --interval-secs"]);
    expect(s.min_interval_secs).toEqual(["300", "default"]);
    expect(s.log_level).toEqual(['"debug"', "env BUNTRACKER_LOG_LEVEL"]);
    expect(s.state_file).toEqual(["(not set)", "default"]);
    expect(s.admin_token).toEqual(["(set, hidden)", "env BUNTRACKER_ADMIN_TOKEN"]);
    expect(r.stdout).toMatch(/^# admin_token = \(set, hidden\)/m);
    expect(r.stdout).not.toContain(TOKEN);
    expect(r.stdout).not.toContain("listening");
  });

  test("says whether this build has the dashboard (the installers' summary reads it)", () => {
    expect(check([]).stdout.split("\n")[1]).toBe("# built with the dashboard");
    const without = Bun.spawnSync([process.execPath, "--define", "WITH_DASHBOARD=false", MAIN, "--check-config"]);
    expect(without.exitCode).toBe(0);
    expect(without.stdout.toString().split("\n")[1]).toBe("# built without the dashboard (/ answers 404)");
  });

  test("warns about BUNTRACKER_ variables that are no setting (a typo in a settings file), without failing", () => {
    const r = check([], { BUNTRACKER_LISEN: "7000", BUNTRACKER_SOMETHING_ELSE: "x" });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("# warning"))).toEqual([
      "# warning: BUNTRACKER_LISEN is not a setting (did you mean BUNTRACKER_LISTEN?)",
      "# warning: BUNTRACKER_SOMETHING_ELSE is not a setting",
    ]);
  });

  test("--blacklist shows as the source of the access mode and list it sets", () => {
    const s = settings(check(["--blacklist", "/srv/deny.txt"]).stdout);
    expect(s.access_mode).toEqual(['"deny"', "flag --blacklist"]);
    expect(s.access_list).toEqual(['"/srv/deny.txt"', "flag --blacklist"]);
  });

  test("reads the TLS certificate and key as a start would", async () => {
    const cert = join(dir, "cert.pem");
    await writeFile(cert, "not a certificate\n");
    await writeFile(join(dir, "key.pem"), "not a key either\n");
    const r = check(["--tls-cert", cert, "--tls-key", join(dir, "key.pem")]);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, "", `buntracker: --tls-cert ${cert} holds no PEM certificate\n`]);
    const missing = check(["--tls-cert", cert, "--tls-key", join(dir, "nokey.pem")]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `buntracker: --tls-key ${join(dir, "nokey.pem")} does not exist\n`,
    ]);
  });

  test("a --config file is read, shown as the source of its values, and below the environment", async () => {
    const file = join(dir, "buntracker.toml");
    await writeFile(file, 'interval_secs = 900\nlog_level = "warn"\nwebsocket = false\n');
    const s = settings(check(["--config", file], { BUNTRACKER_LOG_LEVEL: "error" }).stdout);
    expect(s.interval_secs).toEqual(["900", `file ${file}`]);
    expect(s.websocket).toEqual(['"off"', `file ${file}`]);
    expect(s.log_level).toEqual(['"error"', "env BUNTRACKER_LOG_LEVEL"]);
  });

  test("bad settings: one line, exit 2, nothing on stdout", () => {
    for (const [args, env, message] of [
      [
        ["--peer-timeout-secs", "600"],
        {},
        'invalid --peer-timeout-secs "600": the peer timeout must be at least the announce interval (--interval-secs, 1800)',
      ],
      [[], { BUNTRACKER_LISTEN: "70000" }, 'invalid BUNTRACKER_LISTEN "70000": port out of range (0-65535)'],
      [
        ["--admin-token", "short"],
        {},
        "invalid --admin-token: must be at least 16 characters (try: openssl rand -hex 32)",
      ],
    ] as const) {
      const r = check([...args], env);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, "", `buntracker: ${message}\n`]);
    }
  });

  test("reads --admin-token-file as a start would: a missing file or a short token is exit 2, a good one stays hidden", async () => {
    const missing = join(dir, "missing");
    expect(check(["--admin-token-file", missing]).stderr).toStartWith(
      `buntracker: cannot read --admin-token-file ${missing}: `,
    );
    await writeFile(join(dir, "short"), "short\n");
    expect(check(["--admin-token-file", join(dir, "short")])).toEqual({
      code: 2,
      stdout: "",
      stderr: `buntracker: the admin token in ${join(dir, "short")} must be at least 16 characters (try: openssl rand -hex 32)\n`,
    });
    await writeFile(join(dir, "good"), `${TOKEN}\n`);
    const good = check(["--admin-token-file", join(dir, "good")]);
    expect(good.code).toBe(0);
    expect(good.stdout).not.toContain(TOKEN);
  });
});

describe("--print-config", () => {
  test("prints every option with its help and default; read back, commented or not, it gives the defaults", async () => {
    const printed = Bun.spawnSync([process.execPath, MAIN, "--print-config", "--interval-secs", "600"], {
      env: { PATH: process.env.PATH ?? "", BUNTRACKER_LOG_LEVEL: "debug" },
    });
    expect(printed.stderr.toString()).toBe("");
    expect(printed.exitCode).toBe(0);
    const text = printed.stdout.toString();
    // Defaults only: neither the flag nor the variable of that run.
    expect(text).toContain("\n# interval_secs = 1800\n");
    expect(text).toContain('\n# log_level = "info"\n');
    expect(text).toContain("\n# Drop peers silent this long. At least the interval. Range 1-604800.");
    expect(text).toContain("\n# tls_cert = (not set; PATH)\n");
    const defaults = settings(check([]).stdout);
    const file = join(dir, "printed.toml");
    await writeFile(file, text);
    expect(settings(check(["--config", file]).stdout)).toEqual(defaults);
    // Every option with a value is there to uncomment; doing so changes nothing.
    const uncommented = text.replace(/^# (\w+ = [^(].*)$/gm, "$1");
    const keys = [...uncommented.matchAll(/^(\w+) = /gm)].map((m) => m[1]);
    expect(keys).toContain("min_interval_secs");
    expect(keys.length).toBeGreaterThan(20);
    await writeFile(file, uncommented);
    const back = check(["--config", file]);
    expect(back.stderr).toBe("");
    const values = Object.fromEntries(Object.entries(settings(back.stdout)).map(([k, [v]]) => [k, v]));
    expect(values).toEqual(Object.fromEntries(Object.entries(defaults).map(([k, [v]]) => [k, v])));
  });
});
