// The WebSocket (WebTorrent) tracker with real clients in headless Chromium (Debian's, driven by
// playwright-core):
//  1. the bittorrent-tracker client library, WebSocket mode: two clients of one torrent announce; the second
//     one's offer is relayed to the first, its answer relayed back, the two connect over WebRTC and exchange
//     data; announce replies and a scrape carry the right counts; after `stopped` the counts are zero again;
//  2. two WebTorrent clients (its own browser bundle) on two pages: one seeds 256 KiB of random bytes, the
//     other downloads them from the magnet link, finding the seeder only through the tracker (no DHT, LSD,
//     PEX or web seeds; pages may reach nothing but the test's page server and the tracker). The download
//     must equal the original (SHA-256), and the tracker's counts must drop to zero once both are destroyed.
// WebRTC is checked on its own first (two connections inside one page), so an environment where it cannot
// work fails with that reason rather than as a tracker bug. Runs against buntracker unless
// WEBTORRENT_TRACKER says otherwise (see test/helpers/webtorrent-trackers.ts).

import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import {
  type BrowserHarness,
  call,
  describeFrames,
  events,
  type HarnessPage,
  startBrowserHarness,
  waitForEvent,
  waitForFrame,
  webrtcPreflight,
  type WsFrame,
} from "../helpers/webtorrent-browser.ts";
import { startTrackerTarget, type TrackerTarget, waitForCounts } from "../helpers/webtorrent-trackers.ts";

const TEST_TIMEOUT_MS = 60_000;
/** How long any one step may take (connecting peers, one announce round trip). */
const STEP_MS = 15_000;
const FILE_SIZE = 256 * 1024;

interface Setup {
  tracker: TrackerTarget;
  browser: BrowserHarness;
}

let setup: Promise<Setup> | null = null;
let pages: HarnessPage[] = [];

function start(): Promise<Setup> {
  setup ??= (async () => {
    const tracker = await startTrackerTarget();
    try {
      return { tracker, browser: await startBrowserHarness() };
    } catch (err) {
      await tracker.stop();
      throw err;
    }
  })();
  return setup;
}

async function openPage(s: Setup, label: string): Promise<HarnessPage> {
  const hp = await s.browser.newPage(label, s.tracker.origin);
  pages.push(hp);
  return hp;
}

beforeAll(() => {
  void start().catch(() => {});
});

afterEach(async () => {
  const open = pages;
  pages = [];
  for (const hp of open) await hp.context.close().catch(() => {});
});

afterAll(async () => {
  const s = await setup?.catch(() => null);
  if (!s) return;
  await s.browser.close();
  await s.tracker.stop();
});

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A 20-byte peer id in the usual -XXnnnn- style, random after the prefix. */
function peerId(prefix: string): Uint8Array {
  const id = new TextEncoder().encode(prefix + randomBytes(6).toString("hex"));
  if (id.length !== 20) throw new Error(`peer id ${prefix} is not 20 bytes`);
  return id;
}

const announces = (hp: HarnessPage, dir: WsFrame["dir"]) =>
  hp.frames.filter((f) => f.dir === dir && f.message?.action === "announce").map((f) => f.message!);

/** Console errors, page errors, stray requests or WebSockets, and client warnings/errors, over all pages. */
async function problems(...hps: HarnessPage[]): Promise<string[]> {
  const out: string[] = [];
  for (const hp of hps) {
    out.push(...hp.problems);
    for (const e of await events(hp)) {
      if (e.type === "warning" || e.type === "error" || e.type === "peer-error")
        out.push(`${hp.label} ${e.who} ${e.type}: ${String(e.message)}`);
    }
  }
  return out;
}

test(
  "bittorrent-tracker client (WebSocket): offer and answer relayed, peers connect over WebRTC, counts back to zero after stopped",
  async () => {
    const s = await start();
    const a = await openPage(s, "page A");
    const b = await openPage(s, "page B");
    await webrtcPreflight(a);

    const infoHash = new Uint8Array(randomBytes(20));
    const idA = peerId("-WW0100-");
    const idB = peerId("-WW0100-");
    // The two announce URLs the tracker serves: A on /announce, B on / (the same swarm).
    const urlA = s.tracker.url("/announce");
    const urlB = s.tracker.url("/");

    // A, a seeder, is alone: its announce reply counts only itself.
    await call(a, "startTrackerClient", {
      name: "A",
      announce: [urlA],
      infoHash: hex(infoHash),
      peerId: hex(idA),
      left: 0,
    });
    const updateA = await waitForEvent(a, "announce reply for A", { who: "A", type: "update" }, STEP_MS);
    expect({ complete: updateA.complete, incomplete: updateA.incomplete, announce: updateA.announce }).toEqual({
      complete: 1,
      incomplete: 0,
      announce: urlA,
    });
    await waitForCounts(s.tracker, infoHash, { seeders: 1, leechers: 0 }, "after A started");

    // B, a leecher, announces with offers; one is relayed to A, A answers, the answer goes back to B.
    await call(b, "startTrackerClient", {
      name: "B",
      announce: [urlB],
      infoHash: hex(infoHash),
      peerId: hex(idB),
      left: 1000,
    });
    const updateB = await waitForEvent(b, "announce reply for B", { who: "B", type: "update" }, STEP_MS);
    expect({ complete: updateB.complete, incomplete: updateB.incomplete }).toEqual({ complete: 1, incomplete: 1 });

    const peerAtA = await waitForEvent(a, "peer from B's relayed offer", { who: "A", type: "peer" }, STEP_MS);
    expect({ peerId: peerAtA.peerId, initiator: peerAtA.initiator }).toEqual({ peerId: hex(idB), initiator: false });
    const peerAtB = await waitForEvent(b, "peer from A's relayed answer", { who: "B", type: "peer" }, STEP_MS);
    expect({ peerId: peerAtB.peerId, initiator: peerAtB.initiator }).toEqual({ peerId: hex(idA), initiator: true });
    await waitForEvent(a, "WebRTC connection at A", { who: "A", type: "connect", peerId: hex(idB) }, STEP_MS);
    await waitForEvent(b, "WebRTC connection at B", { who: "B", type: "connect", peerId: hex(idA) }, STEP_MS);

    // The data channel really carries data, both ways.
    expect(await call<number>(a, "sendToPeers", "A", "hello from A")).toBe(1);
    expect(await call<number>(b, "sendToPeers", "B", "hello from B")).toBe(1);
    await waitForEvent(
      b,
      "A's message at B",
      { who: "B", type: "data", peerId: hex(idA), text: "hello from A" },
      STEP_MS,
    );
    await waitForEvent(
      a,
      "B's message at A",
      { who: "A", type: "data", peerId: hex(idB), text: "hello from B" },
      STEP_MS,
    );

    // What went over the tracker's sockets: B's offers, one relayed to A with its offer_id and B's peer_id;
    // A's answer to_peer_id B with that offer_id, relayed to B with A's peer_id.
    const ih = latin1(infoHash);
    const isAnnounce = (m: Record<string, unknown>) => m.action === "announce" && m.info_hash === ih;
    const started = await waitForFrame(
      b,
      "sent",
      "announce with offers",
      (m) => isAnnounce(m) && Array.isArray(m.offers),
      STEP_MS,
    );
    const offersFromB = started.offers as { offer_id: string; offer: { type: string; sdp: string } }[];
    expect(offersFromB.length).toBeGreaterThan(0);
    for (const o of offersFromB) {
      expect(o.offer.type).toBe("offer");
      expect(o.offer_id.length).toBe(20);
    }
    const relayed = await waitForFrame(
      a,
      "received",
      "relayed offer",
      (m) => isAnnounce(m) && m.offer !== undefined,
      STEP_MS,
    );
    expect(relayed.peer_id).toBe(latin1(idB));
    expect((relayed.offer as { type: string }).type).toBe("offer");
    expect(offersFromB.map((o) => o.offer_id)).toContain(relayed.offer_id as string);
    const answerFromA = await waitForFrame(
      a,
      "sent",
      "answer",
      (m) => isAnnounce(m) && m.answer !== undefined,
      STEP_MS,
    );
    expect({ to_peer_id: answerFromA.to_peer_id, offer_id: answerFromA.offer_id }).toEqual({
      to_peer_id: latin1(idB),
      offer_id: relayed.offer_id,
    });
    const answer = await waitForFrame(
      b,
      "received",
      "relayed answer",
      (m) => isAnnounce(m) && m.answer !== undefined,
      STEP_MS,
    );
    expect({
      peer_id: answer.peer_id,
      offer_id: answer.offer_id,
      type: (answer.answer as { type: string }).type,
    }).toEqual({
      peer_id: latin1(idA),
      offer_id: relayed.offer_id,
      type: "answer",
    });
    // Exactly one offer reached A (B's offers go one per other peer) and A answered it once.
    expect(announces(a, "received").filter((m) => m.offer !== undefined).length).toBe(1);
    expect(announces(a, "sent").filter((m) => m.answer !== undefined).length).toBe(1);
    // Every announce reply names its interval.
    const replies = [...announces(a, "received"), ...announces(b, "received")].filter((m) => m.complete !== undefined);
    expect(replies.length).toBeGreaterThanOrEqual(2);
    for (const m of replies) expect(m.interval).toBeGreaterThan(0);

    // A WebSocket scrape through the library.
    await call(a, "scrape", "A");
    const scrape = await waitForEvent(a, "scrape reply", { who: "A", type: "scrape" }, STEP_MS);
    expect({ complete: scrape.complete, incomplete: scrape.incomplete, infoHash: scrape.infoHash }).toEqual({
      complete: 1,
      incomplete: 1,
      infoHash: hex(infoHash),
    });
    await waitForCounts(s.tracker, infoHash, { seeders: 1, leechers: 1 }, "with A and B announced");
    expect(await problems(a, b)).toEqual([]);

    // B stops (announce `stopped`, close), then A: the tracker forgets each.
    await call(b, "stopTrackerClient", "B");
    await waitForFrame(b, "sent", "announce event=stopped", (m) => isAnnounce(m) && m.event === "stopped", STEP_MS);
    await waitForCounts(s.tracker, infoHash, { seeders: 1, leechers: 0 }, "after B stopped");
    await call(a, "stopTrackerClient", "A");
    await waitForCounts(s.tracker, infoHash, { seeders: 0, leechers: 0 }, "after A stopped");
  },
  TEST_TIMEOUT_MS,
);

interface TorrentSummary {
  infoHash: string;
  magnetURI: string;
  announce: string[];
  length: number;
  pieces: number;
  numPeers: number;
  wires: { peerId: string; type: string }[];
  uploaded: number;
  received: number;
  downloaded: number;
  progress: number;
}

interface DownloadResult {
  done: boolean;
  fileName?: string;
  length?: number;
  sha256?: string;
  summary: TorrentSummary | null;
}

test(
  "two WebTorrent clients in headless Chromium transfer a 256 KiB file through the tracker, then its counts drop to zero",
  async () => {
    const s = await start();
    const seeder = await openPage(s, "seeder page");
    const leecher = await openPage(s, "leecher page");
    await webrtcPreflight(seeder);

    const data = new Uint8Array(randomBytes(FILE_SIZE));
    const sha256 = createHash("sha256").update(data).digest("hex");
    s.browser.addFile("/files/random.bin", data);
    const announce = [s.tracker.url("/announce")];

    const seeded = await call<TorrentSummary>(seeder, "seed", {
      name: "seeder",
      url: "/files/random.bin",
      fileName: "random.bin",
      announce,
    });
    expect(seeded.announce).toEqual(announce); // our tracker is the only one the torrent knows
    expect(seeded.length).toBe(FILE_SIZE);
    expect(seeded.magnetURI).toContain(`xt=urn:btih:${seeded.infoHash}`);
    const infoHash = new Uint8Array(Buffer.from(seeded.infoHash, "hex"));
    await waitForCounts(s.tracker, infoHash, { seeders: 1, leechers: 0 }, "after the seeder announced", STEP_MS);

    const got = await call<DownloadResult>(leecher, "download", {
      name: "leecher",
      magnetURI: seeded.magnetURI,
      announce,
      timeoutMs: 40_000,
    });
    if (!got.done) {
      throw new Error(
        `the leecher did not finish: ${JSON.stringify(got.summary)}\nleecher events: ${JSON.stringify(await events(leecher))}` +
          `\nseeder events: ${JSON.stringify(await events(seeder))}\nleecher frames: ${describeFrames(leecher)}\nseeder frames: ${describeFrames(seeder)}`,
      );
    }
    expect({ fileName: got.fileName, length: got.length, sha256: got.sha256 }).toEqual({
      fileName: "random.bin",
      length: FILE_SIZE,
      sha256,
    });
    const l = got.summary!;
    expect(l.announce).toEqual(announce);
    expect(l.progress).toBe(1);
    expect(l.received).toBeGreaterThanOrEqual(FILE_SIZE); // the bytes came over the wire, not from a cache
    expect(l.wires.length).toBeGreaterThan(0);
    expect(l.wires.filter((w) => w.type !== "webrtc")).toEqual([]);
    const [seederNow] = await call<TorrentSummary[]>(seeder, "summary", "seeder");
    expect(seederNow.uploaded).toBeGreaterThanOrEqual(FILE_SIZE);
    expect(seederNow.wires.length).toBeGreaterThan(0);
    expect(seederNow.wires.filter((w) => w.type !== "webrtc")).toEqual([]);

    // The leecher announced `completed`: two seeders.
    await waitForFrame(
      leecher,
      "sent",
      "announce event=completed",
      (m) => m.action === "announce" && m.event === "completed",
      STEP_MS,
    );
    await waitForCounts(s.tracker, infoHash, { seeders: 2, leechers: 0 }, "after the leecher completed");
    expect(await problems(seeder, leecher)).toEqual([]);

    // Destroying the clients announces `stopped` and closes their sockets: the swarm is empty.
    await call(leecher, "destroyWebTorrent", "leecher");
    await call(seeder, "destroyWebTorrent", "seeder");
    await waitForCounts(s.tracker, infoHash, { seeders: 0, leechers: 0 }, "after both clients were destroyed");
  },
  TEST_TIMEOUT_MS,
);
