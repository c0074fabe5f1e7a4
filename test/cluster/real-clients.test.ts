// Two real BitTorrent clients that never announce to the same tracker: the seeder only to instance A, the
// leecher only to instance B, which share their swarms through a redis-server. Needs aria2, mktorrent,
// transmission-cli (a missing one fails, as in test/e2e/real-clients.test.ts) and redis-server (skips).

import { afterEach, describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  aria2DownloadPath,
  type Client,
  exitCodeWithin,
  fileSha256,
  makeTorrent,
  removeTorrentDir,
  scrape,
  startAria2,
  startTransmissionLeecher,
  type Torrent,
  waitFor,
} from "../helpers/clients.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer } from "../helpers/redis-server.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";

const TEST_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 30_000;
const TRANSFER_TIMEOUT_MS = 75_000;
if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

/** The same torrent (same info dictionary, so the same info hash) announcing to `url` instead. */
async function retarget(t: Torrent, url: string): Promise<Torrent> {
  const bytes = await Bun.file(t.torrentPath).bytes();
  const text = Buffer.from(bytes).toString("latin1");
  const m = /^d8:announce(\d+):/.exec(text);
  if (m === null) throw new Error("mktorrent's file does not start with its announce URL");
  const rest = text.slice(m[0].length + Number(m[1]));
  const torrentPath = join(t.dir, `to-${url.replace(/[^a-z0-9]/gi, "_")}.torrent`);
  await writeFile(torrentPath, Buffer.from(`d8:announce${url.length}:${url}${rest}`, "latin1"));
  return { ...t, torrentPath };
}

describe.skipIf(REDIS_SERVER === null)("real clients across two cluster instances", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  const clients: Client[] = [];
  let torrent: Torrent | undefined;
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
    await removeTorrentDir(torrent);
  });

  async function cluster(): Promise<[TrackerProcess, TrackerProcess]> {
    const redis = await RedisServer.start();
    cleanup.push(() => redis.stop());
    const start = async (id: string) => {
      const t = await startTracker([
        ...["--listen", "127.0.0.1:0", "--redis", redis.url, "--cluster-sync-ms", "200"],
        ...["--cluster-instance-id", id],
      ]);
      cleanup.push(() => t.stop());
      return t;
    };
    return [await start("a"), await start("b")];
  }

  /** Waits until `base`'s scrape of the torrent satisfies `ok` (a scrape also makes it fetch the torrent). */
  const reaches = (
    base: string,
    t: Torrent,
    what: string,
    ok: (s: { complete: number; incomplete: number }) => boolean,
  ) =>
    waitFor(what, STEP_TIMEOUT_MS, async () => {
      const s = await scrape(base, t.infoHash);
      return s !== undefined && ok(s);
    });

  test(
    "HTTP: aria2c seeding at A sends the file to transmission-cli leeching at B",
    async () => {
      const [a, b] = await cluster();
      torrent = await makeTorrent(`http://127.0.0.1:${b.httpPort}/announce`);
      const atA = await retarget(torrent, `http://127.0.0.1:${a.httpPort}/announce`);
      // transmission takes loopback peers only inbound: the leecher announces (to B) first, and the seeder
      // (at A) dials it once A's reply has it.
      const leecher = await startTransmissionLeecher(torrent);
      clients.push(leecher);
      await reaches(`http://127.0.0.1:${a.httpPort}`, torrent, "B's leecher at A", (s) => s.incomplete >= 1);
      clients.push(await startAria2(atA, "seed", false));
      await leecher.finished(TRANSFER_TIMEOUT_MS);
      expect(await fileSha256(leecher.downloadPath)).toBe(torrent.sha256);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "UDP: aria2c seeding at A sends the file to aria2c leeching at B",
    async () => {
      const [a, b] = await cluster();
      torrent = await makeTorrent(`udp://127.0.0.1:${a.udpPort}/announce`);
      const atB = await retarget(torrent, `udp://127.0.0.1:${b.udpPort}/announce`);
      clients.push(await startAria2(torrent, "seed", true));
      await reaches(`http://127.0.0.1:${b.httpPort}`, torrent, "A's seeder at B", (s) => s.complete >= 1);
      const leecher = await startAria2(atB, "leech", true);
      clients.push(leecher);
      expect(await exitCodeWithin(leecher, TRANSFER_TIMEOUT_MS)).toBe(0);
      expect(await fileSha256(aria2DownloadPath(atB, leecher))).toBe(torrent.sha256);
    },
    TEST_TIMEOUT_MS,
  );
});
