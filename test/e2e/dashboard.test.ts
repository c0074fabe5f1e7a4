// The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against the real tracker
// loaded with real HTTP announces. Checks the counters against /api/stats, the charts, the language switch
// (and that it is remembered, and that Chinese is drawn with a real CJK font), the Top 100 and client pages,
// dark mode and a phone-sized viewport, stat cards that cut no text (large counters too), a fresh tracker's
// empty and live charts, with no console errors anywhere; and that every page and asset comes with the
// security headers and the pages work under that Content-Security-Policy (no violation reported).
// Screenshots go to test-artifacts/. A missing Chromium fails the tests.

import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePair } from "../helpers/certs.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/chromium.ts";
import { pct, sha1 } from "../helpers/http-client.ts";
import { NO_REDIS_MESSAGE, REDIS_SERVER, RedisServer } from "../helpers/redis-server.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";

const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const TEST_TIMEOUT_MS = 30_000;

interface Swarm {
  label: string;
  seeders: number;
  leechers: number;
}

// Several torrents of different sizes, so every ranking has an order to check.
const SWARMS: Swarm[] = [
  { label: "dashboard-e2e-a", seeders: 3, leechers: 2 },
  { label: "dashboard-e2e-b", seeders: 1, leechers: 4 },
  { label: "dashboard-e2e-c", seeders: 2, leechers: 0 },
  { label: "dashboard-e2e-d", seeders: 0, leechers: 1 },
];
const hex = (label: string) => Buffer.from(sha1(label)).toString("hex");

interface Setup {
  tracker: TrackerProcess;
  base: string;
  context: BrowserContext;
  /** Chromium's profile and the trends file. */
  tmp: string;
}

/**
 * Three days of made-up history, one sample per 10 minutes up to 10 minutes ago, with a 2-hour hole a day ago
 * (as if the tracker had been down), in the --trends-file format (JSON lines), so the charts have lines to draw.
 */
function historyFile(path: string): void {
  const now = Math.floor(Date.now() / 1000);
  const lines: string[] = [];
  for (let t = now - 3 * 86400; t <= now - 600; t += 600) {
    if (t > now - 86400 && t < now - 86400 + 7200) continue;
    const wave = Math.sin((t / 86400) * 2 * Math.PI);
    const seeders = Math.round(30 + 10 * wave);
    const leechers = Math.round(15 + 5 * Math.cos((t / 43200) * Math.PI));
    const peers = seeders + leechers;
    const clients = { qBittorrent: Math.round(peers * 0.55), Transmission: Math.round(peers * 0.3) };
    const rest = peers - clients.qBittorrent - clients.Transmission;
    lines.push(
      JSON.stringify({
        t,
        torrents: Math.round(8 + 3 * wave),
        peers,
        seeders,
        leechers,
        clients: { ...clients, Deluge: rest },
      }),
    );
  }
  writeFileSync(path, lines.join("\n") + "\n");
}

let setup: Promise<Setup> | null = null;
/** Problems the page reported during the current test: console errors and uncaught exceptions. */
let problems: string[] = [];

async function announce(
  base: string,
  infoHash: Uint8Array,
  peerId: string,
  port: number,
  left: number,
  event?: string,
) {
  const id = new TextEncoder().encode(peerId);
  if (id.length !== 20) throw new Error(`peer id ${peerId} is not 20 bytes`);
  let url = `${base}/announce?info_hash=${pct(infoHash)}&peer_id=${pct(id)}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1`;
  if (event) url += `&event=${event}`;
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200 || body.includes("failure reason")) throw new Error(`announce failed: ${res.status} ${body}`);
}

/** Seeders run qBittorrent, leechers Transmission; one leecher of the first swarm then completes. */
async function loadTracker(base: string): Promise<void> {
  let port = 20000;
  for (const s of SWARMS) {
    const hash = sha1(s.label);
    for (let i = 0; i < s.seeders; i++)
      await announce(base, hash, `-qB4650-${String(port).padStart(12, "0")}`, port++, 0, "started");
    for (let i = 0; i < s.leechers; i++)
      await announce(base, hash, `-TR3000-${String(port).padStart(12, "0")}`, port++, 1000, "started");
  }
  // The first leecher of swarm a finishes: a completion, and it becomes a seeder.
  await announce(base, sha1(SWARMS[0].label), `-TR3000-${String(20003).padStart(12, "0")}`, 20003, 0, "completed");
}

function start(): Promise<Setup> {
  setup ??= (async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const tmp = mkdtempSync(join(tmpdir(), "buntracker-dashboard-"));
    const trends = join(tmp, "trends.jsonl");
    historyFile(trends);
    const tracker = await startTracker(["--listen", "127.0.0.1:0", "--trends-file", trends]);
    const base = `http://127.0.0.1:${tracker.httpPort}`;
    await loadTracker(base);
    const context = await chromium.launchPersistentContext(join(tmp, "chromium"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      locale: "en-US",
      colorScheme: "light",
      viewport: { width: 1280, height: 900 },
    });
    return { tracker, base, context, tmp };
  })();
  return setup;
}

/**
 * Retries `check` (bun's expect() inside) until it passes or `timeoutMs` runs out, then throws its last error:
 * the page updates asynchronously, and playwright-core has no auto-waiting assertions of its own.
 */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await Bun.sleep(100);
    }
  }
}

/** The script and stylesheet paths the page names. */
async function assetPaths(base: string): Promise<string[]> {
  const html = await (await fetch(base + "/")).text();
  return [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
}

const text = async (l: Locator) => (await l.textContent())?.trim() ?? null;

/** A page in the shared browser, for the shared tracker or the one at `base`. */
async function newPage(s: Setup, base = s.base): Promise<Page> {
  const page = await s.context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Air-gapped: the page may only ever ask its own tracker for anything (no CDN, no web fonts).
  page.on("request", (r) => {
    if (!r.url().startsWith(base + "/") && !r.url().startsWith("data:")) problems.push(`external request: ${r.url()}`);
  });
  return page;
}

async function api<T>(s: Setup, path: string): Promise<T> {
  const res = await fetch(s.base + path);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

interface Stats {
  peers: number;
  seeders: number;
  leechers: number;
  torrents: number;
  completed: number;
  udp_port: number | null;
  version: string;
}

/** The length of the longest path in a chart: a line through days of samples is a long one. */
async function longestPath(page: Page, testId: string): Promise<number> {
  const ds = await page
    .locator(`[data-testid="${testId}"] svg path`)
    .evaluateAll((els) => els.map((el) => (el.getAttribute("d") ?? "").length));
  return Math.max(0, ...ds);
}

/**
 * The most points any line in a chart joins: its SVG paths that are plain open polylines ("M x y L x y ...";
 * legend icons have arcs, areas and boxes are closed with Z), counted by their vertices.
 */
async function mostPoints(page: Page, testId: string): Promise<number> {
  const ds = await page
    .locator(`[data-testid="${testId}"] svg path`)
    .evaluateAll((els) => els.map((el) => el.getAttribute("d") ?? ""));
  return Math.max(0, ...ds.filter((d) => /^M[-\d.\s]+(L[-\d.\s]+)+$/.test(d)).map((d) => d.split("L").length));
}

/** The chart's text: legend entries and axis labels. */
const chartTexts = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"] svg text`).allTextContents();

/** Minutes from the earliest to the latest HH:MM label of a chart's time axis (across midnight too). */
async function axisMinutes(page: Page, testId: string): Promise<number> {
  const minutes = (await chartTexts(page, testId))
    .filter((l) => /^\d\d:\d\d$/.test(l))
    .map((l) => Number(l.slice(0, 2)) * 60 + Number(l.slice(3)))
    .sort((a, b) => a - b);
  if (minutes.length < 2) throw new Error(`too few time labels: ${minutes}`);
  // The labels cover the day except for the widest gap between neighbours (ECharts lists them out of order).
  let widestGap = minutes[0] + 1440 - minutes[minutes.length - 1];
  for (let i = 1; i < minutes.length; i++) widestGap = Math.max(widestGap, minutes[i] - minutes[i - 1]);
  return 1440 - widestGap;
}

/** Stat card parts whose text does not fit (cut off, e.g. with an ellipsis). */
async function cutStatText(page: Page): Promise<string[]> {
  return page
    .locator(".stat-value, .stat-hint")
    .evaluateAll((els) =>
      els
        .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
        .map((el) => el.textContent ?? ""),
    );
}

/** Waits until the overview shows counters and both charts have drawn their lines (and finished animating). */
async function overviewReady(page: Page): Promise<void> {
  const timeout = 10_000; // well inside the test's own limit, whose expiry would kill the browser
  await page.locator('[data-testid="stat-peers"][data-value]').waitFor({ timeout });
  for (const id of ["trend-chart", "clients-chart"]) {
    await page.locator(`[data-testid="${id}"] svg`).waitFor({ timeout });
    await eventually(async () => expect(await longestPath(page, id)).toBeGreaterThan(1000), timeout);
  }
  await page.waitForTimeout(500);
}

beforeAll(() => {
  // Started here so the tracker and browser are shared, but each test awaits start() and so fails if it fails.
  void start().catch(() => {});
});

afterEach(() => {
  const seen = problems;
  problems = [];
  expect(seen).toEqual([]);
});

afterAll(async () => {
  if (!setup) return;
  const s = await setup.catch(() => null);
  if (!s) return;
  await s.context.close();
  await s.tracker.stop();
  rmSync(s.tmp, { recursive: true, force: true });
});

const fmt = (n: number) => new Intl.NumberFormat("en").format(n);
const fmtPct = (x: number) => new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 }).format(x);

/** What the announces in loadTracker add up to. */
function expectedTotals() {
  const seeders = SWARMS.reduce((n, s) => n + s.seeders, 0) + 1; // + the leecher that completed
  const leechers = SWARMS.reduce((n, s) => n + s.leechers, 0) - 1;
  return { peers: seeders + leechers, seeders, leechers, torrents: SWARMS.length, completed: 1 };
}

test(
  "overview: counters equal /api/stats, announce URLs, both charts drawn",
  async () => {
    const s = await start();
    const page = await newPage(s);
    await page.goto(s.base + "/");
    await overviewReady(page);
    expect(await text(page.getByTestId("page-heading"))).toBe("Tracker overview");

    // Fetched after the page rendered; nothing announces in between, so the numbers cannot have moved.
    const stats = await api<Stats>(s, "/api/stats");
    const expected = expectedTotals();
    expect({
      peers: stats.peers,
      seeders: stats.seeders,
      leechers: stats.leechers,
      torrents: stats.torrents,
      completed: stats.completed,
    }).toEqual(expected);
    for (const [key, value] of Object.entries(expected)) {
      const el = page.getByTestId(`stat-${key}`);
      expect(await el.getAttribute("data-value")).toBe(String(value));
      expect(await text(el)).toBe(fmt(value));
    }
    // Every card shows its details whole (they wrap rather than end in an ellipsis), here and on a narrower
    // desktop where the six cards are narrower still.
    expect(await cutStatText(page)).toEqual([]);
    await page.setViewportSize({ width: 1024, height: 900 });
    expect(await cutStatText(page)).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
    const rate = await page.getByTestId("stat-requests").getAttribute("data-value");
    expect(Number(rate)).toBeGreaterThanOrEqual(0);

    expect(await text(page.getByTestId("announce-http"))).toBe(`${s.base}/announce`);
    expect(stats.udp_port).toBe(s.tracker.udpPort);
    expect(await text(page.getByTestId("announce-udp"))).toBe(`udp://127.0.0.1:${s.tracker.udpPort}/announce`);
    expect(await text(page.getByTestId("announce-ws"))).toBe(`${s.base.replace("http:", "ws:")}/announce`);

    for (const id of ["trend-chart", "clients-chart"]) {
      const box = await page.locator(`[data-testid="${id}"] svg`).boundingBox();
      expect(box).not.toBeNull();
      expect(box!.width).toBeGreaterThan(200);
      expect(box!.height).toBeGreaterThan(100);
    }
    // The client chart has a series (legend entry) per client the API charts: the live ones and Deluge, which
    // only the seeded history knows.
    const charted = await api<{ clients: string[] }>(s, "/api/clients?range=24h");
    expect(charted.clients.sort()).toEqual(["Deluge", "Transmission", "qBittorrent"]);
    const legend = await page.locator('[data-testid="clients-chart"] svg text').allTextContents();
    for (const name of charted.clients) expect(legend).toContain(name);

    await page.screenshot({ path: join(ARTIFACTS, "overview-en.png"), fullPage: true });

    // The range switch asks for the other range and redraws.
    const trendCard = page.locator("section.card").filter({ has: page.getByTestId("trend-chart") });
    const asked = page.waitForResponse((r) => r.url().endsWith("/api/trends?range=7d"));
    await trendCard.locator('button[data-range="7d"]').click();
    expect((await asked).status()).toBe(200);
    expect(await trendCard.locator('button[data-range="7d"]').getAttribute("aria-pressed")).toBe("true");
    expect(await trendCard.locator('button[data-range="24h"]').getAttribute("aria-pressed")).toBe("false");
    await eventually(async () => expect(await longestPath(page, "trend-chart")).toBeGreaterThan(1000));

    expect(await text(page.getByTestId("footer-version"))).toBe(`buntracker v${stats.version}`);
    expect(await text(page.getByTestId("footer-uptime"))).toStartWith("Uptime ");
    expect(await page.getByTestId("connection").getAttribute("data-state")).toBe("live");

    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "every page renders under the Content-Security-Policy with no violation; every response has the headers",
  async () => {
    const s = await start();
    const page = await newPage(s);
    const violations: string[] = [];
    await page.exposeFunction("reportViolation", (v: string) => violations.push(v));
    await page.addInitScript({
      content:
        'document.addEventListener("securitypolicyviolation", (e) => reportViolation(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));',
    });
    const dashboard: { url: string; headers: Record<string, string> }[] = [];
    page.on("response", (r) => {
      if (!r.url().includes("/api/")) dashboard.push({ url: r.url(), headers: r.headers() });
    });
    await page.goto(s.base + "/");
    await overviewReady(page);
    await page.locator('[data-testid="trend-chart"] svg').hover(); // the tooltip writes inline styles too
    for (const route of ["#/top", "#/clients", "#/about"]) {
      await page.locator(`nav a[href="${route}"]`).click();
      await eventually(async () => expect(await page.evaluate("location.hash")).toBe(route));
      await page.getByTestId("page-heading").waitFor();
    }
    expect(violations).toEqual([]);
    // The page and its script and stylesheet, all with the headers.
    expect(dashboard.map((d) => new URL(d.url).pathname).sort()).toEqual(["/", ...(await assetPaths(s.base))].sort());
    for (const d of dashboard) {
      expect({ url: d.url, csp: d.headers["content-security-policy"] }).toEqual({
        url: d.url,
        csp: expect.stringContaining("frame-ancestors 'none'"),
      });
      expect(d.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(d.headers["content-security-policy"]).not.toMatch(/script-src[^;]*unsafe/);
      expect(d.headers["x-content-type-options"]).toBe("nosniff");
    }
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "language toggle switches to Chinese and is remembered after a reload",
  async () => {
    const s = await start();
    const page = await newPage(s);
    await page.goto(s.base + "/");
    await overviewReady(page);
    const heading = page.getByTestId("page-heading");
    const peersTile = page.locator(".stat-peers .stat-label");
    expect(await text(heading)).toBe("Tracker overview");
    expect(await text(peersTile)).toBe("Peers");

    await page.getByTestId("lang-toggle").click();
    await eventually(async () => expect(await text(heading)).toBe("Tracker 概览"));
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    expect(await text(peersTile)).toBe("节点");
    expect(await text(page.locator("nav a").first())).toBe("概览");

    await page.reload();
    await overviewReady(page);
    expect(await text(heading)).toBe("Tracker 概览");
    await eventually(async () => expect(await text(page.getByTestId("footer-uptime"))).toStartWith("已运行"));
    // The Chinese text is drawn with a real CJK font (as a Chinese visitor sees it), not as boxes: two
    // different characters in the page's font must give different pixels; missing glyphs all look alike.
    const distinct = await page.evaluate(`(() => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 40;
      const ctx = canvas.getContext("2d");
      const draw = (ch) => {
        ctx.clearRect(0, 0, 40, 40);
        ctx.font = "32px " + getComputedStyle(document.body).fontFamily;
        ctx.fillText(ch, 2, 32);
        return ctx.getImageData(0, 0, 40, 40).data.join();
      };
      return draw("节") !== draw("种");
    })()`);
    expect(distinct).toBe(true);
    expect(await cutStatText(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "overview-zh.png"), fullPage: true });

    await page.getByTestId("lang-toggle").click();
    await eventually(async () => expect(await text(heading)).toBe("Tracker overview"));
    await page.reload();
    await heading.waitFor();
    expect(await text(heading)).toBe("Tracker overview");
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "dark mode follows prefers-color-scheme, charts included",
  async () => {
    const s = await start();
    const page = await newPage(s);
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(s.base + "/");
    await overviewReady(page);
    const luminance = async (expr: string) => {
      const [r, g, b] = (String(await page.evaluate(expr)).match(/\d+/g) ?? []).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    const pageBg = "getComputedStyle(document.body).backgroundColor";
    // Axis labels are the theme's muted text colour: light on the dark page, dark on the light one.
    const axisLabel = page.locator('[data-testid="trend-chart"] svg text').first();
    const labelColour = async () => {
      const fill = (await axisLabel.getAttribute("fill")) ?? "";
      const m = fill.match(/^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i) ?? fill.match(/(\d+)\D+(\d+)\D+(\d+)/);
      if (!m) throw new Error(`unexpected fill ${fill}`);
      const [r, g, b] = m.slice(1, 4).map((v) => (fill.startsWith("#") ? parseInt(v, 16) : Number(v)));
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    expect(await luminance(pageBg)).toBeLessThan(0.2);
    expect(await labelColour()).toBeGreaterThan(0.5);
    await page.screenshot({ path: join(ARTIFACTS, "overview-dark.png"), fullPage: true });

    // Back to light: page and charts follow without a reload.
    await page.emulateMedia({ colorScheme: "light" });
    await eventually(async () => expect(await luminance(pageBg)).toBeGreaterThan(0.8));
    await eventually(async () => expect(await labelColour()).toBeLessThan(0.5));
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "Top 100 lists the announced info hashes in each ranking, with copy buttons and magnet links",
  async () => {
    const s = await start();
    const page = await newPage(s);
    await page.goto(s.base + "/#/top");
    const hashes = page.getByTestId("info-hash");
    await eventually(async () => expect(await hashes.count()).toBe(SWARMS.length));
    expect((await hashes.allTextContents()).sort()).toEqual(SWARMS.map((sw) => hex(sw.label)).sort());

    const top = await api<Record<string, { info_hash: string }[]>>(s, "/api/top100?limit=100");
    for (const kind of ["peers", "seeders", "leechers", "downloaded"]) {
      const tab = page.getByTestId(`tab-${kind}`);
      await tab.click();
      expect(await tab.getAttribute("aria-selected")).toBe("true");
      await eventually(async () => expect(await hashes.allTextContents()).toEqual(top[kind].map((e) => e.info_hash)));
    }

    const first = hex(SWARMS[0].label);
    const row = page.locator(`tr[data-hash="${first}"]`);
    expect(await row.locator('a[href^="magnet:"]').getAttribute("href")).toBe(`magnet:?xt=urn:btih:${first}`);
    const copy = row.getByRole("button");
    await copy.click();
    await eventually(async () => expect(await copy.getAttribute("data-state")).toMatch(/^(copied|failed)$/));
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "client ranking and about page",
  async () => {
    const s = await start();
    const page = await newPage(s);
    await page.goto(s.base + "/#/clients");
    const list = await api<{ total: number; clients: { name: string; peers: number; share: number }[] }>(
      s,
      "/api/clients/list",
    );
    expect(list.clients.map((c) => c.name).sort()).toEqual(["Transmission", "qBittorrent"]);
    expect(list.total).toBe(expectedTotals().peers);
    for (const c of list.clients) {
      const row = page.locator(`tr[data-client="${c.name}"]`);
      await row.waitFor();
      const cells = (await row.locator("td").allTextContents()).map((t) => t.trim());
      expect(cells.slice(1)).toEqual([c.name, fmt(c.peers), fmtPct(c.share)]);
    }
    expect(await text(page.getByTestId("clients-total"))).toBe(`${fmt(list.total)} peers in total`);

    await page.locator('nav a[href="#/about"]').click();
    await eventually(async () => expect(await text(page.getByTestId("page-heading"))).toBe("About this tracker"));
    expect(await text(page.getByTestId("disclaimer"))).toContain("IP address and port");
    // The tracker speaks WebSocket (WebTorrent) too, and the page says so.
    expect(await text(page.locator(".page-header .lead"))).toContain("HTTP, UDP and WebSocket");
    expect(await page.locator('meta[name="description"]').getAttribute("content")).toContain("WebSocket");
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "stat cards show large numbers whole, on a desktop and a phone",
  async () => {
    const s = await start();
    const page = await newPage(s);
    // A big tracker's counters, put into the real /api/stats replies.
    await page.route("**/api/stats", async (route) => {
      const response = await route.fetch();
      const stats = { ...((await response.json()) as Record<string, unknown>) };
      Object.assign(stats, {
        peers: 123_456_789,
        seeders: 98_765_432,
        leechers: 24_691_357,
        torrents: 4_567_890,
        completed: 1_234_567_890,
      });
      stats.peers_ipv4 = 100_000_000;
      stats.peers_ipv6 = 23_456_789;
      await route.fulfill({ response, json: stats });
    });
    await page.goto(s.base + "/");
    await page.locator('[data-testid="stat-completed"][data-value="1234567890"]').waitFor();
    for (const width of [1280, 1024, 375]) {
      await page.setViewportSize({ width, height: 900 });
      expect({ width, cut: await cutStatText(page) }).toEqual({ width, cut: [] });
      // Still a headline figure, not shrunk to fine print.
      const size = Number(
        await page.evaluate(
          `parseFloat(getComputedStyle(document.querySelector('[data-testid="stat-completed"]')).fontSize)`,
        ),
      );
      expect(size).toBeGreaterThanOrEqual(14);
      await page.screenshot({ path: join(ARTIFACTS, `large-numbers-${width}.png`) });
    }
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test.skipIf(REDIS_SERVER === null)(
  "cluster mode: a card with the cluster's totals and each instance; none without --redis",
  async () => {
    const s = await start();
    const plain = await newPage(s);
    const redis = await RedisServer.start();
    const args = (id: string) => [
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--redis",
      redis.url,
      "--cluster-sync-ms",
      "100",
      "--cluster-instance-id",
      id,
    ];
    const a = await startTracker(args("alpha"));
    const b = await startTracker(args("beta"));
    const base = `http://127.0.0.1:${a.httpPort}`;
    const page = await newPage(s, base);
    try {
      // The shared tracker is standalone: no cluster card.
      await plain.goto(s.base + "/");
      await plain.locator('[data-testid="stat-peers"]').waitFor();
      expect(await plain.getByTestId("cluster-summary").isVisible()).toBe(false);

      await announce(
        `http://127.0.0.1:${b.httpPort}`,
        sha1("cluster-card"),
        "-qB4650-000000000001",
        31001,
        0,
        "started",
      );
      await page.goto(base + "/");
      const summary = page.getByTestId("cluster-summary");
      await eventually(async () =>
        expect(await text(summary)).toMatch(
          /^2 instances · 1 peers cluster-wide · engines 1\/1 up · last sync \d+s ago$/,
        ),
      );
      // The engine's load as rates between two polls, and its failed batches.
      await eventually(async () =>
        expect(await text(page.getByTestId("cluster-engine-load"))).toMatch(
          /^engine: [\d.,]+ commands\/s in [\d.,]+ batches\/s · 0 failed batches$/,
        ),
      );
      const rows = page.locator('[data-testid="cluster-instances"] tbody tr');
      await eventually(async () => expect(await rows.count()).toBe(2));
      expect(await text(rows.nth(0).locator("td").first())).toBe("alpha (this one)");
      expect(await rows.nth(1).locator("td").allTextContents()).toEqual([
        "beta",
        "1",
        "1",
        "0",
        expect.stringMatching(/^\d+s$/),
      ]);
      await page.screenshot({ path: join(ARTIFACTS, "overview-cluster.png"), fullPage: true });
    } finally {
      await plain.close();
      await page.close();
      await a.stop();
      await b.stop();
      await redis.stop();
    }
  },
  TEST_TIMEOUT_MS,
);
if (REDIS_SERVER === null) console.warn(NO_REDIS_MESSAGE);

test("a fresh tracker: one clear empty state in both charts, then the live samples on a minutes axis", async () => {
  const s = await start(); // (for the browser; this tracker is a second one, without history)
  const tracker = await startTracker(["--listen", "127.0.0.1:0", "--udp-listen", "off"]);
  const base = `http://127.0.0.1:${tracker.httpPort}`;
  const page = await newPage(s, base);
  try {
    await page.goto(base + "/");
    await page.locator('[data-testid="stat-peers"][data-value="0"]').waitFor();

    // Empty: both charts say the same thing, and neither draws a made-up 0 to 1 scale.
    const notes = page.locator(".chart-note:not([hidden])");
    await eventually(async () => expect(await notes.count()).toBe(2));
    const [trendNote, clientNote] = await notes.allTextContents();
    expect(trendNote).toBe("No peers yet: the charts fill in as clients announce.");
    expect(clientNote).toBe(trendNote);
    for (const id of ["trend-chart", "clients-chart"]) {
      await eventually(async () => expect(await chartTexts(page, id)).toContain("0"));
      expect(await chartTexts(page, id)).not.toContain("1");
    }
    await page.screenshot({ path: join(ARTIFACTS, "overview-empty.png"), fullPage: true });
    // The same on a phone in Chinese.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.getByTestId("lang-toggle").click();
    await eventually(async () =>
      expect(await notes.allTextContents()).toEqual(
        Array(2).fill("暂无节点：客户端 Announce 后，图表会开始显示数据。"),
      ),
    );
    await page.screenshot({ path: join(ARTIFACTS, "mobile-overview-empty-zh.png"), fullPage: true });
    await page.getByTestId("lang-toggle").click(); // back to English for the tests after this one
    await page.setViewportSize({ width: 1280, height: 900 });
    await eventually(async () => expect(await notes.allTextContents()).toEqual([trendNote, trendNote]));

    // Peers arrive: the note goes, and until the tracker has a few 10-minute samples the charts draw what
    // the page polls itself, on an axis of minutes (not an hour with everything at its right edge).
    await announce(base, sha1("fresh-a"), "-qB4650-000000000001", 30001, 0, "started");
    await announce(base, sha1("fresh-a"), "-TR3000-000000000002", 30002, 1000, "started");
    await eventually(async () => expect(await notes.count()).toBe(0), 15_000);
    for (const id of ["trend-chart", "clients-chart"]) {
      await eventually(async () => expect(await mostPoints(page, id)).toBeGreaterThanOrEqual(3), 20_000);
      expect(await axisMinutes(page, id)).toBeLessThanOrEqual(10);
    }
    expect(await chartTexts(page, "clients-chart")).toContain("qBittorrent");
    await page.screenshot({ path: join(ARTIFACTS, "overview-live.png"), fullPage: true });
  } finally {
    await page.close();
    await tracker.stop();
  }
}, 60_000);

test(
  "a 375px-wide phone gets every page without horizontal scrolling",
  async () => {
    const s = await start();
    const page = await newPage(s);
    await page.setViewportSize({ width: 375, height: 812 });
    for (const route of ["#/", "#/top", "#/clients", "#/about"]) {
      await page.goto(`${s.base}/${route}`);
      await page.getByTestId("page-heading").waitFor();
      if (route === "#/") await overviewReady(page);
      if (route === "#/top") await page.getByTestId("info-hash").first().waitFor();
      if (route === "#/clients") await page.locator("tr[data-client]").first().waitFor();
      expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(375);
      if (route === "#/") await page.screenshot({ path: join(ARTIFACTS, "mobile-overview.png"), fullPage: true });
      if (route === "#/top") await page.screenshot({ path: join(ARTIFACTS, "mobile-top.png"), fullPage: true });
    }
    // The overview in Chinese, whose card details wrap differently.
    await page.goto(`${s.base}/#/`);
    await page.getByTestId("lang-toggle").click();
    await eventually(async () => expect(await text(page.getByTestId("page-heading"))).toBe("Tracker 概览"));
    await overviewReady(page);
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(375);
    expect(await cutStatText(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "mobile-overview-zh.png"), fullPage: true });
    await page.getByTestId("lang-toggle").click(); // back to English for the tests after this one
    await eventually(async () => expect(await text(page.getByTestId("page-heading"))).toBe("Tracker overview"));
    await page.close();
  },
  TEST_TIMEOUT_MS,
);

test(
  "over built-in TLS: the page and its API calls load over HTTPS, and the announce URLs are https and wss",
  async () => {
    const s = await start(); // (for its temp folder; the HTTPS tracker is a second one)
    const { cert, key } = makePair(s.tmp, "dashboard");
    const tracker = await startTracker([
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--tls-cert",
      cert,
      "--tls-key",
      key,
    ]);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: "en-US" });
      const page = await context.newPage();
      const failed: string[] = [];
      page.on("requestfailed", (r) => failed.push(r.url()));
      const base = `https://127.0.0.1:${tracker.httpPort}`;
      const stats = page.waitForResponse((r) => r.url() === `${base}/api/stats`);
      await page.goto(base + "/");
      expect((await stats).status()).toBe(200);
      await page.getByTestId("announce-ws").waitFor();
      expect(await text(page.getByTestId("announce-http"))).toBe(`${base}/announce`);
      expect(await text(page.getByTestId("announce-ws"))).toBe(`wss://127.0.0.1:${tracker.httpPort}/announce`);
      expect(failed).toEqual([]);
      await context.close();
    } finally {
      await browser.close();
      await tracker.stop();
    }
  },
  TEST_TIMEOUT_MS,
);
