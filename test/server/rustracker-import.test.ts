// Importing Rustracker's trend history (--import-rustracker-trends, or RUSTRACKER_TRENDS_FILE as its
// installer sets it): on the first start only, into our own trends file, leaving Rustracker's files as they were.
// The sample files follow the format Rustracker documents and writes (see src/stats/rustracker-trends.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker } from "../helpers/tracker-process.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

const root = await mkdtemp(join(tmpdir(), "buntracker-rt-import-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let dirs = 0;

const now = Math.floor(Date.now() / 1000);
// Rustracker samples every 10 minutes from its start, not on the clock's boundaries.
const ts = (bucketsAgo: number) => Math.floor(now / 600) * 600 - bucketsAgo * 600 + 137;
const trendLine = (t: number, torrents: number, peers: number, seeders: number) =>
  `{"leechers":${peers - seeders},"peers":${peers},"seeders":${seeders},"timestamp":${t},"torrents":${torrents}}\n`;
const clientLine = (t: number, pairs: [number, number][]) => `{"clients":${JSON.stringify(pairs)},"timestamp":${t}}\n`;

/** A folder as Rustracker leaves it: trends.jsonl and top_clients.jsonl, with 8-day-old lines at the start. */
async function rustrackerFolder(): Promise<{ dir: string; trends: string; clients: string }> {
  const dir = join(root, `rt${++dirs}`);
  await mkdir(dir);
  const trends = join(dir, "trends.jsonl");
  const clients = join(dir, "top_clients.jsonl");
  await writeFile(
    trends,
    trendLine(ts(8 * 144), 9, 99, 9) +
      trendLine(ts(3), 10, 100, 60) +
      trendLine(ts(2), 11, 110, 70) +
      trendLine(ts(1), 12, 120, 80),
  );
  await writeFile(
    clients,
    clientLine(ts(8 * 144), [[1, 99]]) +
      clientLine(ts(2), [
        [1, 80],
        [3, 30],
        [0, 0],
      ]) +
      clientLine(ts(1), [[2, 120]]),
  );
  return { dir, trends, clients };
}

async function api(t: TestTracker, path: string): Promise<any> {
  return (await fetch(`http://127.0.0.1:${t.httpPort}${path}`)).json();
}

const importLines = (logs: string[]) =>
  logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "trends: imported Rustracker's history");

describe("importing Rustracker's trend history", () => {
  test("the first start imports the last 7 days into the charts and our file; a restart does not again", async () => {
    const rt = await rustrackerFolder();
    const ours = join(rt.dir, "ours.jsonl");
    const before = [await readFile(rt.trends, "utf8"), await readFile(rt.clients, "utf8")];
    const args = ["--trends-file", ours, "--import-rustracker-trends", rt.trends];

    const first = await startTestTracker(args);
    const trends = await api(first, "/api/trends?range=7d");
    // The 8-day-old line is past the 7 days kept; our own first sample (an empty store) comes last.
    expect(trends.samples.map((s: any) => [s.t, s.torrents, s.peers, s.seeders, s.leechers])).toEqual([
      [ts(3), 10, 100, 60, 40],
      [ts(2), 11, 110, 70, 40],
      [ts(1), 12, 120, 80, 40],
      [expect.any(Number), 0, 0, 0, 0],
    ]);
    const clients = await api(first, "/api/clients?range=7d");
    expect(clients.clients).toEqual(["Transmission", "qBittorrent", "µTorrent"]);
    expect(clients.samples.slice(0, 3).map((s: any) => s.counts)).toEqual([
      [0, 0, 0],
      [0, 80, 30],
      [120, 0, 0],
    ]);
    const logged = importLines(first.logs);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: "info",
      from: rt.trends,
      top_clients: rt.clients,
      lines: 4,
      samples: 3,
      with_clients: 2,
      bad_lines: 0,
    });
    expect(logged[0].oldest).toBe(new Date(ts(3) * 1000).toISOString());
    await first.stop();

    // Our file now holds the imported history in our format; Rustracker's files are untouched.
    const saved = (await readFile(ours, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(saved.slice(0, 3)).toEqual([
      { t: ts(3), torrents: 10, peers: 100, seeders: 60, leechers: 40, clients: {} },
      { t: ts(2), torrents: 11, peers: 110, seeders: 70, leechers: 40, clients: { qBittorrent: 80, µTorrent: 30 } },
      { t: ts(1), torrents: 12, peers: 120, seeders: 80, leechers: 40, clients: { Transmission: 120 } },
    ]);
    expect([await readFile(rt.trends, "utf8"), await readFile(rt.clients, "utf8")]).toEqual(before);

    // Rustracker's file changes (say it ran again meanwhile): a restart keeps our history and imports nothing.
    await appendFile(rt.trends, trendLine(ts(5), 50, 500, 250));
    const second = await startTestTracker(args);
    expect(importLines(second.logs)).toEqual([]);
    const again = await api(second, "/api/trends?range=7d");
    expect(again.samples.slice(0, 3).map((s: any) => s.t)).toEqual([ts(3), ts(2), ts(1)]);
    expect(again.samples.some((s: any) => s.torrents === 50)).toBe(false);
    await second.stop();
  });

  test("--trends-file naming Rustracker's file (a flag both have): exit 2, one line, the file untouched", async () => {
    const rt = await rustrackerFolder();
    const before = await readFile(rt.trends, "utf8");
    const args = ["--listen", "127.0.0.1:0", "--trends-file", rt.trends];
    const r = Bun.spawnSync([process.execPath, MAIN, ...args], { timeout: 10_000 }); // (a start would not end)
    expect(r.exitCode).toBe(2);
    const stderr = r.stderr.toString();
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toStartWith(`buntracker: the trends file ${rt.trends} holds Rustracker's history`);
    expect(stderr).toContain("--import-rustracker-trends");
    expect(await readFile(rt.trends, "utf8")).toBe(before);
  });

  test("missing Rustracker files are logged and the tracker starts with no history", async () => {
    const dir = join(root, `rt${++dirs}`);
    await mkdir(dir);
    const t = await startTestTracker([
      "--trends-file",
      join(dir, "ours.jsonl"),
      "--import-rustracker-trends",
      join(dir, "trends.jsonl"),
    ]);
    const warned = t.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "trends: no Rustracker file to import");
    expect(warned.map((l) => [l.level, l.path])).toEqual([["warn", join(dir, "trends.jsonl")]]);
    expect((await api(t, "/api/trends")).samples).toHaveLength(1); // its own first sample
    await t.stop();
  });

  test("without top_clients.jsonl the totals are imported alone", async () => {
    const rt = await rustrackerFolder();
    await rm(rt.clients);
    const t = await startTestTracker([
      "--trends-file",
      join(rt.dir, "ours.jsonl"),
      "--import-rustracker-trends",
      rt.trends,
    ]);
    const logs = t.logs.map((l) => JSON.parse(l));
    expect(logs.filter((l) => l.msg === "trends: no Rustracker file to import").map((l) => l.path)).toEqual([
      rt.clients,
    ]);
    expect(importLines(t.logs)[0]).toMatchObject({ top_clients: null, samples: 3, with_clients: 0 });
    expect((await api(t, "/api/trends")).samples).toHaveLength(4);
    await t.stop();
  });

  test("RUSTRACKER_TRENDS_FILE alone (the installer's env file): imported, and ours kept beside it", async () => {
    const rt = await rustrackerFolder();
    const p = await startTracker(["--listen", "127.0.0.1:0"], { RUSTRACKER_TRENDS_FILE: rt.trends });
    const trends = (await (await fetch(`http://127.0.0.1:${p.httpPort}/api/trends`)).json()) as {
      samples: { t: number }[];
    };
    expect(trends.samples.slice(0, 3).map((s) => s.t)).toEqual([ts(3), ts(2), ts(1)]);
    expect(await p.stop()).toBe(0);
    expect(p.output()).toContain("config: RUSTRACKER_TRENDS_FILE is read as BUNTRACKER_IMPORT_RUSTRACKER_TRENDS");
    expect(p.output()).toContain("trends: imported Rustracker's history");
    const ours = await readFile(join(rt.dir, "buntracker-trends.jsonl"), "utf8");
    expect(ours.trim().split("\n").length).toBeGreaterThanOrEqual(3);
  });
});
