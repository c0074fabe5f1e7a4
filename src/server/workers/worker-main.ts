// A Worker thread of --workers (see pool.ts): it gets the settings, the mesh and the ports from the main
// thread, and runs the same tracker (app.ts) over its own share of the swarms: the UDP, HTTP and WebSocket
// front ends on the shared ports. Its logs and its operator requests go to the main thread.

import type { LogLevel } from "../../config/config.ts";
import type { FrozenTable } from "../../core/torrent-table.ts";
import type { AccessEdit } from "../access-control.ts";
import { type RunningTracker, startTracker } from "../app.ts";
import { MAX_BODY, readBody, TOO_LARGE, UNREADABLE } from "../admin.ts";
import { errorText, Logger } from "../logger.ts";
import { encodeShareSlice } from "../state-file.ts";
import { configFromWire } from "./config-wire.ts";
import { wsThreadCounts } from "./ws-forwarding.ts";
import type { FromWorker, ToWorker, WireResponse } from "./messages.ts";

declare const self: Worker;

const post = (m: FromWorker) => self.postMessage(m);
/** How long an operator request waits for the main thread before the client gets 503. */
const OPERATOR_TIMEOUT_MS = 10_000;

let tracker: RunningTracker | null = null;
let log: Logger | null = null;
const operatorWaiting = new Map<number, (res: WireResponse | null) => void>();
let nextOperator = 1;

/** What the main thread may ask a thread for (pool.ask): name -> answer. */
export const answers = new Map<string, (t: RunningTracker, arg: unknown) => unknown>([
  ["ping", () => "pong"],
  /** Datagrams this thread read (of any kind), for tests that need both threads to have read some. */
  ["udpRead", (t) => t.udp?.read ?? 0],
  ["mesh", (t) => ({ handed: t.mesh?.handed ?? 0, answered: t.mesh?.answered ?? 0, dropped: t.mesh?.dropped ?? 0 })],
  ["ws", (t) => wsThreadCounts(t.ws, t.counters)],
  [
    "torrent",
    (t, infoHash) => {
      const v = t.store.get(String(infoHash));
      return v === undefined ? null : { seeders: v.seeders, leechers: v.leechers };
    },
  ],
  ["setLogLevel", (_t, level) => log?.setLevel(level as LogLevel)],
  ["reloadTls", (t) => t.reloadTls()],
  // The main thread's list, loaded again or shared again after many edits (access-control.ts `follow`).
  ["accessShare", (t, shared) => t.access.adopt(shared as FrozenTable, "the main thread's list")],
  // An admin edit the main thread made to the access list file (access-control.ts).
  ["accessEdit", (t, edit) => t.access.applyEdit(edit as AccessEdit)],
  // What this thread restored from the state file at its start (app.ts sums them in the log).
  ["restored", (t) => t.restored],
  // A slice of this thread's swarms for the main thread's state save (state-file.ts).
  [
    "stateSlice",
    (t, arg) => {
      const { from, now } = arg as { from: number; now: number };
      return encodeShareSlice(t.store, from, now);
    },
  ],
  // This thread's torrents for the main thread's full scrape (frontend/full-scrape.ts).
  ["fullScrapeEntries", (t) => t.fullScrape?.ownEntries() ?? null],
  // This thread's share of every statistic, with its rankings when asked (server/statistics.ts pulls it).
  ["summary", (t, withTop) => t.stats.ownSummary(withTop === true, t.mesh ?? { handed: 0, answered: 0, dropped: 0 })],
]);

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  switch (m.t) {
    case "start":
      void start(m);
      return;
    case "stop":
      // Listeners, timers and mesh stop; the thread stays, with its swarms, answering calls (the final state
      // save asks for them) until the main thread ends it.
      void (async () => {
        try {
          await tracker?.stop();
        } finally {
          post({ t: "stopped" });
        }
      })();
      return;
    case "call":
      void answer(m.id, m.what, m.arg);
      return;
    case "operator":
      operatorWaiting.get(m.id)?.(m.res);
      return;
  }
};

async function answer(id: number, what: string, arg: unknown): Promise<void> {
  let value: unknown = null;
  try {
    const fn = answers.get(what);
    if (fn !== undefined && tracker !== null) value = await fn(tracker, arg);
  } catch (err) {
    tracker?.faults.caught(`worker call ${what}`, err);
  }
  post({ t: "answer", id, value: value ?? null });
}

async function start(m: Extract<ToWorker, { t: "start" }>): Promise<void> {
  const config = configFromWire(m.config);
  const field = `,"worker":${m.index}}`;
  const logger = new Logger(config.logLevel, (line, level) =>
    post({ t: "log", line: line.slice(0, -1) + field, level }),
  );
  log = logger;
  // The last resort behind the per-callback boundaries, as in main.ts.
  process.on("uncaughtException", (err) => tracker?.faults.caught("process", err));
  process.on("unhandledRejection", (err) => tracker?.faults.caught("process", err));
  try {
    tracker = await startTracker(config, logger, null, () => {}, undefined, {
      self: m.index,
      count: m.count,
      memory: m.memory,
      ports: m.ports,
      shared: m.shared,
      landed: (socket, key) => post({ t: "landed", socket, key }),
      access: m.access,
      toMain: async (req, server) => {
        const addr = server.requestIP(req);
        // Only the admin API takes a body, of at most MAX_BODY bytes: read no more than one byte past that (the
        // main thread then answers 413 as for its own), and never buffer a huge upload here.
        let body: Uint8Array | null = null;
        if (req.method !== "GET" && req.method !== "HEAD") {
          const read = await readBody(req, MAX_BODY);
          if (read === UNREADABLE) return new Response("bad request body\n", { status: 400 });
          body = read === TOO_LARGE ? new Uint8Array(MAX_BODY + 1) : read;
        }
        const id = nextOperator++;
        const res = await new Promise<WireResponse | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), OPERATOR_TIMEOUT_MS);
          operatorWaiting.set(id, (r) => {
            clearTimeout(timer);
            resolve(r);
          });
          post({
            t: "operator",
            id,
            req: {
              method: req.method,
              url: req.url,
              // (the body's own framing does not cross: it is whole, or cut one byte past the cap)
              headers: [...req.headers].filter(([name]) => name !== "content-length" && name !== "transfer-encoding"),
              body,
              address: addr?.address ?? "",
              family: addr?.family ?? "",
              port: addr?.port ?? 0,
            },
          });
        });
        operatorWaiting.delete(id);
        if (res === null) return new Response("main thread busy\n", { status: 503, headers: { "retry-after": "1" } });
        return new Response(res.body, { status: res.status, headers: res.headers });
      },
    });
    post({ t: "ready" });
  } catch (err) {
    post({ t: "failed", message: errorText(err) });
  }
}
