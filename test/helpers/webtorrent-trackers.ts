// The WebSocket tracker a WebTorrent test runs against, and how the test reads its per-torrent counts.
// WEBTORRENT_TRACKER picks it:
//   unset or "buntracker"  ours, started in-process (startTestTracker; BUNTRACKER_WORKERS=2 for two threads);
//                          counts from the store (the owner thread's), an HTTP scrape and a WebSocket scrape
//   "reference"            the reference server from the bittorrent-tracker package (WebSocket only), in-process;
//                          counts from its swarms and a WebSocket scrape
//   "ws://host:port/path"  any running WebSocket tracker; counts from a WebSocket scrape
// so the same test checks the harness against the reference implementation and ours against the same test.

import { decodeBencode } from "../../src/codec/bencode-decode.ts";
import { ownerOf } from "../../src/core/owner.ts";
import { pct } from "./http-client.ts";
import { startTestTracker, type TestTracker } from "./in-process.ts";

export interface Counts {
  seeders: number;
  leechers: number;
}

export interface TrackerTarget {
  name: string;
  /** ws://host:port, for checking that pages talk to nothing else. */
  origin: string;
  /** The WebSocket URL for a path ("/announce" or "/"). */
  url(path: "/announce" | "/"): string;
  /** Every view of the torrent's counts this tracker offers, by name; a torrent it does not know is 0/0. */
  counts(infoHash: Uint8Array): Promise<Record<string, Counts>>;
  /** Our tracker, when it is the one under test. */
  buntracker: TestTracker | null;
  stop(): Promise<void>;
}

const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export async function startTrackerTarget(
  choice = process.env.WEBTORRENT_TRACKER ?? "buntracker",
): Promise<TrackerTarget> {
  if (choice === "buntracker") return startBuntracker();
  if (choice === "reference") return startReference();
  if (/^wss?:\/\//.test(choice)) return external(choice);
  throw new Error(`WEBTORRENT_TRACKER=${choice}: expected "buntracker", "reference" or a ws:// URL`);
}

async function startBuntracker(): Promise<TrackerTarget> {
  const tracker = await startTestTracker();
  const origin = `ws://127.0.0.1:${tracker.httpPort}`;
  return {
    name: "buntracker",
    origin,
    url: (path) => origin + path,
    buntracker: tracker,
    async counts(infoHash) {
      // (With several threads, the torrent is in its owner's store.)
      const h = latin1(infoHash);
      const owner = ownerOf(h, tracker.threads);
      const t = owner === 0 ? tracker.store.get(h) : (await tracker.pool!.ask<Counts>("torrent", h))[owner - 1];
      return {
        store: { seeders: t?.seeders ?? 0, leechers: t?.leechers ?? 0 },
        httpScrape: await httpScrape(`http://127.0.0.1:${tracker.httpPort}/scrape`, infoHash),
        wsScrape: await wsScrape(origin + "/announce", infoHash),
      };
    },
    stop: () => tracker.stop(),
  };
}

async function startReference(): Promise<TrackerTarget> {
  const { default: Server } = await import("bittorrent-tracker/server");
  const server = new Server({ http: false, udp: false, ws: true, stats: false });
  server.on("error", (err) => console.error("reference tracker error:", err));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.http?.address();
  if (!address || typeof address === "string") throw new Error("the reference tracker has no TCP address");
  const origin = `ws://127.0.0.1:${address.port}`;
  return {
    name: "reference bittorrent-tracker server",
    origin,
    url: (path) => origin + path,
    buntracker: null,
    async counts(infoHash) {
      const swarm = server.torrents[hex(infoHash)];
      return {
        swarm: { seeders: swarm?.complete ?? 0, leechers: swarm?.incomplete ?? 0 },
        wsScrape: await wsScrape(origin + "/announce", infoHash),
      };
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function external(url: string): TrackerTarget {
  const u = new URL(url);
  const origin = `${u.protocol}//${u.host}`;
  return {
    name: url,
    origin,
    url: (path) => (path === "/announce" ? url : origin + "/"),
    buntracker: null,
    async counts(infoHash) {
      return { wsScrape: await wsScrape(url, infoHash) };
    },
    stop: async () => {},
  };
}

/** A WebTorrent-protocol scrape over a fresh WebSocket (Bun's client): {action: "scrape", info_hash}. */
export function wsScrape(url: string, infoHash: Uint8Array, timeoutMs = 5_000): Promise<Counts> {
  const ih = latin1(infoHash);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`WebSocket scrape of ${url}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | null, counts?: Counts) => {
      clearTimeout(timer);
      ws.close();
      if (err) reject(err);
      else resolve(counts!);
    };
    ws.onopen = () => ws.send(JSON.stringify({ action: "scrape", info_hash: ih }));
    ws.onerror = () => done(new Error(`WebSocket scrape of ${url}: socket error`));
    ws.onmessage = (e) => {
      let m: {
        action?: string;
        files?: Record<string, { complete?: number; incomplete?: number }>;
        "failure reason"?: string;
      };
      try {
        m = JSON.parse(String(e.data));
      } catch {
        return done(new Error(`WebSocket scrape of ${url}: not JSON: ${String(e.data)}`));
      }
      if (m["failure reason"]) return done(new Error(`WebSocket scrape of ${url} failed: ${m["failure reason"]}`));
      if (m.action !== "scrape") return; // not ours (nothing else should arrive, but a tracker may say hello)
      const f = m.files?.[ih];
      done(null, { seeders: f?.complete ?? 0, leechers: f?.incomplete ?? 0 });
    };
  });
}

/** A BEP 48 HTTP scrape; a torrent missing from `files` counts as 0/0. */
async function httpScrape(url: string, infoHash: Uint8Array): Promise<Counts> {
  const res = await fetch(`${url}?info_hash=${pct(infoHash)}`);
  const body = decodeBencode(new Uint8Array(await res.arrayBuffer()));
  if (res.status !== 200 || typeof body !== "object" || Array.isArray(body))
    throw new Error(`HTTP scrape: ${res.status} ${JSON.stringify(body)}`);
  const files = body.files;
  if (files !== undefined && (typeof files !== "object" || Array.isArray(files)))
    throw new Error(`HTTP scrape: bad files ${JSON.stringify(files)}`);
  const f = files?.[latin1(infoHash)];
  if (f !== undefined && (typeof f !== "object" || Array.isArray(f)))
    throw new Error(`HTTP scrape: bad entry ${JSON.stringify(f)}`);
  return { seeders: Number(f?.complete ?? 0), leechers: Number(f?.incomplete ?? 0) };
}

/**
 * Polls the tracker's counts (every 100 ms) until every view equals `expected`, or throws after `timeoutMs`
 * with the last views: there is no event to wait for on the tracker side.
 */
export async function waitForCounts(
  target: TrackerTarget,
  infoHash: Uint8Array,
  expected: Counts,
  what: string,
  timeoutMs = 10_000,
): Promise<Record<string, Counts>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, Counts> | string = "nothing read yet";
  for (;;) {
    try {
      last = await target.counts(infoHash);
      if (Object.values(last).every((c) => c.seeders === expected.seeders && c.leechers === expected.leechers))
        return last;
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${target.name}: ${what}: expected ${JSON.stringify(expected)} within ${timeoutMs} ms, last saw ${JSON.stringify(last)}`,
      );
    }
    await Bun.sleep(100);
  }
}
