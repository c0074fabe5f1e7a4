// The public JSON statistics API (/api/stats, /api/trends, /api/clients, /api/clients/list, /api/top100).
// Every answer is cheap: totals are kept incrementally, trends are sampled by a timer (reading never records
// a sample), and rankings come from per-shard lists refreshed in slices, encoded once a second whatever the
// limit asked. On top, statistics.ts serves each answer from a one-second cache (api-cache.ts) and counts
// requests against the per-source rate limit (http-server.ts). Bad query values get a JSON 400.

import { keyToHex } from "../core/access.ts";
import { CLIENT_NAMES } from "../core/clients.ts";
import type { IntervalController } from "../core/adaptive-interval.ts";
import type { Counters } from "../frontend/counters.ts";
import type { WsTracker } from "../frontend/ws-tracker.ts";
import type { Faults } from "./faults.ts";
import type { RateWindow } from "../stats/rates.ts";
import { type ClusterSource, clusterTotals, syncLagMs } from "./cluster-figures.ts";
import { TOP_MAX, type TopTorrents, type TorrentRank } from "../stats/top-torrents.ts";
import { TREND_INTERVAL_S, type TrendStore } from "../stats/trends.ts";
import { API_CACHE_MS } from "./api-cache.ts";
import type { StoreTotals } from "./workers/summary.ts";

export interface ApiContext {
  /** Totals and counters of every thread (--workers: replaced by the sum of the latest summaries). */
  store: StoreTotals;
  counters: Counters;
  rates: RateWindow;
  trends: TrendStore;
  top: TopTorrents;
  /** The access list's verdict per info hash. */
  allows(infoHash: string): boolean;
  /** Brings the rankings up to date when that is cheap (small stores); see app.ts. */
  refreshTop(): void;
  version: string;
  startedAt: number;
  /** The announce interval in force: its base (replies add jitter), mode and, when adaptive, the load. */
  interval: IntervalController;
  minIntervalS: number;
  peerTimeoutS: number;
  /** The UDP port in use, null when UDP is off (the UDP socket starts after the HTTP listener). */
  udpPort(): number | null;
  /** The WebTorrent tracker, null when WebSocket is off. */
  ws: WsTracker | null;
  /** Open WebSocket connections, every thread's. */
  wsConnections(): number;
  /** Unexpected throws caught at the timer and socket boundaries, by place. */
  faults: Faults;
  now(): number;
  /** The rankings at TOP_MAX, each entry already encoded (see rankingsJson); null until first asked. */
  rankJson: RankingsJson | null;
  /** Cluster mode's sync; null or absent when standalone. */
  cluster?: ClusterSource | null;
}

interface RankingsJson {
  /** performance.now() and unix seconds when built. */
  builtAt: number;
  generatedAt: number;
  /** peers, seeders, leechers, downloaded: encoded entries, best first. */
  lists: string[][];
}

/** Order of the totals recorded into `rates` (see rateTotals). */
export const RATE_KINDS = [
  "http_announce",
  "http_scrape",
  "udp_connect",
  "udp_announce",
  "udp_scrape",
  "ws_announce",
  "ws_scrape",
] as const;

export function rateTotals(c: Counters): number[] {
  return [
    c.httpAnnounce + c.httpAnnounceFailure,
    c.httpScrape + c.httpScrapeFailure,
    c.udpConnect,
    c.udpAnnounce + c.udpAnnounceError,
    c.udpScrape + c.udpScrapeError,
    c.wsAnnounce + c.wsAnnounceFailure + c.wsAnswersRelayed + c.wsAnswersDropped,
    c.wsScrape + c.wsScrapeFailure,
  ];
}

const RANGES: Record<string, number> = { "24h": 86400, "3d": 3 * 86400, "7d": 7 * 86400 };
const TOP_CLIENTS = 15;
export const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

class BadRequest extends Error {}

/** Answers an /api/* request, or returns null when the path is not one of ours. */
export function handleApi(ctx: ApiContext, method: string, path: string, query: URLSearchParams): Response | null {
  const route = ROUTES[path];
  if (route === undefined) return path.startsWith("/api/") ? json({ error: "not found" }, 404) : null;
  if (method !== "GET" && method !== "HEAD") return json({ error: "method not allowed" }, 405, { allow: "GET, HEAD" });
  try {
    return new Response(encodeApi(ctx, path, query), { headers: JSON_HEADERS });
  } catch (err) {
    if (err instanceof BadRequest) return json({ error: err.message }, 400);
    throw err;
  }
}

/**
 * The cache key of a GET of a public API route: the path and the query values that route reads, normalized
 * ("limit=0100" and "limit=100&x=1" are one key). Null for anything else (unknown paths, bad values): those
 * get their cheap error answers from handleApi.
 */
export function apiCacheKey(path: string, q: URLSearchParams): string | null {
  try {
    switch (path) {
      case "/api/stats":
      case "/api/clients/list":
        return path;
      case "/api/trends":
      case "/api/clients":
        return `${path}?range=${range(q)[0]}`;
      case "/api/top100":
        return `${path}?limit=${topLimit(q)}`;
      default:
        return null;
    }
  } catch (err) {
    if (err instanceof BadRequest) return null;
    throw err;
  }
}

/** The JSON body of a route's answer; throws BadRequest for bad query values. */
export function encodeApi(ctx: ApiContext, path: string, q: URLSearchParams): string {
  const answer = ROUTES[path](ctx, q);
  return typeof answer === "string" ? answer : JSON.stringify(answer); // top100 encodes itself
}

const ROUTES: Record<string, (ctx: ApiContext, q: URLSearchParams) => unknown> = {
  "/api/stats": stats,
  "/api/trends": trends,
  "/api/clients": clientsHistory,
  "/api/clients/list": clientsList,
  "/api/top100": top100,
};

function stats(ctx: ApiContext): unknown {
  const s = ctx.store;
  const rates = ctx.rates.perSecond();
  const perKind = Object.fromEntries(RATE_KINDS.map((k, i) => [k, round2(rates[i] ?? 0)]));
  const now = ctx.now();
  return {
    version: ctx.version,
    uptime_secs: Math.max(0, now - ctx.startedAt),
    started_at: ctx.startedAt,
    interval: Math.round(ctx.interval.intervalS),
    interval_mode: ctx.interval.mode,
    interval_load: round2(ctx.interval.load),
    min_interval: ctx.minIntervalS,
    peer_timeout: ctx.peerTimeoutS,
    torrents: s.torrents,
    peers: s.peers,
    peers_ipv4: s.peers4,
    peers_ipv6: s.peers6,
    peers_websocket: s.peersRtc,
    seeders: s.seeders,
    leechers: s.leechers,
    completed: s.completed,
    udp_port: ctx.udpPort(),
    websocket: ctx.ws !== null,
    websocket_connections: ctx.wsConnections(),
    requests_per_sec: { total: round2(rates.reduce((a, b) => a + b, 0)), ...perKind },
    ...(ctx.cluster == null ? {} : { cluster: clusterStats(ctx.cluster, s) }),
  };
}

/** Cluster mode in /api/stats: cluster-wide totals, then this instance and the others one by one. */
function clusterStats(c: ClusterSource, s: StoreTotals): unknown {
  const own = { torrents: s.torrents, peers: s.peers, seeders: s.seeders, completed: s.completed };
  const lag = syncLagMs(c);
  return {
    ...clusterTotals(c, own),
    instance: c.instanceId,
    engines: c.engines.map((e) => ({ engine: e.name, up: e.up, errors: e.errors })),
    batches: c.stats.batches,
    commands: c.stats.commands,
    last_sync_at: Math.floor(c.stats.lastSyncAtMs / 1000),
    sync_lag_ms: Number.isFinite(lag) ? Math.round(lag) : null,
    remote_seeders: c.view.remoteSeeders,
    remote_leechers: c.view.remoteLeechers,
    others: c.instances.map((i) => ({
      instance: i.id,
      torrents: i.torrents,
      peers: i.peers,
      seeders: i.seeders,
      completed: i.completed,
      synced_at: i.syncedAt,
      version: i.version,
    })),
  };
}

function range(q: URLSearchParams): [string, number] {
  const r = q.get("range") ?? "7d";
  const span = RANGES[r];
  if (span === undefined) throw new BadRequest("range must be 24h, 3d or 7d");
  return [r, span];
}

function trends(ctx: ApiContext, q: URLSearchParams): unknown {
  const [name, span] = range(q);
  const samples = ctx.trends
    .since(ctx.now() - span)
    .map(({ t, torrents, peers, seeders, leechers }) => ({ t, torrents, peers, seeders, leechers }));
  return { range: name, interval_secs: TREND_INTERVAL_S, samples };
}

/** Clients with live peers, most first (ties by name), as [name, peers]. */
function liveClients(store: StoreTotals): [string, number][] {
  const out: [string, number][] = [];
  for (let tag = 0; tag < CLIENT_NAMES.length; tag++) {
    const n = store.peersByClient[tag];
    if (n > 0) out.push([CLIENT_NAMES[tag], n]);
  }
  return out.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

function clientsHistory(ctx: ApiContext, q: URLSearchParams): unknown {
  const [name, span] = range(q);
  const history = ctx.trends.since(ctx.now() - span);
  // The 15 clients with the most peers at any point of the range, live counts included, so a client that
  // was big earlier in the range still shows in its history.
  const peak = new Map<string, number>(liveClients(ctx.store));
  for (const s of history) {
    for (const [client, n] of Object.entries(s.clients)) peak.set(client, Math.max(peak.get(client) ?? 0, n));
  }
  const top = [...peak]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_CLIENTS)
    .map(([n]) => n);
  return {
    range: name,
    interval_secs: TREND_INTERVAL_S,
    clients: top,
    samples: history.map((s) => ({ t: s.t, counts: top.map((c) => s.clients[c] ?? 0) })),
  };
}

function clientsList(ctx: ApiContext): unknown {
  const live = liveClients(ctx.store);
  const total = live.reduce((a, [, n]) => a + n, 0);
  return {
    total,
    clients: live.map(([name, peers]) => ({ name, peers, share: total > 0 ? round4(peers / total) : 0 })),
  };
}

function topLimit(q: URLSearchParams): number {
  const text = q.get("limit");
  if (text === null) return 100;
  if (!/^[0-9]{1,4}$/.test(text) || Number(text) > TOP_MAX)
    throw new BadRequest(`limit must be an integer from 0 to ${TOP_MAX}`);
  return Number(text);
}

/** Encoded by hand from the shared per-entry encodings: any limit costs a join, not a ranking pass. */
function top100(ctx: ApiContext, q: URLSearchParams): string {
  const limit = topLimit(q);
  const r = rankingsJson(ctx);
  const list = (i: number) => `[${r.lists[i].slice(0, limit).join(",")}]`;
  return `{"limit":${limit},"generated_at":${r.generatedAt},"peers":${list(0)},"seeders":${list(1)},"leechers":${list(2)},"downloaded":${list(3)}}`;
}

/** The rankings at TOP_MAX with each entry encoded, rebuilt at most once per API_CACHE_MS. */
function rankingsJson(ctx: ApiContext): RankingsJson {
  const t = performance.now();
  const old = ctx.rankJson;
  if (old !== null && t - old.builtAt < API_CACHE_MS && t >= old.builtAt) return old;
  ctx.refreshTop();
  const r = ctx.top.top(TOP_MAX, ctx.allows);
  const enc = (list: TorrentRank[]) =>
    list.map((e) =>
      JSON.stringify({
        info_hash: keyToHex(e.infoHash),
        seeders: e.seeders,
        leechers: e.leechers,
        peers: e.peers,
        downloaded: e.downloaded,
      }),
    );
  ctx.rankJson = {
    builtAt: t,
    generatedAt: ctx.now(),
    lists: [enc(r.peers), enc(r.seeders), enc(r.leechers), enc(r.downloaded)],
  };
  return ctx.rankJson;
}

export function json(body: unknown, status: number, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...extraHeaders } });
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10000) / 10000;
