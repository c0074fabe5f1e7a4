// --workers 2, what an operator sees: the statistics API, /metrics, the rankings and the client counts cover
// every thread's torrents (each thread holds only the swarms it owns), with exact counts; the state file saves
// and restores every thread's swarms.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { Counters } from "../../src/frontend/counters.ts";
import type { FrozenTable } from "../../src/core/torrent-table.ts";
import { AccessControl } from "../../src/server/access-control.ts";
import { IntervalControl, TICK_MS } from "../../src/server/interval-control.ts";
import { Logger } from "../../src/server/logger.ts";
import { hashesForBothOwners } from "../helpers/owners.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { announceQuery, getBencode, latin1, pct, sha1 } from "../helpers/http-client.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A qBittorrent peer id, distinct per `n`. */
function peerId(n: number): Uint8Array {
  return new TextEncoder().encode(`-qB4500-${String(n).padStart(12, "0")}`);
}

/**
 * Announces `seeders` (completed) and `leechers` peers to each torrent, each on a new connection so that the
 * kernel spreads them over both threads.
 */
export async function fill(base: string, torrents: Uint8Array[], seeders: number, leechers: number): Promise<void> {
  let n = 0;
  for (const infoHash of torrents) {
    for (let i = 0; i < seeders + leechers; i++) {
      const seeder = i < seeders;
      const q = announceQuery({
        infoHash,
        port: 10_000 + i,
        peerId: peerId(n++),
        left: seeder ? 0 : 1,
        event: seeder ? "completed" : "started",
      });
      const r = await getBencode(`${base}/announce?${q}`, { headers: { connection: "close" } });
      expect(r.body["failure reason"]).toBeUndefined();
    }
  }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { headers: { connection: "close" } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** A series' value from a /metrics text (the line starting with `series `). */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("--workers 2: statistics and /metrics cover every thread", () => {
  let t: TestTracker;
  let base: string;
  const torrents = hashesForBothOwners(8, "stats");
  beforeAll(async () => {
    t = await startTestTracker(["--workers", "2", "--rate-limit", "0"]);
    base = `http://127.0.0.1:${t.httpPort}`;
    await fill(base, torrents, 3, 2);
  });
  afterAll(() => t.stop());

  test("/api/stats: torrents, peers, seeders, leechers and completions are exact, asked through any thread", async () => {
    // Several connections: some are read by the worker thread, which passes them to the main thread.
    for (let i = 0; i < 6; i++) {
      const s = await getJson(`${base}/api/stats`);
      expect(s.torrents).toBe(8);
      expect(s.peers).toBe(40);
      expect(s.seeders).toBe(24);
      expect(s.leechers).toBe(16);
      expect(s.completed).toBe(24);
    }
  });

  test("/api/top100 ranks both threads' torrents", async () => {
    const top = await getJson(`${base}/api/top100?limit=20`);
    const peers = top.peers as { info_hash: string; peers: number; seeders: number }[];
    expect(peers.map((e) => e.info_hash).sort()).toEqual(torrents.map(hex).sort());
    expect(peers.every((e) => e.peers === 5 && e.seeders === 3)).toBe(true);
  });

  test("/api/clients/list counts every thread's peers", async () => {
    const list = await getJson(`${base}/api/clients/list`);
    expect(list.total).toBe(40);
    expect(list.clients).toEqual([{ name: "qBittorrent", peers: 40, share: 1 }]);
  });

  test("/metrics: totals and request counters of every thread, and per-thread series", async () => {
    const text = await (await fetch(`${base}/metrics`, { headers: { connection: "close" } })).text();
    expect(value(text, "buntracker_torrents")).toBe(8);
    expect(value(text, "buntracker_seeders")).toBe(24);
    expect(value(text, "buntracker_leechers")).toBe(16);
    expect(value(text, "buntracker_completed_total")).toBe(24);
    expect(value(text, 'buntracker_peers_by_client{client="qBittorrent"}')).toBe(40);
    // Every announce was counted by the thread that read it: the sum is all of them.
    expect(value(text, 'buntracker_requests_total{protocol="http",action="announce",outcome="ok"}')).toBe(40);
    expect(value(text, "buntracker_threads")).toBe(2);
    expect(value(text, "buntracker_thread_restarts_total")).toBe(0);
    // Each thread read some of the 40 new connections' announces (and whatever scrapes came before).
    const read = [0, 1].map((w) => value(text, `buntracker_thread_requests_total{worker="${w}",protocol="http"}`)!);
    expect(read.every((n) => n > 0)).toBe(true);
    expect(read[0] + read[1]).toBeGreaterThanOrEqual(40);
    for (const worker of [0, 1]) {
      expect(value(text, `buntracker_thread_handoffs_total{worker="${worker}",outcome="handed"}`)).toBeGreaterThan(0);
      expect(value(text, `buntracker_thread_handoffs_total{worker="${worker}",outcome="answered"}`)).toBeGreaterThan(0);
    }
  });

  test("a thread that dies and starts again takes no counter back, and the restart is counted", async () => {
    const metrics = async () => (await fetch(`${base}/metrics`, { headers: { connection: "close" } })).text();
    const announces = 'buntracker_requests_total{protocol="http",action="announce",outcome="ok"}';
    expect(value(await metrics(), announces)).toBe(40);
    t.pool!.terminate(1);
    const deadline = Date.now() + 10_000;
    while (!t.logs.some((l) => l.includes("worker thread started again")) && Date.now() < deadline) await Bun.sleep(20);
    const text = await metrics();
    expect(value(text, announces)).toBe(40);
    expect(value(text, "buntracker_thread_restarts_total")).toBe(1);
    expect(value(text, "buntracker_threads")).toBe(2);
  });
});

test("--workers 2: the trend sample taken at shutdown counts every thread's swarms", async () => {
  const root = await mkdtemp(join(tmpdir(), "buntracker-workers-trends-"));
  try {
    const file = join(root, "trends.jsonl");
    const t = await startTestTracker(["--workers", "2", "--rate-limit", "0", "--trends-file", file]);
    await fill(`http://127.0.0.1:${t.httpPort}`, hashesForBothOwners(4, "trends"), 3, 2);
    await t.stop();
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    const last = JSON.parse(lines.at(-1)!);
    expect(last).toMatchObject({ torrents: 4, peers: 20, seeders: 12, leechers: 8, clients: { qBittorrent: 20 } });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

describe("--workers: the state file holds every thread's swarms", () => {
  const torrents = hashesForBothOwners(6, "state");
  let root: string;
  let file: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "buntracker-workers-state-"));
    file = join(root, "state.bin");
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const start = (workers: number, more: string[] = []) =>
    startTestTracker(["--workers", String(workers), "--rate-limit", "0", "--state-file", file, ...more]);

  /** Every torrent with its 3 seeders, 2 leechers and 3 completions, through /api/stats and a scrape. */
  async function expectAll(t: TestTracker): Promise<void> {
    const base = `http://127.0.0.1:${t.httpPort}`;
    const s = await getJson(`${base}/api/stats`);
    expect([s.torrents, s.seeders, s.leechers, s.completed]).toEqual([6, 18, 12, 18]);
    const scrape = await getBencode(`${base}/scrape?${torrents.map((h) => `info_hash=${pct(h)}`).join("&")}`);
    const files = scrape.body.files as Record<string, Record<string, number>>;
    for (const h of torrents) expect(files[latin1(h)]).toEqual({ complete: 3, downloaded: 3, incomplete: 2 });
  }

  test("saved by 2 threads on shutdown, restored by 2 threads, then by 1", async () => {
    const t = await start(2);
    await fill(`http://127.0.0.1:${t.httpPort}`, torrents, 3, 2);
    await t.stop();
    const two = await start(2);
    try {
      await expectAll(two);
      // Each thread says what it restored, and the main thread the sum.
      const total = two.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "state restored");
      expect(total).toMatchObject({ threads: 2, torrents: 6, peers: 30 });
    } finally {
      await two.stop();
    }
    const one = await start(1);
    try {
      await expectAll(one);
    } finally {
      await one.stop(); // saved by one thread, for the next test
    }
  });

  test("a save a thread cannot answer fails, and the previous file stays as it was", async () => {
    const before = await readFile(file);
    const t = await start(2);
    await fill(`http://127.0.0.1:${t.httpPort}`, hashesForBothOwners(2, "not saved"), 1, 0);
    t.pool!.terminate(1); // gone, and the shutdown below gives it no time to come back
    await t.stop();
    expect(t.logs.some((l) => l.includes("state: cannot write the state file"))).toBe(true);
    expect(await readFile(file)).toEqual(before);
  });

  test("saved by 1 thread, restored by 2; a thread that dies gets its share back from the file", async () => {
    const t = await start(2);
    try {
      await expectAll(t);
      t.pool!.terminate(1);
      const deadline = Date.now() + 10_000;
      while (!t.logs.some((l) => l.includes("worker thread started again")) && Date.now() < deadline)
        await Bun.sleep(20);
      expect(t.pool!.running).toBe(2);
      await Bun.sleep(1100); // past the one-second cache of /api/stats
      await expectAll(t);
      expect(t.logs.filter((l) => l.includes('"state: share restored"') && l.includes('"worker":1')).length).toBe(2);
    } finally {
      await t.stop();
    }
  });

  test("the first trend sample after a restore counts every thread's swarms", async () => {
    const t = await start(2, ["--trends-file", join(root, "trends.jsonl")]);
    try {
      const trends = await getJson(`http://127.0.0.1:${t.httpPort}/api/trends?range=24h`);
      expect(trends.samples).toEqual([expect.objectContaining({ torrents: 6, seeders: 18, leechers: 12 })]);
    } finally {
      await t.stop();
    }
  });
});

describe("--workers 2: an admin edit of the access list applies to every thread before it is answered", () => {
  const TOKEN = "s3cret-admin-token-0123456789abcdef";
  let root: string;
  let listPath: string;
  let t: TestTracker;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "buntracker-workers-admin-"));
    listPath = join(root, "allow.txt");
    await writeFile(listPath, `${hex(sha1("someone else"))}\n`);
    t = await startTestTracker([
      ...["--workers", "2", "--rate-limit", "0", "--access-mode", "allow", "--access-list", listPath],
      ...["--admin-token", TOKEN],
    ]);
  });
  afterAll(async () => {
    await t.stop();
    await rm(root, { recursive: true, force: true });
  });

  const admin = async (method: string, query: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${t.httpPort}/api/blacklist${query}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, connection: "close" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  };

  /** The failure reasons of announces for `infoHash` over 16 new connections (null: accepted). */
  const announces = async (infoHash: Uint8Array) => {
    const out: (string | null)[] = [];
    for (let i = 0; i < 16; i++) {
      const q = announceQuery({ infoHash, port: 7000 + i, peerId: peerId(i), left: 1 });
      const r = await getBencode(`http://127.0.0.1:${t.httpPort}/announce?${q}`, { headers: { connection: "close" } });
      out.push((r.body["failure reason"] as string | undefined) ?? null);
    }
    return out;
  };

  test("a change to the file reaches every thread (the main thread reads it and shares it)", async () => {
    const [infoHash] = hashesForBothOwners(2, "file-change").slice(1); // thread 1's
    expect((await announces(infoHash)).every((r) => r !== null)).toBe(true);
    await appendFile(listPath, `${hex(infoHash)}\n`);
    const deadline = Date.now() + 10_000;
    let replies = await announces(infoHash);
    while (replies.some((r) => r !== null) && Date.now() < deadline) replies = await announces(infoHash);
    expect(replies).toEqual(new Array(16).fill(null));
  });

  test("a thread started again takes the list as it is, admin edits included", async () => {
    const [, infoHash] = hashesForBothOwners(2, "restart-edit");
    await admin("POST", "", { info_hash: hex(infoHash) });
    t.pool!.terminate(1);
    const deadline = Date.now() + 10_000;
    while (!t.logs.some((l) => l.includes("worker thread started again")) && Date.now() < deadline) await Bun.sleep(20);
    expect(t.pool!.running).toBe(2);
    expect(await announces(infoHash)).toEqual(new Array(16).fill(null));
  });

  test("POST: accepted on every connection at once; DELETE: refused on every one at once", async () => {
    for (const infoHash of hashesForBothOwners(2, "admin")) {
      expect((await announces(infoHash)).every((r) => r !== null)).toBe(true);
      await admin("POST", "", { info_hash: hex(infoHash) });
      expect(await announces(infoHash)).toEqual(new Array(16).fill(null));
      await admin("DELETE", `?info_hash=${hex(infoHash)}`);
      expect((await announces(infoHash)).every((r) => r !== null)).toBe(true);
    }
  });
});

describe("AccessControl following the main thread's list (--workers)", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "buntracker-follow-"));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const key = (label: string) => latin1(sha1(label));
  const log = new Logger("error", () => {});
  const store = () => new Store({ peerTimeoutS: 3600, random: xoshiro128(new Uint32Array([1, 2, 3, 4])) });

  test("it takes the main thread's list, its reloads and its edits, without reading the file", async () => {
    const list = join(root, "allow.txt");
    await writeFile(list, `${hex(sha1("a"))}\n`);
    const main = new AccessControl("allow", list, store(), log);
    let follower: AccessControl | null = null;
    let initial: FrozenTable | null = null;
    main.onInstall = async (hashes) => {
      initial = hashes.share();
      await follower?.adopt(initial, "test");
    };
    main.onEdit = (edit) => follower!.applyEdit(edit);
    await main.start();
    follower = new AccessControl("allow", list, store(), log, undefined, { initial });
    await follower.start();
    expect(follower.allows(key("a"))).toBe(true);
    expect(follower.allows(key("b"))).toBe(false);
    // The operator adds "b" by hand; the main thread's edit loads (and shares) it first, then adds "c".
    await Bun.sleep(20);
    await writeFile(list, `${hex(sha1("a"))}\n${hex(sha1("b"))}\n`);
    expect(await main.add(key("c"))).toBe("done");
    for (const label of ["a", "b", "c"]) expect(follower.allows(key(label))).toBe(true);
    expect(await main.remove(key("a"))).toBe("done");
    expect(follower.allows(key("a"))).toBe(false);
    // UDP asks with the packet's bytes: the edits count there too.
    expect(follower.allowsBytes(sha1("a"), 0)).toBe(false);
    expect(follower.allowsBytes(sha1("c"), 0)).toBe(true);
    // A follower never reads the file: a change it alone is told of (a reload) does nothing.
    await writeFile(list, "");
    await follower.reload("SIGHUP");
    expect(follower.allows(key("b"))).toBe(true);
    main.stop();
    follower.stop();
  });
});

describe("--workers: the adaptive interval follows the whole tracker's request rate", () => {
  test("a thread that reads no requests still goes to the high bound when another thread is busy", () => {
    const totals = new BigInt64Array(new SharedArrayBuffer(16));
    const threads = [0, 1].map((self) => {
      const counters = new Counters();
      const control = new IntervalControl({
        ...{ mode: "adaptive", minS: 600, maxS: 1800, busyRate: 10_000, counters, nowMs: 0 },
        shared: { self, totals },
      });
      return { counters, control };
    });
    let t = 0;
    for (let s = 0; s < 4 * 3600; s++) {
      threads[1].counters.udpAnnounce += 15_000; // 1.5x the busy rate, all of it read by thread 1
      t += TICK_MS;
      for (const { control } of threads) control.step(t);
    }
    expect(threads[0].control.controller.intervalS).toBe(1800);
    expect(threads[1].control.controller.intervalS).toBe(1800);
  });
});

describe("--workers 2: a full scrape lists every thread's torrents", () => {
  let t: TestTracker;
  const torrents = hashesForBothOwners(8, "full");
  beforeAll(async () => {
    t = await startTestTracker([
      ...["--workers", "2", "--rate-limit", "0", "--full-scrape", "on", "--trust-proxy", "127.0.0.1/32"],
    ]);
    await fill(`http://127.0.0.1:${t.httpPort}`, torrents, 3, 2);
  });
  afterAll(() => t.stop());

  const fullScrape = (source: string) =>
    getBencode(`http://127.0.0.1:${t.httpPort}/scrape`, {
      headers: { connection: "close", "x-forwarded-for": source },
    });

  test("from any connection: every torrent with exact counts; one allowance per address for the whole tracker", async () => {
    for (let i = 1; i <= 6; i++) {
      const r = await fullScrape(`198.18.0.${i}`);
      const files = r.body.files as Record<string, Record<string, number>>;
      expect(Object.keys(files).sort()).toEqual(torrents.map(latin1).sort());
      for (const h of torrents) expect(files[latin1(h)]).toEqual({ complete: 3, downloaded: 3, incomplete: 2 });
    }
    // Again from those addresses, on new connections (either thread reads them): too soon, every time.
    for (let i = 1; i <= 6; i++) {
      const r = await fullScrape(`198.18.0.${i}`);
      expect(r.body["failure reason"]).toBe(FAILURE_TEXT.full_scrape_too_often);
    }
  });
});
