// Access control as an operator sees it: a deny or allow list file that the running tracker follows (edits,
// replacements, deletion, SIGHUP), and what clients and the dashboard see for a refused torrent.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { FAILURE_TEXT } from "../../src/core/failure.ts";
import { appendFile, mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "../../src/config/parse-args.ts";
import { waitFor } from "../helpers/clients.ts";
import { announceQuery, getBencode, latin1, pct, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";
import { announcePacket, parseAnnounceReply, parseError, scrapePacket, UdpClient } from "../helpers/udp-client.ts";

const NOT_ALLOWED = FAILURE_TEXT.not_allowed;
/** How long a change to the list may take to apply: the watch is immediate, the poll fallback every 2 s. */
const RELOAD_DEADLINE_MS = 5000;

const hexOf = (label: string) => Buffer.from(sha1(label)).toString("hex");
const peerId = (n: number) => new TextEncoder().encode(`-qB4650-${String(n).padStart(12, "0")}`);

let root: string;
let dirCount = 0;
const running: { stop(): Promise<unknown> }[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "buntracker-access-"));
});
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory per test, so no watcher sees another test's files. */
async function freshDir(): Promise<string> {
  const dir = join(root, `t${++dirCount}`);
  await mkdir(dir);
  return dir;
}

async function tracker(args: string[]): Promise<TestTracker> {
  const t = await startTestTracker(args);
  running.push(t);
  return t;
}

async function trackerProcess(args: string[], env: Record<string, string> = {}): Promise<TrackerProcess> {
  const p = await startTracker(["--listen", "127.0.0.1:0", ...args], env);
  running.push(p);
  return p;
}

/** An HTTP announce for the torrent `label`; resolves to the failure reason, or null when it was served. */
async function announce(port: number, label: string, n = 1, left = 100): Promise<string | null> {
  const r = await getBencode(
    `http://127.0.0.1:${port}/announce?${announceQuery({ infoHash: sha1(label), port: 6000 + n, peerId: peerId(n), left })}`,
  );
  expect(r.status).toBe(200);
  return (r.body["failure reason"] as string | undefined) ?? null;
}

/** The hex info hashes an HTTP scrape of `labels` reports. */
async function scrapedHashes(port: number, labels: string[]): Promise<string[]> {
  const q = labels.map((l) => `info_hash=${pct(sha1(l))}`).join("&");
  const r = await getBencode(`http://127.0.0.1:${port}/scrape?${q}`);
  const files = r.body.files as Record<string, unknown>;
  return Object.keys(files)
    .map((k) => Buffer.from(k, "latin1").toString("hex"))
    .sort();
}

type Stats = { torrents: number; peers: number; seeders: number; leechers: number };
type Rankings = Record<"peers" | "seeders" | "leechers" | "downloaded", { info_hash: string }[]>;

async function stats(port: number): Promise<Stats> {
  return (await fetch(`http://127.0.0.1:${port}/api/stats`)).json() as Promise<Stats>;
}

async function top100(port: number): Promise<Rankings> {
  return (await fetch(`http://127.0.0.1:${port}/api/top100`)).json() as Promise<Rankings>;
}

function logEntries(lines: string[]): Record<string, unknown>[] {
  return lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

const refused = (port: number, label: string) => async () => (await announce(port, label)) === NOT_ALLOWED;
const served = (port: number, label: string) => async () => (await announce(port, label)) === null;

describe("reloading the list file", () => {
  test("an edit in place applies within seconds", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, `${hexOf("a")}\n`);
    const t = await tracker(["--blacklist", list]);
    expect(await announce(t.httpPort, "a")).toBe(NOT_ALLOWED);
    expect(await announce(t.httpPort, "b")).toBeNull();

    await writeFile(list, `# now b instead\n${hexOf("b")}\n`);
    await waitFor("b to be refused", RELOAD_DEADLINE_MS, refused(t.httpPort, "b"));
    expect(await announce(t.httpPort, "a")).toBeNull();
    const loaded = logEntries(t.logs).filter((e) => e.msg === "access list loaded");
    expect(loaded.at(-1)).toMatchObject({ mode: "deny", path: list, hashes: 1 });
    expect(String(loaded.at(-1)!.reason)).toStartWith("file changed");
  });

  test("a file replaced by rename applies, and requests never see a mix of old and new list", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, `${hexOf("old")}\n`);
    const t = await tracker(["--blacklist", list]);
    expect(await scrapedHashes(t.httpPort, ["old", "new"])).toEqual([hexOf("new")]);

    const tmp = join(dir, ".deny.txt.new");
    await writeFile(tmp, `${hexOf("new")}\n`);
    await rename(tmp, list);
    // Every scrape sees exactly one of the two lists: before, only "new" is served; after, only "old".
    await waitFor("the new list", RELOAD_DEADLINE_MS, async () => {
      const seen = await scrapedHashes(t.httpPort, ["old", "new"]);
      expect(seen).toHaveLength(1);
      return seen[0] === hexOf("old");
    });
    expect(await announce(t.httpPort, "new")).toBe(NOT_ALLOWED);
  });

  test("a deleted file keeps the last good list and says why; recreating it applies the new content", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, `${hexOf("kept")}\n`);
    const t = await tracker(["--blacklist", list]);

    await rm(list);
    const warning = await waitFor("a warning about the missing file", RELOAD_DEADLINE_MS, () =>
      logEntries(t.logs).find((e) => e.level === "warn" && String(e.msg).includes("keeping the last good one")),
    );
    expect(warning).toMatchObject({ path: list, why: "the file does not exist", hashes: 1 });
    expect(await announce(t.httpPort, "kept")).toBe(NOT_ALLOWED);
    expect(await announce(t.httpPort, "other")).toBeNull();

    await writeFile(list, `${hexOf("other")}\n`);
    await waitFor("the recreated list", RELOAD_DEADLINE_MS, refused(t.httpPort, "other"));
    expect(await announce(t.httpPort, "kept")).toBeNull();
  });

  test("a path that cannot be read (a directory now) keeps the last good list and says why", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, `${hexOf("kept")}\n`);
    const t = await tracker(["--blacklist", list]);

    await rm(list);
    await mkdir(list);
    const warning = await waitFor("a warning about the unreadable list", RELOAD_DEADLINE_MS, () =>
      logEntries(t.logs).find(
        (e) =>
          e.level === "warn" &&
          String(e.msg).includes("keeping the last good one") &&
          e.why !== "the file does not exist",
      ),
    );
    expect(String(warning.why)).toMatch(/EISDIR|directory/i);
    expect(await announce(t.httpPort, "kept")).toBe(NOT_ALLOWED);

    await rm(list, { recursive: true });
    await writeFile(list, `${hexOf("other")}\n`);
    await waitFor("the list to be readable again", RELOAD_DEADLINE_MS, refused(t.httpPort, "other"));
  });

  test("a list that disappears and comes back with other content applies it", async () => {
    const dir = await freshDir();
    const list = join(dir, "later.txt");
    await writeFile(list, "");
    const t = await tracker(["--blacklist", list]);
    await rm(list);
    await waitFor("the warning", RELOAD_DEADLINE_MS, () =>
      logEntries(t.logs).some((e) => e.level === "warn" && e.why === "the file does not exist"),
    );
    expect(await announce(t.httpPort, "x")).toBeNull();
    await writeFile(list, `${hexOf("x")}\n`);
    await waitFor("the new list", RELOAD_DEADLINE_MS, refused(t.httpPort, "x"));
  });

  test("the 2 s poll picks up changes the directory watch cannot see (the list is a symlink elsewhere)", async () => {
    const dir = await freshDir();
    await mkdir(join(dir, "real"));
    await mkdir(join(dir, "watched"));
    const real = join(dir, "real", "deny.txt");
    const list = join(dir, "watched", "deny.txt");
    await writeFile(real, `${hexOf("a")}\n`);
    await symlink(real, list);
    const t = await tracker(["--blacklist", list]);

    await appendFile(real, `${hexOf("b")}\n`);
    await waitFor("b to be refused", RELOAD_DEADLINE_MS, refused(t.httpPort, "b"));
    const loaded = logEntries(t.logs).filter((e) => e.msg === "access list loaded");
    expect(loaded.at(-1)).toMatchObject({ reason: "file changed (poll)", hashes: 2 });
  });

  test("invalid lines are logged as one warning, with their count and the first few, at start and on reload", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, [hexOf("a"), "not-a-hash", "", hexOf("b").slice(1), hexOf("c")].join("\n"));
    const t = await tracker(["--blacklist", list]);
    const skipped = () =>
      logEntries(t.logs).filter((e) => e.level === "warn" && String(e.msg).includes("not a 40-hex info hash"));
    expect(skipped()).toHaveLength(1);
    expect(skipped()[0]).toMatchObject({
      path: list,
      lines: 2,
      first: [
        { line: 2, text: "not-a-hash" },
        { line: 4, text: hexOf("b").slice(1) },
      ],
    });
    for (const label of ["a", "c"]) expect(await announce(t.httpPort, label)).toBe(NOT_ALLOWED);
    expect(logEntries(t.logs).find((e) => e.msg === "access list loaded")).toMatchObject({
      reason: "start",
      hashes: 2,
    });

    await writeFile(list, `# header\n${hexOf("a")}\noops\n`);
    await waitFor("the reload's warning", RELOAD_DEADLINE_MS, () => skipped().length === 2);
    expect(skipped()[1]).toMatchObject({ lines: 1, first: [{ line: 3, text: "oops" }], path: list });
    expect(await announce(t.httpPort, "c")).toBeNull();
  });

  test("10 MB of binary junk: one warning with the count and five samples, not one per line", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    const junk = new Uint8Array(10 << 20);
    crypto.getRandomValues(junk.subarray(0, 65536));
    for (let at = 65536; at < junk.length; at += 65536) junk.copyWithin(at, 0, 65536);
    await writeFile(list, junk);
    const t = await tracker(["--blacklist", list]);
    const warnings = logEntries(t.logs).filter((e) => e.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(Number(warnings[0].lines)).toBeGreaterThan(30_000);
    expect(warnings[0].first).toHaveLength(5);
    expect(await announce(t.httpPort, "a")).toBeNull();
  });

  test("an editor's save that truncates first and writes 150 ms later is loaded whole, never empty", async () => {
    const dir = await freshDir();
    const list = join(dir, "allow.txt");
    const full = ["a", "b", "c"].map((l) => `${hexOf(l)}\n`).join("");
    await writeFile(list, full);
    const t = await tracker(["--access-mode", "allow", "--access-list", list]);
    // Each thread (--workers) reads the list itself and logs its loads, with a `worker` field after the first.
    const loads = (thread: number) =>
      logEntries(t.logs)
        .filter((e) => e.msg === "access list loaded" && (e.worker ?? 0) === thread)
        .map((e) => e.hashes);
    const threads = Array.from({ length: t.threads }, (_, i) => i);
    await writeFile(list, "");
    await Bun.sleep(150);
    await writeFile(list, `# saved\n${full}`);
    await waitFor("the reload", RELOAD_DEADLINE_MS, () => threads.every((i) => loads(i).length > 1));
    await Bun.sleep(500); // any later load of a half-written state would show up here
    for (const i of threads) expect(loads(i)).toEqual([3, 3]);
  });
});

describe("SIGHUP (real process)", () => {
  test("reloads the list; the log says SIGHUP did it, and an unchanged file is reported as such", async () => {
    // The list is a symlink into another directory (the directory watch cannot see the target change), and
    // the edit keeps size, inode and mtime (the poll cannot see it either): only SIGHUP can load it.
    const dir = await freshDir();
    await mkdir(join(dir, "real"));
    await mkdir(join(dir, "watched"));
    const real = join(dir, "real", "deny.txt");
    const list = join(dir, "watched", "deny.txt");
    const mtime = new Date("2020-01-02T03:04:05Z");
    await writeFile(real, `${hexOf("a")}\n`);
    await utimes(real, mtime, mtime);
    await symlink(real, list);
    const p = await trackerProcess(["--blacklist", list]);
    expect(await announce(p.httpPort, "a")).toBe(NOT_ALLOWED);

    await writeFile(real, `${hexOf("b")}\n`);
    await utimes(real, mtime, mtime);
    p.proc.kill("SIGHUP");
    const reloaded = () =>
      logEntries(p.output().split("\n")).filter((e) => e.msg === "access list loaded" && e.reason !== "start");
    await waitFor("the SIGHUP reload", RELOAD_DEADLINE_MS, () => reloaded().length > 0, p.output);
    expect(reloaded()).toEqual([expect.objectContaining({ reason: "SIGHUP", hashes: 1, mode: "deny" })]);
    expect(await announce(p.httpPort, "b")).toBe(NOT_ALLOWED);
    expect(await announce(p.httpPort, "a")).toBeNull();

    p.proc.kill("SIGHUP");
    await waitFor(
      "the second SIGHUP",
      RELOAD_DEADLINE_MS,
      () => p.output().includes('"msg":"access list unchanged"'),
      p.output,
    );
    expect(reloaded()).toHaveLength(1);
    // SIGHUP is not a shutdown: still serving, and SIGTERM still exits cleanly.
    expect((await fetch(`http://127.0.0.1:${p.httpPort}/healthz`)).status).toBe(200);
    expect(await p.stop()).toBe(0);
  });
});

describe("what clients see for a refused torrent", () => {
  async function udpScrape(c: UdpClient, labels: string[]): Promise<number[][]> {
    const reply = await c.request(scrapePacket(await c.connect(), labels.map(sha1)));
    const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    expect(v.getUint32(0)).toBe(2);
    expect(reply.length).toBe(8 + 12 * labels.length);
    return labels.map((_, i) => [v.getUint32(8 + i * 12), v.getUint32(12 + i * 12), v.getUint32(16 + i * 12)]);
  }

  for (const mode of ["deny", "allow"] as const) {
    test(`${mode} mode over HTTP and UDP: announce refused, scrape without it`, async () => {
      const dir = await freshDir();
      const list = join(dir, "list.txt");
      // "ok" and "ok2" are served, "no" is refused, whichever the mode.
      await writeFile(list, mode === "deny" ? `${hexOf("no")}\n` : `${hexOf("ok")}\n${hexOf("ok2")}\n`);
      const t = await tracker(["--access-mode", mode, "--access-list", list]);

      // HTTP announce: a bencoded failure reason for the refused torrent only.
      expect(await announce(t.httpPort, "no")).toBe(NOT_ALLOWED);
      expect(await announce(t.httpPort, "ok", 1, 0)).toBeNull();
      expect(await announce(t.httpPort, "ok2", 2, 100)).toBeNull();

      // HTTP scrape: the refused torrent is left out, as if this tracker did not know it.
      expect(await scrapedHashes(t.httpPort, ["ok", "no", "ok2"])).toEqual([hexOf("ok"), hexOf("ok2")].sort());
      expect(await scrapedHashes(t.httpPort, ["no"])).toEqual([]);

      // UDP announce: a BEP 15 error (action 3) with the same text and the request's transaction id.
      const c = await UdpClient.open("127.0.0.1", t.udpPort!);
      try {
        const cid = await c.connect();
        const denied = parseError(
          await c.request(announcePacket({ connectionId: cid, txid: 0x1234, infoHash: sha1("no"), port: 7001 })),
        );
        expect(denied).toEqual({ action: 3, txid: 0x1234, message: NOT_ALLOWED });
        const ok = parseAnnounceReply(
          await c.request(announcePacket({ connectionId: cid, infoHash: sha1("ok"), port: 7002 })),
          4,
        );
        expect(ok.action).toBe(1);
        expect(ok.seeders).toBe(1);

        // UDP scrape: entries are positional, so the refused one reads as zeros in its place.
        expect(await udpScrape(c, ["ok", "no", "ok2"])).toEqual([
          [1, 0, 1],
          [0, 0, 0],
          [0, 0, 1],
        ]);
      } finally {
        c.close();
      }
      // The refused torrent never reached the store: the totals hold "ok" (two peers) and "ok2" only.
      expect(await stats(t.httpPort)).toMatchObject({ torrents: 2, peers: 3 });
    });
  }

  test("an empty allow list refuses everything", async () => {
    const dir = await freshDir();
    const list = join(dir, "allow.txt");
    await writeFile(list, "# nothing yet\n");
    const t = await tracker(["--access-mode", "allow", "--access-list", list]);
    expect(await announce(t.httpPort, "anything")).toBe(NOT_ALLOWED);
  });
});

describe("a torrent refused at runtime is hidden at once, and forgotten only after a peer timeout", () => {
  async function loadTwoTorrents(port: number): Promise<void> {
    expect(await announce(port, "keep", 1, 0)).toBeNull();
    expect(await announce(port, "keep", 2, 100)).toBeNull();
    expect(await announce(port, "doomed", 3, 0)).toBeNull();
    expect(await announce(port, "doomed", 4, 100)).toBeNull();
    expect(await announce(port, "doomed", 5, 100)).toBeNull();
    expect(await announce(port, "doomed", 4, 0)).toBeNull(); // a completion: downloaded 1
  }

  async function scrapeDoomed(port: number): Promise<unknown> {
    const s = await getBencode(`http://127.0.0.1:${port}/scrape?info_hash=${pct(sha1("doomed"))}`);
    return (s.body.files as Record<string, unknown>)[latin1(sha1("doomed"))];
  }

  async function expectHidden(t: TestTracker, held: Stats): Promise<void> {
    expect(await announce(t.httpPort, "doomed", 6)).toBe(NOT_ALLOWED);
    expect(await scrapedHashes(t.httpPort, ["keep", "doomed"])).toEqual([hexOf("keep")]);
    const top = await top100(t.httpPort);
    for (const ranking of ["peers", "seeders", "leechers", "downloaded"] as const) {
      expect(top[ranking].map((e) => e.info_hash)).not.toContain(hexOf("doomed"));
    }
    expect(top.peers.map((e) => e.info_hash)).toEqual([hexOf("keep")]);
    // Still held, peers and all (the totals count it), until its time is up.
    const { torrents, peers, seeders, leechers } = await stats(t.httpPort);
    expect({ torrents, peers, seeders, leechers }).toEqual(held);
  }

  for (const mode of ["deny", "allow"] as const) {
    test(`${mode} mode: refused, then served again, the torrent is back with its peers and completion count`, async () => {
      const dir = await freshDir();
      const list = join(dir, "list.txt");
      const serving = mode === "deny" ? "" : `${hexOf("keep")}\n${hexOf("doomed")}\n`;
      const refusing = mode === "deny" ? `${hexOf("doomed")}\n` : `${hexOf("keep")}\n`;
      await writeFile(list, serving);
      const t = await tracker(["--access-mode", mode, "--access-list", list]);
      await loadTwoTorrents(t.httpPort);
      const { torrents, peers, seeders, leechers } = await stats(t.httpPort);
      const held = { torrents, peers, seeders, leechers };
      const scraped = await scrapeDoomed(t.httpPort);
      expect(scraped).toMatchObject({ downloaded: 1 });

      await writeFile(list, refusing);
      // (Scrapes, not announces, to wait: an announce served before the reload would add a peer.)
      await waitFor(
        "the torrent to be refused",
        RELOAD_DEADLINE_MS,
        async () => (await scrapedHashes(t.httpPort, ["doomed"])).length === 0,
      );
      await expectHidden(t, held);

      await writeFile(list, serving);
      await waitFor(
        "the torrent to be served again",
        RELOAD_DEADLINE_MS,
        async () => (await scrapedHashes(t.httpPort, ["doomed"])).length === 1,
      );
      expect(await scrapeDoomed(t.httpPort)).toEqual(scraped);
    });
  }

  test("allow mode: an emptied list (an editor caught mid-save) loses no torrent; the full list brings all back", async () => {
    const dir = await freshDir();
    const list = join(dir, "allow.txt");
    const labels = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const full = labels.map((l) => `${hexOf(l)}\n`).join("");
    await writeFile(list, full);
    const t = await tracker(["--access-mode", "allow", "--access-list", list]);
    for (const [i, l] of labels.entries()) {
      expect(await announce(t.httpPort, l, 2 * i, 100)).toBeNull();
      expect(await announce(t.httpPort, l, 2 * i + 1, 0)).toBeNull();
      expect(await announce(t.httpPort, l, 2 * i, 0)).toBeNull(); // completed
    }
    const q = labels.map((l) => `info_hash=${pct(sha1(l))}`).join("&");
    const scrapeAll = async () =>
      (await getBencode(`http://127.0.0.1:${t.httpPort}/scrape?${q}`)).body.files as Record<
        string,
        { downloaded: number }
      >;
    const before = await scrapeAll();
    expect(Object.values(before).map((f) => f.downloaded)).toEqual(labels.map(() => 1));
    const totals = await stats(t.httpPort);
    await writeFile(list, "");
    await waitFor(
      "the empty list",
      RELOAD_DEADLINE_MS,
      async () => (await scrapedHashes(t.httpPort, labels)).length === 0,
    );
    await writeFile(list, full);
    await waitFor(
      "the full list",
      RELOAD_DEADLINE_MS,
      async () => (await scrapedHashes(t.httpPort, labels)).length === labels.length,
    );
    expect(await scrapeAll()).toEqual(before);
    expect(await stats(t.httpPort)).toMatchObject({ torrents: totals.torrents, peers: totals.peers });
  });

  test("still refused after the peer timeout: forgotten, peers and completion count", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, "");
    const t = await tracker([
      "--blacklist",
      list,
      "--interval-secs",
      "1",
      "--min-interval-secs",
      "1",
      "--peer-timeout-secs",
      "2",
    ]);
    await loadTwoTorrents(t.httpPort);
    const listedAt = Date.now();
    await writeFile(list, `${hexOf("doomed")}\n`);
    await waitFor("the torrent to be refused", RELOAD_DEADLINE_MS, refused(t.httpPort, "doomed"));
    const forgot = () => logEntries(t.logs).filter((e) => String(e.msg).includes("forgot torrents"));
    expect(forgot()).toEqual([]);
    await waitFor("the torrent to be forgotten", 8000, () => forgot().length > 0);
    expect(Date.now() - listedAt).toBeGreaterThanOrEqual(2000); // not before its peer timeout
    expect(forgot()).toMatchObject([{ torrents: 1 }]);
    await writeFile(list, "");
    await waitFor("the torrent to be served again", RELOAD_DEADLINE_MS, served(t.httpPort, "doomed"));
    expect(await scrapeDoomed(t.httpPort)).toEqual({ complete: 0, downloaded: 0, incomplete: 1 });
  });
});

describe("environment twins (real process)", () => {
  test("BUNTRACKER_ACCESS_MODE + BUNTRACKER_ACCESS_LIST", async () => {
    const dir = await freshDir();
    const list = join(dir, "allow.txt");
    await writeFile(list, `${hexOf("listed")}\n`);
    const p = await trackerProcess([], { BUNTRACKER_ACCESS_MODE: "allow", BUNTRACKER_ACCESS_LIST: list });
    expect(await announce(p.httpPort, "listed")).toBeNull();
    expect(await announce(p.httpPort, "unlisted")).toBe(NOT_ALLOWED);
  });

  test("BUNTRACKER_BLACKLIST", async () => {
    const dir = await freshDir();
    const list = join(dir, "deny.txt");
    await writeFile(list, `${hexOf("listed")}\n`);
    const p = await trackerProcess([], { BUNTRACKER_BLACKLIST: list });
    expect(await announce(p.httpPort, "listed")).toBe(NOT_ALLOWED);
    expect(await announce(p.httpPort, "unlisted")).toBeNull();
  });
});

describe("configuration errors", () => {
  function error(argv: string[], env: Record<string, string> = {}): string {
    const r = parseArgs(argv, env);
    if (r.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(r)}`);
    return r.message;
  }
  function config(argv: string[], env: Record<string, string> = {}) {
    const r = parseArgs(argv, env);
    if (r.kind !== "run") throw new Error(JSON.stringify(r));
    return r.config;
  }

  test("valid combinations, and the command line wins over the environment", () => {
    expect(config([])).toMatchObject({ accessMode: "off", accessList: null });
    expect(config(["--blacklist", "/x"])).toMatchObject({ accessMode: "deny", accessList: "/x" });
    expect(config(["--blacklist", "/x", "--access-mode", "deny"])).toMatchObject({
      accessMode: "deny",
      accessList: "/x",
    });
    expect(config(["--access-mode", "allow", "--access-list", "/y"])).toMatchObject({
      accessMode: "allow",
      accessList: "/y",
    });
    expect(config([], { BUNTRACKER_ACCESS_MODE: "deny", BUNTRACKER_ACCESS_LIST: "/z" })).toMatchObject({
      accessMode: "deny",
      accessList: "/z",
    });
    expect(
      config(["--access-mode", "allow"], { BUNTRACKER_ACCESS_MODE: "deny", BUNTRACKER_ACCESS_LIST: "/z" }),
    ).toMatchObject({ accessMode: "allow" });
    expect(config(["--access-mode", "off"])).toMatchObject({ accessMode: "off", accessList: null });
  });

  test("contradictions and gaps get one clear message", () => {
    expect(error(["--blacklist", "/x", "--access-mode", "allow"])).toBe(
      "--blacklist is a deny list, but --access-mode is allow",
    );
    expect(error(["--access-mode", "deny"])).toBe("--access-mode deny needs --access-list PATH");
    expect(error(["--access-mode", "allow"])).toBe("--access-mode allow needs --access-list PATH");
    expect(error(["--access-list", "/x"])).toBe("--access-list needs --access-mode deny or allow");
    expect(error(["--access-mode", "off", "--access-list", "/x"])).toBe(
      "--access-list needs --access-mode deny or allow",
    );
    expect(error(["--access-mode", "maybe", "--access-list", "/x"])).toBe(
      'invalid --access-mode "maybe": must be off, deny or allow',
    );
    expect(error(["--blacklist", "/x", "--access-list", "/y"])).toBe(
      "--blacklist and --access-list both name a list: use one",
    );
    expect(error([], { BUNTRACKER_ACCESS_MODE: "deny" })).toBe("BUNTRACKER_ACCESS_MODE deny needs --access-list PATH");
    expect(error([], { BUNTRACKER_BLACKLIST: "/x", BUNTRACKER_ACCESS_MODE: "allow" })).toBe(
      "BUNTRACKER_BLACKLIST is a deny list, but BUNTRACKER_ACCESS_MODE is allow",
    );
  });

  test("a list that is missing or unreadable at start: exit 2 with one line, in either mode", async () => {
    const main = join(import.meta.dir, "..", "..", "src", "main.ts");
    const dir = await freshDir();
    for (const [args, path, why] of [
      [["--blacklist", join(dir, "missing.txt")], join(dir, "missing.txt"), "does not exist"],
      [
        ["--access-mode", "allow", "--access-list", join(dir, "missing.txt")],
        join(dir, "missing.txt"),
        "does not exist",
      ],
      [["--blacklist", dir], dir, "EISDIR"],
    ] as const) {
      const r = Bun.spawnSync([process.execPath, main, "--listen", "127.0.0.1:0", ...args]);
      expect({ args, code: r.exitCode }).toEqual({ args, code: 2 });
      expect(r.stdout.toString()).toBe("");
      const err = r.stderr.toString();
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(err).toStartWith(
        `buntracker: cannot read the ${args[0] === "--blacklist" ? "deny" : "allow"} list ${path}: `,
      );
      expect(err).toContain(why);
    }
  });

  test("the process exits 2 with that one line", () => {
    const main = join(import.meta.dir, "..", "..", "src", "main.ts");
    for (const args of [
      ["--access-mode", "deny"],
      ["--blacklist", "/x", "--access-mode", "allow"],
      ["--access-list", "/x"],
    ]) {
      const r = Bun.spawnSync([process.execPath, main, "--listen", "127.0.0.1:0", ...args]);
      expect(r.exitCode).toBe(2);
      expect(r.stdout.toString()).toBe("");
      const err = r.stderr.toString();
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(err).toStartWith("buntracker: --");
    }
  });
});
