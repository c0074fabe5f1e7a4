// --state-file with the real process (docs/limits.md): swarms and all-time completion
// counts survive a graceful restart and a crash after a save; a damaged, partial, foreign or future-version
// file is moved aside with a warning and the tracker starts empty; a file that cannot be read, or a folder
// that cannot take the saves, stops the start (one line, exit 2) and the file is left as it is; a restore
// keeps within the limits.

import { afterEach, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { announceQuery, compactPeers, getBencode, latin1, pct, sha1 } from "../helpers/http-client.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";
import { announcePacket, parseAnnounceReply, scrapePacket, UdpClient } from "../helpers/udp-client.ts";

const running: TrackerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop("SIGKILL");
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "buntracker-state-"));
  dirs.push(d);
  return d;
}

async function start(stateFile: string, extra: string[] = []): Promise<TrackerProcess> {
  const p = await startTracker(["--listen", "[::]:0", "--rate-limit", "0", "--state-file", stateFile, ...extra]);
  running.push(p);
  return p;
}

/** A graceful stop: SIGTERM, and the exit code must be 0. */
async function stop(p: TrackerProcess): Promise<void> {
  expect(await p.stop("SIGTERM")).toBe(0);
  running.splice(running.indexOf(p), 1);
}

/** The JSON log lines about the state file the process wrote at `level`. */
function logLines(p: TrackerProcess, level: string): Record<string, unknown>[] {
  return p
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.level === level && String(l.msg).startsWith("state"));
}

const base = (p: TrackerProcess, host: "127.0.0.1" | "::1" = "127.0.0.1") =>
  host === "::1" ? `http://[::1]:${p.httpPort}` : `http://127.0.0.1:${p.httpPort}`;

async function announce(
  p: TrackerProcess,
  host: "127.0.0.1" | "::1",
  hash: Uint8Array,
  port: number,
  left: number,
  event?: string,
) {
  const { body } = await getBencode(
    `${base(p, host)}/announce?${announceQuery({ infoHash: hash, port, left, event, numwant: 200 })}`,
  );
  if ("failure reason" in body) throw new Error(`announce failed: ${body["failure reason"]}`);
  return body;
}

async function udpAnnounce(
  p: TrackerProcess,
  host: "127.0.0.1" | "::1",
  hash: Uint8Array,
  port: number,
  left: bigint,
  event = 0,
): Promise<void> {
  const c = await UdpClient.open(host, p.udpPort!, host);
  try {
    const id = await c.connect();
    const reply = await c.request(
      announcePacket({
        connectionId: id,
        infoHash: hash,
        port,
        left,
        event,
        peerId: new TextEncoder().encode("-qB4650-abcdefghijkl"),
      }),
    );
    parseAnnounceReply(reply, host === "::1" ? 6 : 4);
  } finally {
    c.close();
  }
}

// The swarms every test builds: mixed families and protocols, seeders, leechers and completions.
const T = {
  mixed: sha1("state mixed"),
  gone: sha1("state completed then gone"),
  v6only: sha1("state v6 only"),
  seeding: sha1("state seeding"),
};
const ALL = Object.values(T);
/** A peer of each torrent that is still there, to ask for the peer list again after a restart. */
const REFERENCE: [Uint8Array, "127.0.0.1" | "::1", number, number][] = [
  [T.mixed, "127.0.0.1", 1003, 500],
  [T.v6only, "::1", 3001, 500],
  [T.seeding, "127.0.0.1", 4002, 500],
];

async function buildSwarms(p: TrackerProcess): Promise<void> {
  await announce(p, "127.0.0.1", T.mixed, 1001, 0, "completed");
  await announce(p, "127.0.0.1", T.mixed, 1002, 100, "started");
  await announce(p, "127.0.0.1", T.mixed, 1002, 0); // a leecher that finishes without saying so: counted
  await announce(p, "127.0.0.1", T.mixed, 1003, 500, "started");
  await announce(p, "::1", T.mixed, 1004, 0, "completed");
  await announce(p, "::1", T.mixed, 1005, 500, "started");
  await udpAnnounce(p, "127.0.0.1", T.mixed, 1006, 500n, 2);
  await udpAnnounce(p, "127.0.0.1", T.mixed, 1006, 0n, 1);
  await udpAnnounce(p, "::1", T.mixed, 1007, 500n, 2);
  // The only completing peer leaves: the torrent has no peers, but one all-time completion.
  await announce(p, "127.0.0.1", T.gone, 2001, 100, "started");
  await announce(p, "127.0.0.1", T.gone, 2001, 0, "completed");
  await announce(p, "127.0.0.1", T.gone, 2001, 0, "stopped");
  await announce(p, "::1", T.v6only, 3001, 500, "started");
  await announce(p, "::1", T.v6only, 3002, 700, "started");
  await udpAnnounce(p, "::1", T.v6only, 3003, 0n, 1);
  await announce(p, "127.0.0.1", T.seeding, 4001, 0, "started"); // a seeder starting up: no completion
  await announce(p, "127.0.0.1", T.seeding, 4002, 500, "started");
}

interface Observed {
  stats: Record<string, number>;
  scrape: unknown;
  peers: string[][];
  clients: unknown;
}

async function observe(p: TrackerProcess): Promise<Observed> {
  const s = (await (await fetch(`${base(p)}/api/stats`)).json()) as Record<string, number>;
  const stats = Object.fromEntries(
    ["peers", "peers_ipv4", "peers_ipv6", "seeders", "leechers", "completed"].map((k) => [k, s[k]]),
  );
  const scrape = (await getBencode(`${base(p)}/scrape?${ALL.map((h) => `info_hash=${pct(h)}`).join("&")}`)).body;
  const peers: string[][] = [];
  for (const [hash, host, port, left] of REFERENCE) {
    // A known peer announcing again (no event) changes nothing but its time, and gets everyone else.
    const body = await announce(p, host, hash, port, left);
    peers.push([...compactPeers(body.peers, 6), ...compactPeers(body.peers6, 18)].sort());
  }
  const clients = await (await fetch(`${base(p)}/api/clients/list`)).json();
  return { stats, scrape, peers, clients };
}

const EXPECTED_STATS = { peers: 12, peers_ipv4: 6, peers_ipv6: 6, seeders: 6, leechers: 6, completed: 6 };

async function goodStateFile(dir: string): Promise<{ path: string; bytes: Uint8Array<ArrayBuffer>; before: Observed }> {
  const path = join(dir, "state.bin");
  const p = await start(path);
  await buildSwarms(p);
  const before = await observe(p);
  await stop(p);
  return { path, bytes: new Uint8Array(await readFile(path)), before };
}

describe("--state-file", () => {
  test("a graceful restart keeps swarms, peer lists, clients and all-time completion counts", async () => {
    const dir = await tempDir();
    const { path, before } = await goodStateFile(dir);
    expect(before.stats).toEqual(EXPECTED_STATS);
    expect(before.peers.map((l) => l.length)).toEqual([6, 2, 1]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(["state.bin"]); // no temporary file left behind

    const p = await start(path);
    const restored = logLines(p, "info").find((l) => l.msg === "state restored");
    expect(restored).toMatchObject({ torrents: 3, dormant: 1, peers: 12 });
    const after = await observe(p);
    expect(after).toEqual(before);
    const stats = (await (await fetch(`${base(p)}/api/stats`)).json()) as Record<string, number>;
    expect(stats.torrents).toBe(3); // the torrent without peers is kept dormant, for its count only
    // All-time: the torrent whose only completing peer left still reports its completion, and ranks.
    const files = (after.scrape as { files: Record<string, Record<string, number>> }).files;
    expect(files[latin1(T.gone)]).toEqual({ complete: 0, downloaded: 1, incomplete: 0 });
    expect(files[latin1(T.mixed)]).toEqual({ complete: 4, downloaded: 4, incomplete: 3 });
    const top = (await (await fetch(`${base(p)}/api/top100`)).json()) as {
      downloaded: { info_hash: string; downloaded: number }[];
    };
    expect(top.downloaded).toContainEqual(
      expect.objectContaining({
        info_hash: Buffer.from(T.gone).toString("hex"),
        downloaded: 1,
        seeders: 0,
        leechers: 0,
      }),
    );
    // UDP clients reconnect (connection ids do not survive) and see the restored swarm.
    const c = await UdpClient.open("127.0.0.1", p.udpPort!, "127.0.0.1");
    try {
      const reply = await c.request(scrapePacket(await c.connect(), [T.mixed, T.gone]));
      const v = new DataView(reply.buffer, reply.byteOffset);
      expect([8, 12, 16, 20, 24, 28].map((o) => v.getUint32(o))).toEqual([4, 4, 3, 0, 1, 0]);
    } finally {
      c.close();
    }
    // A new completion after the restart adds to the all-time count, and a second restart keeps it.
    await announce(p, "127.0.0.1", T.gone, 2002, 0, "completed");
    await stop(p);
    const again = await start(path);
    const s2 = (await (await fetch(`${base(again)}/api/stats`)).json()) as Record<string, number>;
    expect(s2.completed).toBe(7);
    const f2 = (await getBencode(`${base(again)}/scrape?info_hash=${pct(T.gone)}`)).body.files as Record<
      string,
      Record<string, number>
    >;
    expect(f2[latin1(T.gone)]).toEqual({ complete: 1, downloaded: 2, incomplete: 0 });
    expect(logLines(again, "warn")).toEqual([]);
  }, 30_000);

  test("a crash (SIGKILL) after a graceful save restarts from that save", async () => {
    const dir = await tempDir();
    const { path, bytes, before } = await goodStateFile(dir);
    const p = await start(path);
    await announce(p, "127.0.0.1", sha1("state after the save"), 5001, 0, "completed");
    await announce(p, "127.0.0.1", T.mixed, 1008, 0, "completed");
    expect(await p.stop("SIGKILL")).not.toBe(0);
    running.splice(running.indexOf(p), 1);
    expect(new Uint8Array(await readFile(path))).toEqual(bytes); // untouched by the crash
    const q = await start(path);
    expect(logLines(q, "warn")).toEqual([]);
    expect(await observe(q)).toEqual(before);
    const s = (await getBencode(`${base(q)}/scrape?info_hash=${pct(sha1("state after the save"))}`)).body
      .files as Record<string, unknown>;
    expect(Object.values(s)).toEqual([{ complete: 0, downloaded: 0, incomplete: 0 }]);
  }, 30_000);

  describe("a damaged, partial or foreign file is moved aside and the tracker starts empty", () => {
    const corruptions: [string, (good: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>, string][] = [
      [
        "one byte flipped in the middle",
        (g) => g.map((b, i) => (i === g.length >> 1 ? b ^ 0x40 : b)),
        "checksum mismatch",
      ],
      ["truncated to half", (g) => g.slice(0, g.length >> 1), "checksum mismatch"],
      ["truncated to 30 bytes", (g) => g.slice(0, 30), "too short"],
      ["empty", () => new Uint8Array(0), "too short"],
      ["garbage", () => new Uint8Array(4096).map((_, i) => (i * 7919 + 13) & 0xff), "not a buntracker state file"],
      ["a future format version (checksum fixed)", futureVersion, "state file version 2 is not supported (expected 1)"],
      // Every record reads fine, so all of them would load before the count at the end is seen: it must
      // load none of them all the same.
      ["a wrong torrent count (checksum fixed)", wrongCount, "expected 5 torrents, found 4"],
    ];
    for (const [name, corrupt, why] of corruptions) {
      test(name, async () => {
        const dir = await tempDir();
        const { path, bytes } = await goodStateFile(dir);
        const bad = corrupt(bytes);
        await writeFile(path, bad);
        const p = await start(path);
        const warn = logLines(p, "warn").find((l) => String(l.msg).includes("moved it aside"));
        expect(warn).toBeDefined();
        expect(String(warn!.why)).toContain(why);
        const aside = String(warn!.movedTo);
        expect(aside).toMatch(new RegExp(`^${path.replace(/[.]/g, "\\.")}\\.corrupt-\\d+$`));
        expect((await readdir(dir)).sort()).toEqual([aside.slice(dir.length + 1)]);
        expect(new Uint8Array(await readFile(aside))).toEqual(bad); // kept as it was, for a look
        // Serving, and empty.
        const stats = (await (await fetch(`${base(p)}/api/stats`)).json()) as Record<string, number>;
        expect([stats.torrents, stats.peers, stats.completed]).toEqual([0, 0, 0]);
        const files = (await getBencode(`${base(p)}/scrape?info_hash=${pct(T.mixed)}`)).body.files as Record<
          string,
          unknown
        >;
        expect(files[latin1(T.mixed)]).toEqual({ complete: 0, downloaded: 0, incomplete: 0 });
        await announce(p, "127.0.0.1", T.mixed, 9001, 0, "completed");
        // The next save is a good file again.
        await stop(p);
        const q = await start(path);
        expect(logLines(q, "warn")).toEqual([]);
        expect(((await (await fetch(`${base(q)}/api/stats`)).json()) as Record<string, number>).completed).toBe(1);
      }, 30_000);
    }
  });

  describe("a state file that cannot be read, or saves that could not be written, stop the start", () => {
    test("a directory in place of the file: one line, exit 2, left as it is", async () => {
      const dir = await tempDir();
      const path = join(dir, "state.bin");
      await mkdir(path);
      expect(await refusal(path)).toEqual({
        code: 2,
        stderr: `buntracker: --state-file ${path} is a directory, not a file\n`,
      });
      expect((await stat(path)).isDirectory()).toBe(true);
      expect(await readdir(dir)).toEqual(["state.bin"]); // nothing moved aside, no temporary file
    }, 30_000);

    // Both need another user's file or folder: run as root, dropping to nobody for the tracker (setpriv).
    const asRoot = process.getuid?.() === 0 && Bun.which("setpriv") !== null;

    test.skipIf(!asRoot)(
      "a root-owned 0600 file read by an unprivileged tracker: exit 2, the file keeps every byte",
      async () => {
        const dir = await tempDir();
        const { path, bytes } = await goodStateFile(dir);
        await chmod(dir, 0o777); // the folder is writable by anyone: only the file's permissions stop the read
        expect(await refusal(path, true)).toEqual({
          code: 2,
          stderr: `buntracker: --state-file ${path} cannot be read (permission denied); it is left as it is\n`,
        });
        expect(new Uint8Array(await readFile(path))).toEqual(bytes);
        expect(await readdir(dir)).toEqual(["state.bin"]);
      },
      30_000,
    );

    test("a folder that does not exist fails at start, not at the first save", async () => {
      const dir = await tempDir();
      const path = join(dir, "missing", "state.bin");
      expect(await refusal(path)).toEqual({
        code: 2,
        stderr: `buntracker: --state-file ${path} cannot be saved: its folder does not exist\n`,
      });
    }, 30_000);

    test.skipIf(!asRoot)(
      "a folder the tracker cannot write fails at start, even with a readable file in it",
      async () => {
        const dir = await tempDir();
        const { path, bytes } = await goodStateFile(dir);
        await chmod(dir, 0o755);
        await chmod(path, 0o644);
        expect(await refusal(path, true)).toEqual({
          code: 2,
          stderr: `buntracker: --state-file ${path} cannot be saved: its folder is not writable (permission denied)\n`,
        });
        expect(new Uint8Array(await readFile(path))).toEqual(bytes);
      },
      30_000,
    );
  });

  test("a restore keeps within --max-torrents, --max-peers and --max-peers-per-torrent, and says what it left out", async () => {
    const dir = await tempDir();
    const { path } = await goodStateFile(dir);
    const p = await start(path, ["--max-torrents", "2", "--max-peers", "5"]);
    const stats = (await (await fetch(`${base(p)}/api/stats`)).json()) as Record<string, number>;
    // Saved: 3 live torrents (12 peers) and 1 dormant. With --workers each thread restores its share and says
    // what the limits left out of it: together at most 2 live torrents and 5 peers, and every torrent is
    // either restored or counted as left out.
    expect(stats.torrents).toBeLessThanOrEqual(2);
    expect(stats.peers).toBe(5);
    const warns = logLines(p, "warn").filter((l) => l.msg === "state: the limits left part of the state file out");
    expect(warns.length).toBeGreaterThan(0);
    for (const w of warns) expect(w).toMatchObject({ maxTorrents: 2, maxPeers: 5 });
    const restored = logLines(p, "info").find((l) => l.msg === "state restored")!;
    const leftOut = warns.reduce((n, w) => n + Number(w.torrents), 0);
    expect(Number(restored.torrents) + Number(restored.dormant) + leftOut).toBe(4);
    if (restored.threads === undefined) {
      // One thread restores in announce order: mixed (7 peers), gone (dormant), v6only, seeding. The first
      // two fit, and 5 of mixed's peers.
      expect([stats.torrents, stats.peers]).toEqual([1, 5]);
      expect(warns).toMatchObject([{ torrents: 2, peers: 2 }]);
    }
    const q = await start(path, ["--max-peers-per-torrent", "2"]);
    const view = (await getBencode(`${base(q)}/scrape?info_hash=${pct(T.mixed)}`)).body.files as Record<
      string,
      Record<string, number>
    >;
    expect(view[latin1(T.mixed)].complete + view[latin1(T.mixed)].incomplete).toBe(2);
  }, 30_000);

  test("in allow mode, restored torrents the allow list does not name are dropped", async () => {
    const dir = await tempDir();
    const { path } = await goodStateFile(dir);
    const list = join(dir, "allow.txt");
    await writeFile(list, `${Buffer.from(T.v6only).toString("hex")}\n`);
    const p = await start(path, ["--access-mode", "allow", "--access-list", list, "--full-scrape", "on"]);
    const stats = (await (await fetch(`${base(p)}/api/stats`)).json()) as Record<string, number>;
    expect([stats.torrents, stats.peers]).toEqual([1, 3]);
    const full = (await getBencode(`${base(p)}/scrape`, { headers: { "accept-encoding": "identity" } })).body
      .files as Record<string, unknown>;
    expect(Object.keys(full)).toEqual([latin1(T.v6only)]);
  }, 30_000);
});

/**
 * Runs the tracker on `stateFile` expecting it to refuse to start; `asNobody` runs it as an unprivileged user
 * (the tests run as root, who reads anything). A tracker that starts instead is stopped: code -1.
 */
async function refusal(stateFile: string, asNobody = false): Promise<{ code: number; stderr: string }> {
  const prefix = asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  const proc = Bun.spawn(
    [
      ...prefix,
      process.execPath,
      join(import.meta.dir, "../../src/main.ts"),
      "--listen",
      "127.0.0.1:0",
      "--state-file",
      stateFile,
    ],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  let started = false;
  void (async () => {
    for await (const chunk of proc.stdout) {
      if (new TextDecoder().decode(chunk).includes('"msg":"listening"')) {
        started = true;
        proc.kill("SIGKILL");
      }
    }
  })();
  const code = await proc.exited;
  return { code: started ? -1 : code, stderr: await new Response(proc.stderr).text() };
}

/** The good file claiming one torrent more than it holds, checksum fixed. */
function wrongCount(good: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const b = good.slice();
  const v = new DataView(b.buffer);
  v.setUint32(b.length - 36, v.getUint32(b.length - 36, true) + 1, true);
  const body = b.subarray(0, b.length - 32);
  b.set(new Uint8Array(new Bun.CryptoHasher("sha256").update(body).digest()), b.length - 32);
  return b;
}

/** The good file with its version field set to 2 and the checksum recomputed, as a newer build would write. */
function futureVersion(good: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const b = good.slice();
  new DataView(b.buffer).setUint32(8, 2, true);
  const body = b.subarray(0, b.length - 32);
  b.set(new Uint8Array(new Bun.CryptoHasher("sha256").update(body).digest()), b.length - 32);
  return b;
}
