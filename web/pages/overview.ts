// Overview: announce URLs, live counters, the swarm trend chart and the client distribution chart.

import { api, type ClientList, type ClientTrends, type Range, type Stats, type TrendSample } from "../api.ts";
import { allZero, sampleInterval, timeSeriesOption, timeWindow, withGaps, type SeriesSpec } from "../charts.ts";
import { copyButton, h, replace } from "../dom.ts";
import { fmtDuration, fmtInt, fmtPct, fmtRate } from "../format.ts";
import { t, type Key } from "../i18n.ts";
import { liveClients, liveTrend } from "../live.ts";
import { poll } from "../poll.ts";
import { latestStats, onStats, publishStats, uptimeNow } from "../store.ts";
import { card, chartPanel, pageHeader, rangeSwitch, type ChartPanel, type Page } from "../widgets.ts";

const CHART_REFRESH_MS = 60_000;
/** While a chart draws the page's own samples: as often as the stats poll brings a new one. */
const LIVE_REFRESH_MS = 5_000;
/**
 * The tracker's history is charted once the range holds this many of its 10-minute samples; before that (the
 * first 20 minutes or so) the charts draw the samples the page has polled itself, every few seconds.
 */
const HISTORY_MIN_SAMPLES = 3;

/** Recorded and live samples in time order (a live one at the time of a recorded one is left out). */
function merged<S extends { t: number }>(recorded: readonly S[], live: readonly S[]): S[] {
  const recordedAt = new Set(recorded.map((s) => s.t));
  return [...recorded, ...live.filter((s) => !recordedAt.has(s.t))].sort((a, b) => a.t - b.t);
}

/** The tracker's clock now (samples are stamped with it), or the browser's before the first stats reply. */
function serverNow(): number {
  const s = latestStats();
  const up = uptimeNow();
  return s && up !== null ? s.started_at + up : Math.floor(Date.now() / 1000);
}

/** The same for the client chart: today's counts of the charted clients from the client list. */
function withLiveCounts(data: ClientTrends, live: ClientList): ClientTrends["samples"] {
  const now = serverNow();
  const samples = data.samples;
  if (samples.length === 0 || now <= samples[samples.length - 1].t) return samples;
  const peers = new Map(live.clients.map((c) => [c.name, c.peers]));
  return [...samples, { t: now, counts: data.clients.map((name) => peers.get(name) ?? 0) }];
}

async function refreshStats(signal: AbortSignal): Promise<void> {
  publishStats(await api.stats(signal));
}

/**
 * The recorded samples plus the current counters as a last point, so the line ends where the counters above
 * it are instead of up to one sampling interval behind.
 */
function withLivePoint(samples: TrendSample[]): TrendSample[] {
  const s = latestStats();
  const now = serverNow();
  if (!s || samples.length === 0 || now <= samples[samples.length - 1].t) return samples;
  return [...samples, { t: now, peers: s.peers, seeders: s.seeders, leechers: s.leechers, torrents: s.torrents }];
}

let trendRange: Range = "24h";
let clientRange: Range = "24h";

/** The page's host as it goes in a URL: IPv6 literals in brackets. */
function urlHost(): string {
  const host = location.hostname;
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The announce URLs of this tracker, in the scheme the page was loaded with (https gives wss). */
export function announceUrls(
  udpPort: number | null,
  websocket: boolean,
): { http: string; udp: string | null; ws: string | null } {
  const host = urlHost();
  const port = location.port ? `:${location.port}` : "";
  return {
    http: `${location.protocol}//${host}${port}/announce`,
    udp: udpPort === null ? null : `udp://${host}:${udpPort}/announce`,
    ws: websocket ? `${location.protocol === "https:" ? "wss:" : "ws:"}//${host}${port}/announce` : null,
  };
}

function announceCard(): { el: HTMLElement; update(s: Stats): void } {
  const list = h("div", { class: "urls" });
  const row = (proto: string, url: string, label: Key) =>
    h(
      "div",
      { class: "url-row" },
      h("span", { class: "badge" }, proto),
      h("code", { class: "url", "data-testid": `announce-${proto.toLowerCase()}` }, url),
      copyButton(url, t(label)),
    );
  let shown = "";
  const update = (s: Stats) => {
    const { http, udp, ws } = announceUrls(s.udp_port, s.websocket);
    if (shown === `${http} ${udp} ${ws}`) return;
    shown = `${http} ${udp} ${ws}`;
    replace(
      list,
      row("HTTP", http, "copy.http"),
      udp ? row("UDP", udp, "copy.udp") : h("p", { class: "muted small" }, t("announce.udpOff")),
      ...(ws ? [row("WS", ws, "copy.ws")] : []),
    );
  };
  replace(list, row("HTTP", announceUrls(null, false).http, "copy.http"));
  return { el: card("announce.heading", null, list), update };
}

/** Cluster mode only (the card stays hidden otherwise): the cluster's totals and one row per instance. */
function clusterCard(): { el: HTMLElement; update(s: Stats): void } {
  const summary = h("p", { "data-testid": "cluster-summary" });
  const load = h("p", { class: "muted small", "data-testid": "cluster-engine-load" });
  /** The previous reply's engine counters, for rates. */
  let before: { at: number; batches: number; commands: number } | null = null;
  const rows = h("tbody", {});
  const head = (key: Key, num = true) => h("th", { scope: "col", class: num ? "num" : "" }, t(key));
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data", "data-testid": "cluster-instances" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          head("cluster.col.instance", false),
          head("stat.peers"),
          head("stat.seeders"),
          head("stat.completed"),
          head("cluster.col.synced"),
        ),
      ),
      rows,
    ),
  );
  const el = card("cluster.heading", "cluster.lead", summary, load, table);
  el.hidden = true;
  const ago = (secs: number) => fmtDuration(secs);
  const update = (s: Stats) => {
    const c = s.cluster;
    el.hidden = c === undefined;
    if (c === undefined) return;
    summary.textContent = t("cluster.summary", {
      instances: fmtInt(c.instances),
      peers: fmtInt(c.peers),
      up: String(c.engines.filter((e) => e.up).length),
      engines: String(c.engines.length),
      lag: c.sync_lag_ms === null ? t("cluster.never") : ago(c.sync_lag_ms / 1000),
    });
    const now = Date.now() / 1000;
    const secs = before === null ? 0 : now - before.at;
    const rate = (n: number, was: number) => (secs > 0 ? fmtRate(Math.max(0, n - was) / secs) : "—");
    load.textContent = t("cluster.engineLoad", {
      commands: rate(c.commands, before?.commands ?? 0),
      batches: rate(c.batches, before?.batches ?? 0),
      errors: fmtInt(c.engines.reduce((n, e) => n + e.errors, 0)),
    });
    before = { at: now, batches: c.batches, commands: c.commands };
    const row = (name: string, peers: number, seeders: number, completed: number, synced: string) =>
      h(
        "tr",
        {},
        h("td", {}, name),
        h("td", { class: "num" }, fmtInt(peers)),
        h("td", { class: "num" }, fmtInt(seeders)),
        h("td", { class: "num" }, fmtInt(completed)),
        h("td", { class: "num" }, synced),
      );
    replace(
      rows,
      row(
        t("cluster.this", { id: c.instance }),
        s.peers,
        s.seeders,
        s.completed,
        c.sync_lag_ms === null ? t("cluster.never") : ago(c.sync_lag_ms / 1000),
      ),
      ...c.others.map((o) => row(o.instance, o.peers, o.seeders, o.completed, ago(now - o.synced_at))),
    );
  };
  return { el, update };
}

type StatKey = "peers" | "seeders" | "leechers" | "torrents" | "completed" | "requests";

function statsGrid(): { el: HTMLElement; update(s: Stats): void } {
  const values = {} as Record<StatKey, HTMLElement>;
  const hints = {} as Record<StatKey, HTMLElement>;
  const tile = (key: StatKey) => {
    values[key] = h("div", { class: "stat-value", "data-testid": `stat-${key}` }, "—");
    hints[key] = h("div", { class: "stat-hint" }, "\u00a0");
    return h(
      "div",
      { class: `stat stat-${key}` },
      h("div", { class: "stat-label" }, t(`stat.${key}`)),
      values[key],
      hints[key],
    );
  };
  const keys: StatKey[] = ["peers", "seeders", "leechers", "torrents", "completed", "requests"];
  const el = h("section", { class: "stats", "aria-live": "off" }, ...keys.map(tile));
  const set = (key: StatKey, raw: number, text: string, hint: string) => {
    const value = values[key];
    value.dataset.value = String(raw);
    value.textContent = text;
    value.style.setProperty("--chars", String(Math.max(6, text.length))); // its size (styles.css)
    // The hint wraps between its items ("IPv4 … · IPv6 …"), never inside one, rather than end in an ellipsis;
    // a line ends with the dot (a no-break space before it), the next starts with an item.
    replace(hints[key], ...hint.split(" · ").flatMap((part, i) => [i > 0 ? "\u00a0· " : null, h("span", {}, part)]));
  };
  const update = (s: Stats) => {
    const share = (n: number) => t("stat.shareHint", { pct: fmtPct(s.peers > 0 ? n / s.peers : 0) });
    const r = s.requests_per_sec;
    const families = { v4: fmtInt(s.peers_ipv4), v6: fmtInt(s.peers_ipv6), ws: fmtInt(s.peers_websocket) };
    set("peers", s.peers, fmtInt(s.peers), t(s.websocket ? "stat.peersHintWs" : "stat.peersHint", families));
    set("seeders", s.seeders, fmtInt(s.seeders), share(s.seeders));
    set("leechers", s.leechers, fmtInt(s.leechers), share(s.leechers));
    set("torrents", s.torrents, fmtInt(s.torrents), t("stat.torrentsHint"));
    set("completed", s.completed, fmtInt(s.completed), t("stat.completedHint"));
    set(
      "requests",
      r.total,
      fmtRate(r.total),
      t(s.websocket ? "stat.requestsHintWs" : "stat.requestsHint", {
        http: fmtRate(r.http_announce + r.http_scrape),
        udp: fmtRate(r.udp_connect + r.udp_announce + r.udp_scrape),
        ws: fmtRate(r.ws_announce + r.ws_scrape),
      }),
    );
  };
  return { el, update };
}

/**
 * A chart panel with its own range switch that reloads on a switch and every minute, or every few seconds
 * while `load` says it drew live samples.
 */
function rangedChart(
  panelArgs: [testId: string, title: Key, lead: Key],
  initial: Range,
  remember: (r: Range) => void,
  load: (range: Range, panel: ChartPanel, signal: AbortSignal) => Promise<{ live: boolean }>,
): { el: HTMLElement; dispose(): void } {
  let range = initial;
  let stop = () => {};
  let loaded = false;
  let live = false;
  const start = () => {
    stop();
    stop = poll(
      async (signal) => {
        try {
          ({ live } = await load(range, panel, signal));
          loaded = true;
        } catch (err) {
          if (!loaded) panel.note(t("error.load"));
          throw err;
        }
      },
      () => (live ? LIVE_REFRESH_MS : CHART_REFRESH_MS),
    );
  };
  const panel = chartPanel(
    ...panelArgs,
    rangeSwitch(initial, (r) => {
      range = r;
      remember(r);
      start();
    }),
  );
  panel.note(t("chart.loading"));
  start();
  return {
    el: panel.el,
    dispose() {
      stop();
      panel.chart.dispose();
    },
  };
}

export const overviewPage: Page = (root) => {
  const urls = announceCard();
  const grid = statsGrid();
  const cluster = clusterCard();
  const trend = rangedChart(
    ["trend-chart", "trend.heading", "trend.lead"],
    trendRange,
    (r) => (trendRange = r),
    async (range, panel, signal) => {
      // The live point needs the counters: on a first visit, fetch them rather than wait for the stats poll.
      const [data] = await Promise.all([api.trends(range, signal), latestStats() ? null : refreshStats(signal)]);
      const every = sampleInterval(data.samples, data.interval_secs);
      const live = data.samples.length < HISTORY_MIN_SAMPLES;
      const samples = live ? merged(data.samples, liveTrend.all()) : withLivePoint(data.samples);
      const keys = ["peers", "seeders", "leechers", "torrents"] as const;
      const series: SeriesSpec[] = keys.map((k) => ({
        name: t(`stat.${k}`),
        points: withGaps(samples, every, (s) => s[k]),
      }));
      const window = timeWindow(samples, range, serverNow());
      panel.chart.render((p) => timeSeriesOption(p, series, false, window));
      panel.note(allZero(series) ? t("chart.empty") : null);
      return { live };
    },
  );
  const clients = rangedChart(
    ["clients-chart", "clientsChart.heading", "clientsChart.lead"],
    clientRange,
    (r) => (clientRange = r),
    async (range, panel, signal) => {
      const [data, list] = await Promise.all([api.clientTrends(range, signal), api.clientList(signal)]);
      liveClients.add({ t: serverNow(), peers: new Map(list.clients.map((c) => [c.name, c.peers])) });
      const every = sampleInterval(data.samples, data.interval_secs);
      const live = data.samples.length < HISTORY_MIN_SAMPLES;
      const samples = live
        ? merged(
            data.samples,
            liveClients.all().map((l) => ({ t: l.t, counts: data.clients.map((name) => l.peers.get(name) ?? 0) })),
          )
        : withLiveCounts(data, list);
      const series: SeriesSpec[] = data.clients.map((name, i) => ({
        name,
        points: withGaps(samples, every, (s) => s.counts[i] ?? 0),
      }));
      const window = timeWindow(samples, range, serverNow());
      panel.chart.render((p) => timeSeriesOption(p, series, true, window));
      panel.note(allZero(series) ? t("chart.empty") : null);
      return { live };
    },
  );

  root.append(
    pageHeader("overview.heading", "overview.lead"),
    urls.el,
    grid.el,
    cluster.el,
    h("div", { class: "charts" }, trend.el, clients.el),
  );
  const unsubscribe = onStats((s) => {
    urls.update(s);
    grid.update(s);
    cluster.update(s);
  });
  return () => {
    unsubscribe();
    trend.dispose();
    clients.dispose();
  };
};
