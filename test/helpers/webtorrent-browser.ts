// Headless Chromium for the WebTorrent tests: bundles test/fixtures/webtorrent/page.js (with the
// bittorrent-tracker client) for the browser, serves it, WebTorrent's dist bundle and test files from a small
// Bun.serve on 127.0.0.1, and opens pages (each in its own browser context, so each has its own storage and
// WebSocket pool) that record console errors, page errors, external requests and WebSocket frames.
// Chromium never offers loopback candidates, so WebRTC needs some other interface with an address and a
// default route (no internet needed): webrtcPreflight() says so when there is none.

import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { CHROMIUM, CHROMIUM_ARGS } from "./chromium.ts";

const FIXTURES = join(import.meta.dir, "..", "fixtures", "webtorrent");

/** One browser page with what it did: the test checks `problems` is empty and reads `frames`. */
export interface HarnessPage {
  label: string;
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions, requests to anything but the harness server and the tracker. */
  problems: string[];
  /** WebSocket frames the page sent and received, parsed as JSON (null when a frame was not JSON). */
  frames: WsFrame[];
  /** URLs of the WebSockets the page opened. */
  sockets: string[];
}

export interface WsFrame {
  url: string;
  dir: "sent" | "received";
  message: Record<string, unknown> | null;
  raw: string;
}

export interface BrowserHarness {
  browser: Browser;
  /** http://127.0.0.1:PORT, the origin of every page. */
  origin: string;
  /** Serves `bytes` at origin + path (path starts with /files/). */
  addFile(path: string, bytes: Uint8Array): void;
  /** Opens the harness page in a fresh context; `trackerOrigin` (ws://host:port) is the only other host allowed. */
  newPage(label: string, trackerOrigin: string): Promise<HarnessPage>;
  close(): Promise<void>;
}

/** Bundles page.js and its bittorrent-tracker client for the browser (kept in memory). */
async function buildPageScript(): Promise<string> {
  const result = await Bun.build({
    entrypoints: [join(FIXTURES, "page.js")],
    target: "browser",
    format: "esm",
    // The library reads process.browser to pick its browser code paths, as browserify/webpack builds define it.
    define: { "process.browser": "true", global: "globalThis" },
    plugins: [
      {
        // bittorrent-tracker's package.json maps ./lib/common-node.js to false for browsers, and lib/common.js
        // does `export * from './common-node.js'`. Bun 1.4.4 turns that into __reExport(..., common_node) with
        // common_node never defined ("common_node is not defined" on load), so supply the empty module
        // ourselves, which is what the mapping to false means.
        name: "bittorrent-tracker common-node.js is empty in browsers",
        setup(build) {
          build.onResolve({ filter: /^\.\/common-node\.js$/ }, (args) =>
            args.importer.includes("bittorrent-tracker")
              ? { path: "common-node.js", namespace: "empty-module" }
              : undefined,
          );
          build.onLoad({ filter: /.*/, namespace: "empty-module" }, () => ({ contents: "export {};", loader: "js" }));
        },
      },
    ],
  });
  if (!result.success || result.outputs.length !== 1) {
    throw new Error(`bundling ${join(FIXTURES, "page.js")} failed: ${result.logs.map(String).join("\n")}`);
  }
  return result.outputs[0].text();
}

/** WebTorrent's prebuilt browser bundle (an ES module), as shipped in the npm package. */
function webtorrentDist(): string {
  const path = join(dirname(Bun.resolveSync("webtorrent", import.meta.dir)), "dist", "webtorrent.min.js");
  if (!existsSync(path)) throw new Error(`${path} is missing: is the webtorrent dev dependency installed?`);
  return path;
}

export async function startBrowserHarness(): Promise<BrowserHarness> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
  const script = await buildPageScript();
  const wtPath = webtorrentDist();
  const files = new Map<string, Uint8Array>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/")
        return new Response(Bun.file(join(FIXTURES, "index.html")), {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      if (path === "/harness.js")
        return new Response(script, { headers: { "content-type": "text/javascript; charset=utf-8" } });
      if (path === "/webtorrent.min.js")
        return new Response(Bun.file(wtPath), { headers: { "content-type": "text/javascript; charset=utf-8" } });
      const bytes = files.get(path);
      if (bytes) return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
      return new Response("not found", { status: 404 });
    },
  });
  const origin = `http://127.0.0.1:${server.port}`;
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    await server.stop(true);
    throw err;
  }
  const contexts: BrowserContext[] = [];

  return {
    browser,
    origin,
    addFile(path, bytes) {
      if (!path.startsWith("/files/")) throw new Error(`test files live under /files/, not ${path}`);
      files.set(path, bytes);
    },
    async newPage(label, trackerOrigin) {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const hp: HarnessPage = { label, page, context, problems: [], frames: [], sockets: [] };
      page.on("console", (m) => {
        if (m.type() === "error") hp.problems.push(`${label} console: ${m.text()}`);
      });
      page.on("pageerror", (e) => hp.problems.push(`${label} page error: ${e.message}`));
      page.on("request", (r) => {
        if (!r.url().startsWith(origin + "/") && !r.url().startsWith("data:"))
          hp.problems.push(`${label} external request: ${r.url()}`);
      });
      page.on("websocket", (ws) => {
        hp.sockets.push(ws.url());
        if (!ws.url().startsWith(trackerOrigin + "/"))
          hp.problems.push(`${label} WebSocket to something other than the tracker: ${ws.url()}`);
        const onFrame = (dir: WsFrame["dir"]) => (f: { payload: string | Buffer }) => {
          const raw = typeof f.payload === "string" ? f.payload : f.payload.toString("latin1");
          let message: Record<string, unknown> | null = null;
          try {
            const parsed: unknown = JSON.parse(raw);
            if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
              message = parsed as Record<string, unknown>;
          } catch {
            // not JSON: kept raw, message stays null
          }
          hp.frames.push({ url: ws.url(), dir, message, raw });
        };
        ws.on("framesent", onFrame("sent"));
        ws.on("framereceived", onFrame("received"));
      });
      await page.goto(origin + "/");
      try {
        await page.waitForFunction(
          "globalThis.harness !== undefined && globalThis.WebTorrent !== undefined",
          undefined,
          { timeout: 10_000 },
        );
      } catch (err) {
        throw new Error(`${label}: the harness page did not load: ${JSON.stringify(hp.problems)} (${String(err)})`);
      }
      return hp;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await server.stop(true);
    },
  };
}

/** Calls globalThis.harness[fn](...args) in the page and returns its (JSON) result. */
export function call<T = unknown>(hp: HarnessPage, fn: string, ...args: unknown[]): Promise<T> {
  return hp.page.evaluate(
    ([f, a]) => (globalThis as unknown as { harness: Record<string, (...x: unknown[]) => unknown> }).harness[f](...a),
    [fn, args] as [string, unknown[]],
  ) as Promise<T>;
}

/** An event a page's clients recorded (see page.js). */
export interface PageEvent {
  who: string;
  type: string;
  at: number;
  [key: string]: unknown;
}

export function events(hp: HarnessPage): Promise<PageEvent[]> {
  return hp.page.evaluate(() => (globalThis as unknown as { harness: { events: PageEvent[] } }).harness.events);
}

/**
 * Waits until the page has recorded an event matching `match` (checked every 50 ms in the page), or
 * throws after `timeoutMs` with every event the page saw, so a failure says how far the clients got.
 */
export async function waitForEvent(
  hp: HarnessPage,
  what: string,
  match: { who: string; type: string } & Record<string, unknown>,
  timeoutMs: number,
): Promise<PageEvent> {
  try {
    await hp.page.waitForFunction(
      (m) =>
        (globalThis as unknown as { harness: { events: Record<string, unknown>[] } }).harness.events.some((e) =>
          Object.entries(m).every(([k, v]) => e[k] === v),
        ),
      match,
      { timeout: timeoutMs, polling: 50 },
    );
  } catch (err) {
    const seen = await events(hp).catch(() => []);
    throw new Error(
      `${hp.label}: no ${what} within ${timeoutMs} ms (waited for ${JSON.stringify(match)}).\n` +
        `events: ${JSON.stringify(seen, null, 1)}\nframes: ${describeFrames(hp)}\n(${String(err)})`,
    );
  }
  const all = await events(hp);
  return all.find((e) => Object.entries(match).every(([k, v]) => e[k] === v))!;
}

/**
 * Waits until the page has sent or received (`dir`) a JSON WebSocket message matching `match`, and returns it.
 * Frames reach us as DevTools network events, which are not ordered with page.evaluate results, so even a
 * frame the page has certainly sent is waited for (polled every 50 ms, up to `timeoutMs`).
 */
export async function waitForFrame(
  hp: HarnessPage,
  dir: WsFrame["dir"],
  what: string,
  match: (m: Record<string, unknown>) => boolean,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = hp.frames.find((f) => f.dir === dir && f.message !== null && match(f.message));
    if (f) return f.message!;
    if (Date.now() > deadline)
      throw new Error(`${hp.label}: no ${what} ${dir} within ${timeoutMs} ms.\nframes: ${describeFrames(hp)}`);
    await Bun.sleep(50);
  }
}

/** The page's WebSocket traffic, one line per frame, SDPs shortened: for failure messages. */
export function describeFrames(hp: HarnessPage): string {
  return hp.frames
    .map((f) => `\n  ${f.dir} ${f.url} ${f.raw.replace(/"sdp":"(?:[^"\\]|\\.)*"/g, '"sdp":"…"').slice(0, 400)}`)
    .join("");
}

export interface Preflight {
  ok: boolean;
  candidates: string[];
  iceConnectionState?: string;
  iceGatheringState?: string;
  error?: string;
}

/**
 * Fails, saying why, when WebRTC cannot connect two peers inside this browser at all: then no tracker could
 * help, and the test should not blame ours.
 */
export async function webrtcPreflight(hp: HarnessPage): Promise<Preflight> {
  const result = await call<Preflight>(hp, "preflight", 10_000);
  if (!result.ok) {
    const why =
      result.candidates.length === 0
        ? "it gathered no ICE candidates at all. Chromium never uses the loopback interface for WebRTC: the " +
          "machine needs another interface that is up, with an address and a default route (no internet needed: a veth " +
          "with a private address and a default route to a gateway that does not exist works; without the default " +
          "route, or on a dummy interface, Chromium gathers nothing)"
        : `ICE did not connect (state ${result.iceConnectionState}) with candidates ${JSON.stringify(result.candidates)}`;
    throw new Error(
      `WebRTC does not work in this Chromium (${CHROMIUM}, args ${CHROMIUM_ARGS.join(" ")}): ${why}` +
        (result.error ? `; ${result.error}` : ""),
    );
  }
  return result;
}
