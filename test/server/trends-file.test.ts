// The trends file against real files: torn lines, corruption, atomic rewrites, and disks that fail.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "../../src/server/logger.ts";
import { TrendsFile, TrendsFileError } from "../../src/server/trends-file.ts";
import type { TrendSample } from "../../src/stats/trends.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "buntracker-trends-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function setup(path: string) {
  const logs: { level: string; msg: string }[] = [];
  const file = new TrendsFile(path, new Logger("debug", (line) => logs.push(JSON.parse(line))));
  return { file, logs };
}

const sample = (t: number): TrendSample => ({
  t,
  torrents: 1,
  peers: 2,
  seeders: 1,
  leechers: 1,
  clients: { qBittorrent: 2 },
});

describe("TrendsFile", () => {
  test("a missing file is an empty history", async () => {
    const { file, logs } = setup(join(await tempDir(), "none.jsonl"));
    expect(await file.load()).toEqual([]);
    expect(logs).toEqual([]);
  });

  test("appends and reads back samples", async () => {
    const path = join(await tempDir(), "t.jsonl");
    const { file } = setup(path);
    await file.append(sample(1000), []);
    await file.append(sample(1600), []);
    expect(await file.load()).toEqual([sample(1000), sample(1600)]);
  });

  test("skips a torn last line and corrupt lines with a warning, never failing", async () => {
    const path = join(await tempDir(), "t.jsonl");
    await writeFile(
      path,
      [
        JSON.stringify(sample(1000)),
        "{not json",
        JSON.stringify({ t: -1 }),
        JSON.stringify(sample(1600)),
        '{"t":2200,"torr',
      ].join("\n"),
    );
    const { file, logs } = setup(path);
    expect(await file.load()).toEqual([sample(1000), sample(1600)]);
    expect(logs.map((l) => l.msg)).toEqual(["trends: skipped a torn last line", "trends: skipped unreadable lines"]);
    expect(logs.every((l) => l.level === "warn")).toBe(true);
  });

  test("rewrites atomically: exactly the history, no temp file left behind", async () => {
    const dir = await tempDir();
    const path = join(dir, "t.jsonl");
    await writeFile(path, "garbage\n");
    const { file } = setup(path);
    await file.rewrite([sample(1), sample(601)]);
    expect(await readFile(path, "utf8")).toBe(`${JSON.stringify(sample(1))}\n${JSON.stringify(sample(601))}\n`);
    expect(await readdir(dir)).toEqual(["t.jsonl"]);
  });

  test("compacts to the in-memory history after a day of appends, so the file stays bounded", async () => {
    const path = join(await tempDir(), "t.jsonl");
    const { file } = setup(path);
    const history = [sample(5), sample(605)];
    for (let i = 0; i < 144; i++) await file.append(sample(10_000 + i * 600), history);
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines.length).toBeLessThan(144);
    expect(lines.map((l) => JSON.parse(l).t)).toEqual([5, 605]);
  });

  test("a file in Rustracker's format (its --trends-file: our flag's name) is refused, left as it was", async () => {
    const path = join(await tempDir(), "trends.jsonl");
    const rustracker = `{"leechers":40,"peers":120,"seeders":80,"timestamp":1715800000,"torrents":40}\n`;
    await writeFile(path, rustracker);
    const { file } = setup(path);
    const err = await file.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrendsFileError);
    expect((err as Error).message).toContain("--import-rustracker-trends");
    expect(await readFile(path, "utf8")).toBe(rustracker);
  });

  test("a directory that does not exist is logged once and the history stays in memory", async () => {
    const { file, logs } = setup(join(await tempDir(), "missing", "t.jsonl"));
    await file.append(sample(1), []);
    await file.append(sample(601), []);
    await file.rewrite([sample(1)]);
    expect(logs.filter((l) => l.level === "warn")).toHaveLength(1);
  });
});

// A tiny tmpfs (root only: CI runs as root) to make the disk really full, then really read-only.
describe("TrendsFile on a failing disk", () => {
  test("a full disk and a read-only disk are logged, and writing resumes when space returns", async () => {
    const mnt = await tempDir();
    const sh = (...cmd: string[]) => {
      const r = Bun.spawnSync(cmd, { stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString().trim()}`);
    };
    sh("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt);
    try {
      const path = join(mnt, "t.jsonl");
      const { file, logs } = setup(path);
      await file.append(sample(1), []);
      await writeFile(join(mnt, "filler"), new Uint8Array(64 * 1024)).catch(() => {}); // fills the disk
      await file.append(sample(601), []); // may still fit in the file's last page
      await file.rewrite([sample(1), sample(601)]); // needs a new file: cannot fit
      const warnings = logs.filter((l) => l.level === "warn").map((l) => l.msg);
      expect(warnings).toHaveLength(1); // logged once, not once per write
      expect(warnings[0]).toMatch(/^trends: cannot (append|rewrite) the trends file; history stays in memory$/);
      expect(await readdir(mnt)).not.toContain(`t.jsonl.tmp-${process.pid}`); // a failed rewrite cleans up
      await rm(join(mnt, "filler"));
      await file.rewrite([sample(1), sample(601)]);
      expect(logs.at(-1)!.msg).toBe("trends: writing works again");
      sh("mount", "-o", "remount,ro", mnt);
      await file.append(sample(1201), []);
      expect(logs.at(-1)!.msg).toBe("trends: cannot append the trends file; history stays in memory");
      expect((await file.load()).map((x) => x.t)).toEqual([1, 601]);
    } finally {
      Bun.spawnSync(["umount", mnt]);
    }
  });
});
