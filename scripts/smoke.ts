// Checks one built executable the way a user meets it: started from an unrelated, empty directory with no
// tools on PATH, it must print its version and commit, serve HTTP and UDP, serve or leave out the dashboard,
// ignore a .env and a bunfig.toml it finds there (release builds never autoload them), keep its trends where
// the platform default says, and stop cleanly. Used by the tests and by CI on Linux and on Windows.
//
//   bun scripts/smoke.ts BINARY [--no-dashboard] [--commit HASH] [--runner "qemu-aarch64 -L /usr/aarch64-linux-gnu"]
//
// --runner starts the binary through another program, e.g. an emulator for another CPU's build.
//
// Prints one "ok" line per check and exits 0, or names the first failure and exits 1.

import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { parseReply, writeRequest } from "../src/codec/udp-messages.ts";

const WINDOWS = process.platform === "win32";
const PRELOAD_MARKER = "PRELOADED-BY-BUNFIG";
const SMOKE_TXID = 0x5eed1234;

class SmokeFailure extends Error {}
function check(ok: boolean, what: string, detail = ""): void {
  if (!ok) throw new SmokeFailure(`${what}${detail ? `: ${detail}` : ""}`);
  console.log(`ok   ${what}`);
}

async function until<T>(what: string, ms: number, probe: () => T | null | Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new SmokeFailure(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

async function udpConnect(port: number): Promise<Uint8Array> {
  const request = writeRequest({ action: "connect", transactionId: SMOKE_TXID });
  let resolveReply!: (b: Uint8Array) => void;
  const reply = new Promise<Uint8Array>((r) => (resolveReply = r));
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: { data: (_s, data) => resolveReply(new Uint8Array(data)), error: () => {} },
  });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      socket.send(request, port, "127.0.0.1");
      const got = await Promise.race([reply, Bun.sleep(1000).then(() => null)]);
      if (got !== null) return got;
    }
    throw new SmokeFailure("no UDP connect reply after 5 tries");
  } finally {
    socket.close();
  }
}

export async function smoke(binary: string, dashboard: boolean, commit: string | null, runner: string[] = []): Promise<void> {
  if (runner.length > 0) runner = [Bun.which(runner[0]) ?? runner[0], ...runner.slice(1)];
  const version = Bun.spawnSync([...runner, binary, "--version"], { stdout: "pipe", stderr: "pipe" });
  const line = version.stdout.toString().trim();
  const m = line.match(/^buntracker (\S+) \((\S+)\)$/);
  check(version.exitCode === 0 && m !== null && m[1] === pkg.version, "--version prints the version", line);
  check(commit === null ? m![2] !== "unknown" : m![2] === commit, "--version names the commit it was built from", line);

  // The installers' contract: --check-config prints the address as the tracker reads it, or refuses with exit 2.
  const good = Bun.spawnSync([...runner, binary, "--check-config", "--listen", "6969"], { stdout: "pipe", stderr: "pipe" });
  check(good.exitCode === 0 && /^listen = "\[::\]:6969"/m.test(good.stdout.toString()), "--check-config prints the settings", good.stdout.toString() + good.stderr.toString());
  const bad = Bun.spawnSync([...runner, binary, "--check-config", "--peer-timeout-secs", "60"], { stdout: "pipe", stderr: "pipe" });
  check(bad.exitCode === 2 && bad.stderr.toString().includes("--interval-secs"), "--check-config refuses a bad setting with exit 2", bad.stderr.toString());

  const dir = await mkdtemp(join(tmpdir(), "buntracker-smoke-"));
  const programData = join(dir, "ProgramData");
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  try {
    // Traps for a build that still autoloads files from the working directory.
    await writeFile(join(dir, ".env"), "BUNTRACKER_LOG_LEVEL=not-a-level\n");
    await writeFile(join(dir, "preload.ts"), `console.log("${PRELOAD_MARKER}");\n`);
    await writeFile(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    const env: Record<string, string> = {};
    if (WINDOWS) {
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("BUNTRACKER_")) env[k] = v;
      env.ProgramData = programData;
    } else {
      Object.assign(env, { PATH: join(dir, "no-such-dir"), HOME: dir, LANG: "C" });
    }
    proc = Bun.spawn([...runner, binary, "--listen", "127.0.0.1:0"], { cwd: dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let out = "";
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
    };
    void collect(proc.stdout as ReadableStream<Uint8Array>);
    void collect(proc.stderr as ReadableStream<Uint8Array>);
    const exited = proc.exited;
    const listening = await until("the listening log line", 30_000, () => {
      if (proc!.exitCode !== null) throw new SmokeFailure(`exited with ${proc!.exitCode} before listening:\n${out}`);
      const l = out.split("\n").find((s) => s.includes('"msg":"listening"'));
      return l === undefined ? null : (JSON.parse(l) as { httpPort: number; udpPort: number });
    });
    check(true, "starts from an empty directory with nothing on PATH, ignoring its .env");
    check(!out.includes(PRELOAD_MARKER), "does not autoload bunfig.toml from the working directory");
    const base = `http://127.0.0.1:${listening.httpPort}`;

    const health = await fetch(`${base}/healthz`);
    check(health.status === 200 && (await health.text()) === "ok\n", "GET /healthz");
    const page = await fetch(`${base}/`);
    const html = await page.text();
    if (dashboard) check(page.status === 200 && html.includes("<html"), "GET / serves the dashboard", String(page.status));
    else check(page.status === 404, "GET / is 404 without the dashboard", String(page.status));
    const stats = (await (await fetch(`${base}/api/stats`)).json()) as { version: string };
    check(stats.version === pkg.version, "GET /api/stats", JSON.stringify(stats).slice(0, 200));
    const hash = "%12%34%56%78%9a%bc%de%f0%12%34%56%78%9a%bc%de%f0%12%34%56%78";
    const announce = await fetch(`${base}/announce?info_hash=${hash}&peer_id=-SM0001-abcdefghijkl&port=6881&left=0&compact=1`);
    const body = Buffer.from(await announce.arrayBuffer()).toString("latin1");
    check(body.startsWith("d") && body.includes("8:intervali") && !body.includes("failure reason"), "HTTP announce", body.slice(0, 120));
    const reply = await udpConnect(listening.udpPort);
    const parsed = (() => {
      try {
        return parseReply(reply);
      } catch {
        return null;
      }
    })();
    check(parsed?.action === "connect" && parsed.transactionId === SMOKE_TXID, "UDP connect", Buffer.from(reply).toString("hex"));

    if (WINDOWS) {
      const trends = join(programData, "buntracker", "trends.jsonl");
      await until(trends, 10_000, () => (existsSync(trends) ? true : null));
      check(true, "keeps trends in %ProgramData%\\buntracker by default");
      // Windows has no signal to send another process; a console's Ctrl+C cannot be simulated from here.
      proc.kill();
      await exited;
      check(true, "stops when terminated");
    } else {
      proc.kill("SIGINT");
      const code = await exited;
      check(code === 0 && out.includes('"msg":"stopped"'), "stops gracefully on SIGINT with exit 0", `exit ${code}`);
    }
  } finally {
    if (proc !== null && proc.exitCode === null) proc.kill("SIGKILL");
    await proc?.exited;
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const binaries: string[] = [];
  let dashboard = true;
  let commit: string | null = null;
  let runner: string[] = [];
  let bad = false;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--no-dashboard") dashboard = false;
    else if (args[i] === "--commit" && i + 1 < args.length) commit = args[++i];
    else if (args[i] === "--runner" && i + 1 < args.length) runner = args[++i].split(" ").filter((w) => w !== "");
    else if (args[i].startsWith("--")) bad = true;
    else binaries.push(args[i]);
  }
  const binary = binaries[0];
  if (bad || binaries.length !== 1) {
    console.error("usage: bun scripts/smoke.ts BINARY [--no-dashboard] [--commit HASH] [--runner COMMAND]");
    process.exit(2);
  }
  try {
    await smoke(resolve(binary), dashboard, commit, runner);
    console.log(`smoke: ${binary} passed`);
  } catch (err) {
    console.error(`smoke: ${binary} FAILED: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
