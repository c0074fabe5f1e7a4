// Where the tracker's log goes: stdout with syslog priorities when stdout is the journal (as systemd tells
// through JOURNAL_STREAM), or a --log-file that is capped in size and reopened on SIGHUP. The real tracker
// runs as a child process; the size cap is checked on the file class with a small cap.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogFile } from "../../src/server/log-output.ts";
import { waitFor } from "../helpers/clients.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "buntracker-log-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the tracker with stdout into a file (as systemd connects it to the journal's socket) until it exits. */
async function runToFile(name: string, args: string[], journalStream: (out: string) => string | undefined) {
  const out = join(dir, name);
  await writeFile(out, "");
  const st = statSync(out, { bigint: true });
  const stream = journalStream(`${st.dev}:${st.ino}`);
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    env: { ...process.env, JOURNAL_STREAM: stream },
    stdin: "ignore",
    stdout: Bun.file(out),
    stderr: "pipe",
  });
  return { out, proc };
}

describe("on the journal", () => {
  test("each line is led by its syslog priority: <6> info, <3> error", async () => {
    // The port taken by a first tracker makes a second one log an error and exit.
    const first = await runToFile("first.log", ["--listen", "127.0.0.1:0", "--udp-listen", "off"], (s) => s);
    const listening = await waitFor("listening", 10_000, async () => {
      const text = await readFile(first.out, "utf8");
      return text.includes('"msg":"listening"') ? text : undefined;
    });
    const line = listening.split("\n")[0];
    expect(line).toStartWith("<6>{");
    const port = JSON.parse(line.slice(3)).httpPort as number;

    const second = await runToFile("second.log", ["--listen", `127.0.0.1:${port}`, "--udp-listen", "off"], (s) => s);
    expect(await second.proc.exited).toBe(1);
    const errorLine = (await readFile(second.out, "utf8")).split("\n").find((l) => l.includes('"msg":"cannot start"'));
    expect(errorLine).toStartWith('<3>{"ts":');

    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    const all = (await readFile(first.out, "utf8")).trim().split("\n");
    expect(all.map((l) => l.slice(0, 4))).toEqual(all.map(() => "<6>{"));
  });

  test("a JOURNAL_STREAM inherited by a process whose stdout goes elsewhere adds nothing", async () => {
    const r = await runToFile("elsewhere.log", ["--listen", "127.0.0.1:0", "--udp-listen", "off"], () => "8:12345");
    await waitFor("listening", 10_000, async () => (await readFile(r.out, "utf8")).includes('"msg":"listening"'));
    r.proc.kill("SIGTERM");
    await r.proc.exited;
    expect((await readFile(r.out, "utf8")).split("\n")[0]).toStartWith('{"ts":');
  });
});

describe("--log-file", () => {
  test("writes the log there (folder made), not to stdout, and reopens it on SIGHUP after logrotate moved it", async () => {
    const file = join(dir, "logs", "sub", "tracker.log");
    const proc = Bun.spawn(
      [process.execPath, MAIN, "--listen", "127.0.0.1:0", "--udp-listen", "off", "--log-file", file],
      {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    await waitFor(
      "listening in the file",
      10_000,
      async () => existsSync(file) && (await readFile(file, "utf8")).includes('"msg":"listening"'),
    );
    await rename(file, `${file}.rotated`);
    proc.kill("SIGHUP");
    await waitFor("a new file", 5_000, () => existsSync(file));
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stdout).text()).toBe("");
    expect(await readFile(`${file}.rotated`, "utf8")).toContain('"msg":"listening"');
    const after = (await readFile(file, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).msg);
    expect(after).toEqual(["shutting down", "stopped"]);
  });

  test("one that cannot be opened is bad input: one line, exit 2", async () => {
    const proc = Bun.spawnSync([
      process.execPath,
      MAIN,
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--log-file",
      dir,
    ]);
    expect(proc.exitCode).toBe(2);
    expect(proc.stderr.toString()).toMatch(new RegExp(`^buntracker: cannot open --log-file ${dir}: .+\\n$`));
  });

  test("is capped: a full file becomes PATH.1 (replacing the one before) and starts over", async () => {
    const file = join(dir, "capped.log");
    const log = new LogFile(file, 1000);
    const line = "x".repeat(99); // 100 bytes with its newline
    for (let i = 0; i < 25; i++) log.write(line);
    log.close();
    // 25 lines: 10 in the first file, 10 in the second (now PATH.1, replacing the first), 5 in PATH.
    expect((await stat(file)).size).toBe(500);
    expect((await stat(`${file}.1`)).size).toBe(1000);
    // Reopened where it stopped: an existing file's size counts.
    const again = new LogFile(file, 1000);
    for (let i = 0; i < 6; i++) again.write(line);
    again.close();
    expect((await stat(file)).size).toBe(100);
    expect((await stat(`${file}.1`)).size).toBe(1000);
  });
});
