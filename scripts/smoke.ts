// Checks one built executable the way a user meets it: started from an unrelated, empty directory with no
// tools on PATH, it must print its version and commit; answer HTTP, UDP and WebSocket (WebTorrent) announces
// for one swarm; serve or leave out the dashboard (the page and its script); complete a TLS handshake on a
// second listener; ignore a .env and a bunfig.toml it finds there (release builds never autoload them); keep
// its trends where the platform default says; and stop cleanly, saving its state file. Used by the tests, by
// CI on Linux and on Windows, and by scripts/cpu-matrix.ts under emulated CPUs.
//
//   bun scripts/smoke.ts BINARY [--no-dashboard] [--commit HASH] [--runner "qemu-aarch64 -L /usr/aarch64-linux-gnu"]
//
// --runner starts the binary through another program, e.g. an emulator for another CPU or CPU model.
//
// Prints one "ok" line per check and exits 0, or names the first failure and exits 1.

import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { parseReply, type UdpReply, writeRequest } from "../src/codec/udp-messages.ts";

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

/** Sends a BEP 15 request until a reply comes (UDP may drop it), at most 5 times a second apart. */
async function udpExchange(port: number, request: Uint8Array): Promise<UdpReply | null> {
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
      if (got === null) continue;
      try {
        return parseReply(got);
      } catch {
        return null; // not a BEP 15 reply: the caller's check fails and says what came
      }
    }
    throw new SmokeFailure("no UDP reply after 5 tries");
  } finally {
    socket.close();
  }
}

const INFO_HASH = Uint8Array.from({ length: 20 }, (_, i) => [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0][i % 8]);
const percentEncoded = (b: Uint8Array) => [...b].map((x) => `%${x.toString(16).padStart(2, "0")}`).join("");
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);

/** A leecher's UDP connect and announce (BEP 15) for INFO_HASH on port 6882; returns the announce reply. */
async function udpAnnounce(port: number): Promise<UdpReply | null> {
  const cr = await udpExchange(port, writeRequest({ action: "connect", transactionId: SMOKE_TXID }));
  check(cr?.action === "connect" && cr.transactionId === SMOKE_TXID, "UDP connect", JSON.stringify(cr));
  if (cr?.action !== "connect") return null;
  return await udpExchange(
    port,
    writeRequest({
      action: "announce",
      connectionId: cr.connectionId,
      transactionId: SMOKE_TXID + 1,
      infoHash: INFO_HASH,
      peerId: new TextEncoder().encode("-SM0001-udpudpudpudp"),
      downloaded: 0n,
      left: 1000n, // a leecher
      uploaded: 0n,
      event: 0,
      ip: 0,
      key: 0,
      numWant: -1, // the tracker's default
      port: 6882,
      options: [],
    }),
  );
}

/** A WebTorrent client's announce over ws:// for INFO_HASH, and the tracker's answer. */
async function wsAnnounce(port: number): Promise<Record<string, unknown>> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/announce`);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new SmokeFailure("no WebSocket announce reply within 30 s")), 30_000);
      socket.onopen = () =>
        socket.send(
          JSON.stringify({
            action: "announce",
            info_hash: latin1(INFO_HASH),
            peer_id: "-WW0001-wswswswswsws",
            left: 0,
            numwant: 0,
            offers: [],
          }),
        );
      socket.onmessage = (e) => {
        clearTimeout(timer);
        resolve(JSON.parse(String(e.data)) as Record<string, unknown>);
      };
      socket.onerror = () => {
        clearTimeout(timer);
        reject(new SmokeFailure("WebSocket connection failed"));
      };
    });
  } finally {
    socket.close();
  }
}

// A self-signed certificate for 127.0.0.1 (EC P-256, valid 2000-2100) and its key, for the TLS check only:
// fixed here so that the check needs nothing on the machine but the executable (no openssl on Windows). Never use
// this key for anything else; it is public.
const SMOKE_CERT = `-----BEGIN CERTIFICATE-----
MIIBdDCCARqgAwIBAgIBATAKBggqhkjOPQQDAjAgMR4wHAYDVQQDDBVidW50cmFj
a2VyLXNtb2tlLnRlc3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBa
MCAxHjAcBgNVBAMMFWJ1bnRyYWNrZXItc21va2UudGVzdDBZMBMGByqGSM49AgEG
CCqGSM49AwEHA0IABGSEFvuMtQs4vPBERGWgYYCbaHOqI/LPlee2BNgO3KxacEOL
1IaG6GT3y0JX9B1rqvjUZDtr57gpksnF1hwBhoWjQzBBMA8GA1UdEQQIMAaHBH8A
AAEwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUen2qESW4Ev6eI4hudFSAdy5b
WFIwCgYIKoZIzj0EAwIDSAAwRQIhAK5xFxdeJ0idowXcsOT/G6y1seadvEjoR8+F
ymMBrG8zAiBiTDCseH8Ge5wut8bNWyj0Dvly6IKUXgFCD1DkC+qKWg==
-----END CERTIFICATE-----
`;
const SMOKE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguc4Jkkl9RBc+OVKK
YcyEz1drnwu6zahhvbXN1wRO8YehRANCAARkhBb7jLULOLzwRERloGGAm2hzqiPy
z5XntgTYDtysWnBDi9SGhuhk98tCV/Qda6r41GQ7a+e4KZLJxdYcAYaF
-----END PRIVATE KEY-----
`;

export interface SmokeOptions {
  /** The build has the dashboard (GET / serves it) or not (404). Default true. */
  dashboard?: boolean;
  /** The commit --version must name; null: any but "unknown". */
  commit?: string | null;
  /** A program (and its arguments) the binary is started through, e.g. an emulator. */
  runner?: string[];
}

export async function smoke(binary: string, options: SmokeOptions = {}): Promise<void> {
  const { dashboard = true, commit = null } = options;
  let runner = options.runner ?? [];
  if (runner.length > 0) runner = [Bun.which(runner[0]) ?? runner[0], ...runner.slice(1)];
  const version = Bun.spawnSync([...runner, binary, "--version"], { stdout: "pipe", stderr: "pipe" });
  const line = version.stdout.toString().trim();
  const m = line.match(/^buntracker (\S+) \((\S+)\)$/);
  check(
    version.exitCode === 0 && m !== null && m[1] === pkg.version,
    "--version prints the version",
    `${version.exitCode === null ? `killed by ${version.signalCode}` : `exit ${version.exitCode}`}: ${line || version.stderr.toString().trim().split("\n")[0]}`,
  );
  check(commit === null ? m![2] !== "unknown" : m![2] === commit, "--version names the commit it was built from", line);

  // The installers' contract: --check-config prints the address as the tracker reads it, or refuses with exit 2.
  const good = Bun.spawnSync([...runner, binary, "--check-config", "--listen", "6969"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  check(
    good.exitCode === 0 && /^listen = "\[::\]:6969"/m.test(good.stdout.toString()),
    "--check-config prints the settings",
    good.stdout.toString() + good.stderr.toString(),
  );
  const bad = Bun.spawnSync([...runner, binary, "--check-config", "--peer-timeout-secs", "60"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  check(
    bad.exitCode === 2 && bad.stderr.toString().includes("--interval-secs"),
    "--check-config refuses a bad setting with exit 2",
    bad.stderr.toString(),
  );

  const dir = await mkdtemp(join(tmpdir(), "buntracker-smoke-"));
  const programData = join(dir, "ProgramData");
  const stateFile = join(dir, "state.bin");
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  try {
    // Traps for a build that still autoloads files from the working directory.
    await writeFile(join(dir, ".env"), "BUNTRACKER_LOG_LEVEL=not-a-level\n");
    await writeFile(join(dir, "preload.ts"), `console.log("${PRELOAD_MARKER}");\n`);
    await writeFile(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    const certificate = { cert: join(dir, "smoke.crt"), key: join(dir, "smoke.key") };
    await writeFile(certificate.cert, SMOKE_CERT);
    await writeFile(certificate.key, SMOKE_KEY);
    const env: Record<string, string> = {};
    if (WINDOWS) {
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("BUNTRACKER_")) env[k] = v;
      env.ProgramData = programData;
    } else {
      Object.assign(env, { PATH: join(dir, "no-such-dir"), HOME: dir, LANG: "C" });
    }
    const args = [
      "--listen",
      "127.0.0.1:0",
      "--state-file",
      stateFile,
      "--tls-listen",
      "127.0.0.1:0",
      "--tls-cert",
      certificate.cert,
      "--tls-key",
      certificate.key,
    ];
    proc = Bun.spawn([...runner, binary, ...args], { cwd: dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let out = "";
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
    };
    void collect(proc.stdout as ReadableStream<Uint8Array>);
    void collect(proc.stderr as ReadableStream<Uint8Array>);
    const exited = proc.exited;
    // Generous: under an emulator the runtime starts in seconds, not milliseconds.
    const listening = await until("the listening log line", 180_000, () => {
      if (proc!.exitCode !== null) throw new SmokeFailure(`exited with ${proc!.exitCode} before listening:\n${out}`);
      const l = out.split("\n").find((s) => s.includes('"msg":"listening"'));
      return l === undefined ? null : (JSON.parse(l) as { httpPort: number; udpPort: number; https?: string });
    });
    check(true, "starts from an empty directory with nothing on PATH, ignoring its .env");
    check(!out.includes(PRELOAD_MARKER), "does not autoload bunfig.toml from the working directory");
    const base = `http://127.0.0.1:${listening.httpPort}`;

    const health = await fetch(`${base}/healthz`);
    check(health.status === 200 && (await health.text()) === "ok\n", "GET /healthz");
    const page = await fetch(`${base}/`);
    const html = await page.text();
    if (dashboard) {
      check(page.status === 200 && html.includes("<html"), "GET / serves the dashboard", String(page.status));
      const script = html.match(/src="(\/[^"]+\.js)"/)?.[1];
      const js = script === undefined ? null : await fetch(base + script);
      check(
        js?.status === 200 && (await js.text()).length > 1000,
        "GET the dashboard's script",
        script ?? "no <script src> in the page",
      );
    } else {
      check(page.status === 404, "GET / is 404 without the dashboard", String(page.status));
    }
    const stats = (await (await fetch(`${base}/api/stats`)).json()) as { version: string };
    check(stats.version === pkg.version, "GET /api/stats", JSON.stringify(stats).slice(0, 200));

    // One swarm announced to over HTTP (a seeder), UDP (a leecher) and WebSocket (a WebTorrent seeder).
    const announce = await fetch(
      `${base}/announce?info_hash=${percentEncoded(INFO_HASH)}&peer_id=-SM0001-abcdefghijkl&port=6881&left=0&compact=1`,
    );
    const body = Buffer.from(await announce.arrayBuffer()).toString("latin1");
    check(
      body.startsWith("d") && body.includes("8:intervali") && !body.includes("failure reason"),
      "HTTP announce",
      body.slice(0, 120),
    );
    const ur = await udpAnnounce(listening.udpPort);
    const udpPeers = ur?.action === "announce" ? ur.peers.map((p) => `${p.ip}:${p.port}`) : [];
    check(
      ur?.action === "announce" &&
        ur.transactionId === SMOKE_TXID + 1 &&
        ur.seeders === 1 &&
        udpPeers.includes("127.0.0.1:6881"),
      "UDP announce (gets the HTTP seeder)",
      JSON.stringify(ur),
    );
    const wr = await wsAnnounce(listening.httpPort);
    check(
      wr.action === "announce" && wr.complete === 2 && wr.incomplete === 1,
      "WebSocket (WebTorrent) announce counts all three peers",
      JSON.stringify(wr),
    );

    const tlsPort = Number(listening.https?.split(":").pop());
    const secure = await fetch(`https://127.0.0.1:${tlsPort}/healthz`, { tls: { ca: SMOKE_CERT } } as RequestInit);
    check(
      secure.status === 200 && (await secure.text()) === "ok\n",
      "TLS handshake and GET /healthz over HTTPS (certificate checked)",
    );

    if (WINDOWS) {
      const trends = join(programData, "buntracker", "trends.jsonl");
      await until(trends, 10_000, () => (existsSync(trends) ? true : null));
      check(true, "keeps trends in %ProgramData%\\buntracker by default");
      // Windows has no signal to send another process; a console's Ctrl+C cannot be simulated from here (so
      // the state file, saved on a graceful stop, is not checked either).
      proc.kill();
      await exited;
      check(true, "stops when terminated");
    } else {
      proc.kill("SIGINT");
      const code = await exited;
      check(code === 0 && out.includes('"msg":"stopped"'), "stops gracefully on SIGINT with exit 0", `exit ${code}`);
      const state = existsSync(stateFile) ? await readFile(stateFile) : Buffer.alloc(0);
      check(
        state.subarray(0, 8).toString("latin1") === "BTSTATE\0" && state.includes(INFO_HASH),
        "saves the swarm to --state-file on stop",
        `${state.length} bytes`,
      );
    }
  } finally {
    if (proc !== null && proc.exitCode === null) proc.kill("SIGKILL");
    await proc?.exited;
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const binaries: string[] = [];
  const options: SmokeOptions = {};
  let bad = false;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--no-dashboard") options.dashboard = false;
    else if (args[i] === "--commit" && i + 1 < args.length) options.commit = args[++i];
    else if (args[i] === "--runner" && i + 1 < args.length)
      options.runner = args[++i].split(" ").filter((w) => w !== "");
    else if (args[i].startsWith("--")) bad = true;
    else binaries.push(args[i]);
  }
  const binary = binaries[0];
  if (bad || binaries.length !== 1) {
    console.error("usage: bun scripts/smoke.ts BINARY [--no-dashboard] [--commit HASH] [--runner COMMAND]");
    process.exit(2);
  }
  try {
    await smoke(resolve(binary), options);
    console.log(`smoke: ${binary} passed`);
  } catch (err) {
    console.error(`smoke: ${binary} FAILED: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
