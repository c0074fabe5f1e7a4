// Two real BitTorrent clients move a file to each other with our tracker as their only way to meet
// (private torrent; DHT, PEX and LSD off). Needs the Debian packages aria2, mktorrent and transmission-cli:
// a missing binary fails the test rather than skipping it.

import { expect, test } from "bun:test";
import { startTracker } from "../helpers/tracker-process.ts";
import {
  aria2DownloadPath,
  type Client,
  exitCodeWithin,
  fileSha256,
  makeTorrent,
  removeTorrentDir,
  scrape,
  type ScrapeStats,
  startAria2,
  startTransmissionLeecher,
  type Torrent,
  waitFor,
} from "../helpers/clients.ts";

const TEST_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 30_000;
const TRANSFER_TIMEOUT_MS = 75_000;

interface Run {
  tracker: Awaited<ReturnType<typeof startTracker>>;
  scrapeBase: string; // HTTP base URL: scrape serves swarms fed over either protocol
  clients: Client[]; // stopped when the test ends
  makeTorrent(announceUrl: string): Promise<Torrent>;
}

/** Runs `body` against a fresh tracker; on failure appends client and tracker logs; always cleans up. */
async function withTracker(workers: number, body: (run: Run) => Promise<void>): Promise<void> {
  const tracker = await startTracker(["--listen", "127.0.0.1:0", "--workers", String(workers)]);
  const clients: Client[] = [];
  let torrent: Torrent | undefined;
  const run: Run = {
    tracker,
    scrapeBase: `http://127.0.0.1:${tracker.httpPort}`,
    clients,
    makeTorrent: async (url) => (torrent = await makeTorrent(url)),
  };
  let passed = false;
  try {
    await body(run);
    passed = true;
  } catch (e) {
    const logs = (await Promise.all(clients.map((c) => c.log()))).join("\n");
    const kept = torrent ? `\n(files and full client logs kept in ${torrent.dir})` : "";
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`${message}\n${logs}\n--- tracker ---\n${tracker.output().slice(-4000)}${kept}`, { cause: e });
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await tracker.stop();
    if (passed) await removeTorrentDir(torrent);
  }
}

/** Waits until the tracker's scrape satisfies `ok`, i.e. it has taken in that client's announce. */
async function swarmReaches(run: Run, t: Torrent, what: string, ok: (s: ScrapeStats) => boolean): Promise<void> {
  let last: ScrapeStats | undefined;
  await waitFor(
    `the tracker to report ${what}`,
    STEP_TIMEOUT_MS,
    async () => (last = await scrape(run.scrapeBase, t.infoHash)) !== undefined && ok(last),
    () => `last scrape: ${JSON.stringify(last)}`,
  );
}

async function expectTrackerSawTransfer(run: Run, t: Torrent): Promise<void> {
  const stats = await scrape(run.scrapeBase, t.infoHash);
  // The seeder is still running, so complete >= 1; downloaded counts the leecher's "completed" event.
  expect(stats).toBeDefined();
  expect(stats!.complete >= 1 || stats!.downloaded >= 1).toBe(true);
}

// Each with one thread and with two (--workers 2: the seeder and the leecher may be read by different threads).
for (const workers of [1, 2]) {
  test(
    `HTTP tracker (--workers ${workers}): aria2c seeds to transmission-cli`,
    async () => {
      await withTracker(workers, async (run) => {
        const t = await run.makeTorrent(`http://127.0.0.1:${run.tracker.httpPort}/announce`);
        // transmission takes loopback peers only inbound, so it announces first and the seeder dials it.
        const leecher = await startTransmissionLeecher(t);
        run.clients.push(leecher);
        await swarmReaches(run, t, "the transmission leecher", (s) => s.incomplete >= 1);
        run.clients.push(await startAria2(t, "seed", false));

        await leecher.finished(TRANSFER_TIMEOUT_MS);
        expect(await fileSha256(leecher.downloadPath)).toBe(t.sha256);
        await expectTrackerSawTransfer(run, t);
      });
    },
    TEST_TIMEOUT_MS,
  );

  test(
    `UDP tracker (--workers ${workers}): aria2c seeds to aria2c`,
    async () => {
      await withTracker(workers, async (run) => {
        expect(run.tracker.udpPort).not.toBeNull();
        const t = await run.makeTorrent(`udp://127.0.0.1:${run.tracker.udpPort}/announce`);
        run.clients.push(await startAria2(t, "seed", true));
        await swarmReaches(run, t, "the aria2 seeder", (s) => s.complete >= 1);
        const leecher = await startAria2(t, "leech", true);
        run.clients.push(leecher);

        expect(await exitCodeWithin(leecher, TRANSFER_TIMEOUT_MS)).toBe(0); // --seed-time=0: exits when complete
        expect(await fileSha256(aria2DownloadPath(t, leecher))).toBe(t.sha256);
        await expectTrackerSawTransfer(run, t);
      });
    },
    TEST_TIMEOUT_MS,
  );
}
