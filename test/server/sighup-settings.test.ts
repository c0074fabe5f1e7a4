// SIGHUP re-reads the settings (a real process): the --config file is read again, the log level changes at
// once, and changed settings that need a restart are named in the log. Flags and the environment stay.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../helpers/clients.ts";
import { startTracker } from "../helpers/tracker-process.ts";

const dir = await mkdtemp(join(tmpdir(), "buntracker-sighup-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const lines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(process.platform === "win32")("SIGHUP re-reads the settings", () => {
  test("the log level applies at once; a change that needs a restart is named; a bad file changes nothing", async () => {
    const file = join(dir, "buntracker.toml");
    await writeFile(file, 'log_level = "info"\ninterval_secs = 1800\nmax_numwant = 100\n');
    const t = await startTracker([
      "--config",
      file,
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--max-numwant",
      "150",
    ]);
    try {
      const reread = () => lines(t.output()).filter((l) => l.msg === "settings re-read");

      // max_numwant is given on the command line too: the file's change does not count.
      await writeFile(file, 'log_level = "warn"\ninterval_secs = 900\nmax_numwant = 120\n');
      t.proc.kill("SIGHUP");
      await waitFor("the re-read", 5000, () => reread().length === 1, t.output);
      expect(reread()[0].applied).toEqual(['log_level: "info" -> "warn"']);
      const restart = () => lines(t.output()).filter((l) => l.msg === "settings changed that need a restart to apply");
      // (min_interval_secs follows the interval by default, so it changed too.)
      const settings = ["interval_secs", "min_interval_secs"];
      expect(restart()).toEqual([expect.objectContaining({ level: "warn", settings })]);

      // A file that no longer parses: a warning, and the running settings stay.
      await writeFile(file, "log_level = = 3\n");
      t.proc.kill("SIGHUP");
      const refused = () => lines(t.output()).filter((l) => l.msg === "settings not re-read; the running ones stay");
      await waitFor("the refusal", 5000, () => refused().length === 1, t.output);
      expect(String(refused()[0].err)).toStartWith(`cannot read --config ${file}: `);

      // Back to info: the line shows (written at the more verbose level), and so do info lines after it.
      await writeFile(file, 'log_level = "info"\ninterval_secs = 900\n');
      t.proc.kill("SIGHUP");
      await waitFor("the second re-read", 5000, () => reread().length === 2, t.output);
      expect(reread()[1].applied).toEqual(['log_level: "warn" -> "info"']);
      expect(restart()).toHaveLength(2); // interval_secs still differs from the running 1800
    } finally {
      expect(await t.stop()).toBe(0);
    }
    // At info again, the shutdown is logged (at warn it is not: the next test).
    expect(lines(t.output()).map((l) => l.msg)).toContain("shutting down");
  });

  test("at warn, info lines stop", async () => {
    const file = join(dir, "quiet.toml");
    await writeFile(file, 'log_level = "info"\n');
    const t = await startTracker(["--config", file, "--listen", "127.0.0.1:0", "--udp-listen", "off"]);
    await writeFile(file, 'log_level = "warn"\n');
    t.proc.kill("SIGHUP");
    await waitFor("the re-read", 5000, () => t.output().includes('"msg":"settings re-read"'), t.output);
    expect(await t.stop()).toBe(0);
    const msgs = lines(t.output()).map((l) => l.msg);
    expect(msgs).toContain("settings re-read");
    expect(msgs).not.toContain("shutting down");
  });
});
