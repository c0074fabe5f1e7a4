// Everything the statistics API, the dashboard and /metrics read, and the timers that keep it fresh:
// request rates (sampled each second), trend samples (every 10 minutes, on the wall-clock boundary, plus one
// at start), rankings (refreshed a few shards at a time) and the trends file.

import type { IntervalController } from "../core/adaptive-interval.ts";
import { CLIENT_NAMES } from "../core/clients.ts";
import type { Store } from "../core/store.ts";
import type { Counters } from "../frontend/counters.ts";
import type { WsTracker } from "../frontend/ws-tracker.ts";
import { RateWindow } from "../stats/rates.ts";
import { TOP_MAX, TopTorrents } from "../stats/top-torrents.ts";
import { TREND_INTERVAL_S, type TrendSample, TrendStore } from "../stats/trends.ts";
import { ApiCache } from "./api-cache.ts";
import { type ApiContext, apiCacheKey, encodeApi, handleApi, JSON_HEADERS, json, rateTotals } from "./api.ts";
import type { Logger } from "./logger.ts";
import type { Faults } from "./faults.ts";
import { type OperationsSources, renderMetrics, type ThreadsView } from "./metrics.ts";
import type { SweepStats } from "./sweeper.ts";
import { importRustrackerTrends } from "./rustracker-import.ts";
import { TrendsFile } from "./trends-file.ts";
import type { WorkerPool } from "./workers/pool.ts";
import {
  type Combined,
  combine,
  type MeshCounts,
  pastOf,
  type Share,
  type ThreadSummary,
  Totals,
} from "./workers/summary.ts";

/** Rankings are refreshed every this many ms, spending at most RANK_SLICE_MS per refresh. */
const RANK_TICK_MS = 250;
const RANK_SLICE_MS = 3;
/** Rankings stop being refreshed this long after the last request for them. */
const RANK_IDLE_AFTER_MS = 5 * 60_000;
/** Below this many torrents a ranking request just refreshes every shard (a millisecond or two). */
const RANK_DIRECT_MAX_TORRENTS = 20_000;
/** --workers: other threads' summaries are pulled every second (and before any answer is built). */
const PULL_EVERY_MS = 1000;
/** A thread that has not answered by then is counted with its last summary. */
const PULL_TIMEOUT_MS = 1000;

export interface StatisticsOptions {
  store: Store;
  counters: Counters;
  log: Logger;
  version: string;
  /** The announce interval in force (fixed, or moved by the load). */
  interval: IntervalController;
  minIntervalS: number;
  peerTimeoutS: number;
  trendsFile: string | null;
  /** Rustracker's trends.jsonl, imported at start when our history is empty (see rustracker-import.ts). */
  importRustrackerTrends?: string | null;
  /** The access list's verdict: refused torrents never show in the rankings. */
  allows: (infoHash: string) => boolean;
  ws: WsTracker | null;
  udpPort: () => number | null;
  sweep: SweepStats;
  /** The process's own health for /metrics: event-loop lag, state saves, the TLS certificate. */
  ops: OperationsSources;
  faults: Faults;
  /** Changes whenever the access list does (app.ts passes the current list object): cached answers go. */
  listVersion?: () => unknown;
  now: () => number;
  /**
   * --workers, on the main thread: the other threads (the pool starts after this) and this thread's mesh.
   * Every figure then covers every thread: their summaries are added to this thread's own.
   */
  threads?: { pool: () => Pick<WorkerPool, "ask" | "running" | "deaths"> | null; mesh: MeshCounts } | null;
}

export class Statistics {
  readonly ctx: ApiContext;
  readonly #sweep: SweepStats;
  readonly #ops: OperationsSources;
  readonly #faults: Faults;
  readonly cache = new ApiCache();
  readonly #store: Store;
  readonly #file: TrendsFile | null;
  readonly #importFrom: string | null;
  readonly #log: Logger;
  readonly #timers: ReturnType<typeof setTimeout>[] = [];
  #nextRankShard = 0;
  #rankWantedAt = -Infinity;
  #directRefreshAt = -Infinity;
  #writing: Promise<void> = Promise.resolve();
  readonly #listVersion: () => unknown;
  #listSeen: unknown;
  readonly #threads: StatisticsOptions["threads"];
  readonly #own: Share;
  /** The other threads' latest summaries (index: thread number - 1), and when they were pulled. */
  #others: (ThreadSummary | null)[] = [];
  #pulledAt = -Infinity;
  #pulledTopAt = -Infinity;
  #pulling: Promise<void> | null = null;
  #combined: Combined | null = null;
  /** What threads that died had counted (see pastOf): their restart does not take counters back. */
  #carried: Combined | null = null;
  /** This thread's start (see ThreadSummary.incarnation). */
  readonly #incarnation = Math.random();

  constructor(o: StatisticsOptions) {
    this.#store = o.store;
    this.#log = o.log;
    this.#sweep = o.sweep;
    this.#ops = o.ops;
    this.#faults = o.faults;
    this.#listVersion = o.listVersion ?? (() => null);
    this.#listSeen = this.#listVersion();
    this.#file = o.trendsFile === null ? null : new TrendsFile(o.trendsFile, o.log);
    this.#importFrom = o.importRustrackerTrends ?? null;
    this.#threads = o.threads ?? null;
    this.#own = {
      totals: o.store,
      counters: o.counters,
      sweep: o.sweep,
      faults: o.faults.counts,
      get wsConnections() {
        return o.ws?.size ?? 0;
      },
    };
    const top = new TopTorrents(o.store.shardCount);
    this.ctx = {
      store: o.store,
      counters: o.counters,
      rates: new RateWindow(10),
      trends: new TrendStore(),
      top,
      allows: o.allows,
      refreshTop: () => {
        const t = performance.now();
        this.#rankWantedAt = t;
        // Cheap on a small store, and at most once a second, so a flood of requests cannot stall announces.
        if (this.#store.torrents <= RANK_DIRECT_MAX_TORRENTS && t - this.#directRefreshAt >= 1000) {
          this.#directRefreshAt = t;
          for (let i = 0; i < this.#store.shardCount; i++) top.refreshShard(i, this.#store);
        }
      },
      version: o.version,
      startedAt: o.now(),
      interval: o.interval,
      minIntervalS: o.minIntervalS,
      peerTimeoutS: o.peerTimeoutS,
      udpPort: o.udpPort,
      ws: o.ws,
      wsConnections: () => this.#combined?.wsConnections ?? o.ws?.size ?? 0,
      faults: o.faults,
      now: o.now,
      rankJson: null,
      cluster: o.ops.cluster ?? null,
    };
  }

  /** Loads the trend history, takes the first sample and starts the timers. */
  async start(): Promise<void> {
    const now = this.ctx.now();
    let ours = 0;
    if (this.#file !== null) {
      const loaded = await this.#file.load();
      ours = loaded.length;
      this.ctx.trends.load(loaded, now);
      this.#log.info("trends loaded", { path: this.#file.path, samples: this.ctx.trends.size });
    }
    // Only into an empty or absent file (the first start): the rewrite below then makes it ours for good.
    if (this.#importFrom !== null && ours === 0) {
      await importRustrackerTrends(this.#importFrom, this.ctx.trends, now, this.#log);
    }
    // A first sample now, so the charts have a point; unless the history already covers this bucket (a
    // restart), whose sample from before the restart is the better one to keep. With --workers, once the
    // other threads have started (threadsStarted): until then this thread's share is all there is.
    if (this.#threads === null && !this.ctx.trends.hasBucketOf(now)) this.#sample();
    // Rewrite once at start: drops expired or unreadable lines and any torn tail.
    if (this.#file !== null) this.#write(() => this.#file!.rewrite(this.ctx.trends.all()));

    const c = this.ctx;
    c.rates.record(performance.now() / 1000, rateTotals(c.counters));
    const faults = this.#faults;
    this.#timers.push(
      faults.every("request rates", PULL_EVERY_MS, async () => {
        await this.#pullIfThreads(false);
        c.rates.record(performance.now() / 1000, rateTotals(c.counters));
      }),
    );
    this.startRankings();
    // Trend samples on the 10-minute wall-clock boundaries.
    const untilBoundary = (TREND_INTERVAL_S - ((Date.now() / 1000) % TREND_INTERVAL_S)) * 1000;
    this.#timers.push(
      faults.after("trends", untilBoundary, async () => {
        this.#timers.push(faults.every("trends", TREND_INTERVAL_S * 1000, () => this.#pullAndSample()));
        await this.#pullAndSample();
      }),
    );
  }

  /** --workers: the other threads are serving (with what they restored); the first trend sample. */
  async threadsStarted(): Promise<void> {
    await this.#pull(false);
    if (!this.ctx.trends.hasBucketOf(this.ctx.now())) this.#sample();
  }

  /** Keeps the rankings fresh while someone reads them (a Worker thread runs only this: see ownSummary). */
  startRankings(): void {
    this.#timers.push(this.#faults.every("rankings", RANK_TICK_MS, () => this.#refreshRankSlice()));
  }

  /** This thread's share, for the main thread (--workers); with `withTop`, its rankings too. */
  ownSummary(withTop: boolean, mesh: MeshCounts): ThreadSummary {
    const s = this.#store;
    const totals = new Totals().add(s);
    let top = null;
    if (withTop) {
      this.ctx.refreshTop();
      top = this.ctx.top.top(TOP_MAX, this.ctx.allows);
    }
    return {
      incarnation: this.#incarnation,
      totals,
      counters: this.#own.counters,
      sweep: this.#own.sweep,
      faults: [...this.#own.faults],
      mesh: { handed: mesh.handed, answered: mesh.answered, dropped: mesh.dropped },
      wsConnections: this.#own.wsConnections,
      top,
    };
  }

  /**
   * Answers /api/* (but the admin API) and /metrics. With --workers, an answer about to be built waits for
   * the other threads' summaries first (one round trip, shared by the requests of the moment).
   */
  handle(method: string, path: string, query: URLSearchParams): Response | Promise<Response> | null {
    if (path === "/metrics") {
      if (method !== "GET" && method !== "HEAD")
        return json({ error: "method not allowed" }, 405, { allow: "GET, HEAD" });
      if (this.#threads === null) return this.#metrics();
      return this.#pull(false).then(() => this.#metrics());
    }
    const key = method === "GET" || method === "HEAD" ? apiCacheKey(path, query) : null;
    if (key === null) return handleApi(this.ctx, method, path, query); // errors: cheap, never cached
    if (this.#threads === null || this.cache.fresh(key, performance.now())) return this.#api(key, path, query);
    return this.#pull(path === "/api/top100").then(() => this.#api(key, path, query));
  }

  #metrics(): Response {
    const c = this.#combined;
    const pool = this.#threads?.pool() ?? null;
    const threads: ThreadsView =
      pool === null
        ? { running: 1, restarts: 0, mesh: [], counters: [] }
        : {
            running: pool.running,
            restarts: pool.deaths,
            mesh: [this.#threads!.mesh, ...this.#others.map((o) => o?.mesh ?? null)],
            counters: [this.#own.counters, ...this.#others.map((o) => o?.counters ?? null)],
          };
    const text = renderMetrics(
      this.ctx,
      c?.sweep ?? this.#sweep,
      this.cache,
      this.#ops,
      c?.faults ?? this.#faults.counts,
      threads,
    );
    return new Response(text, {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
    });
  }

  #api(key: string, path: string, query: URLSearchParams): Response {
    const list = this.#listVersion();
    if (list !== this.#listSeen) {
      this.#listSeen = list;
      this.cache.clear();
      this.ctx.rankJson = null;
    }
    const body = this.cache.get(key, performance.now(), () => encodeApi(this.ctx, path, query));
    return new Response(body, { headers: JSON_HEADERS });
  }

  /** Stops the timers and waits for the trends file to be written (with the latest sample). */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    if (this.#file !== null) {
      await this.#pullAndSample();
      await this.#writing;
    }
  }

  async #pullAndSample(): Promise<void> {
    await this.#pullIfThreads(false);
    this.#sample();
  }

  #pullIfThreads(withTop: boolean): Promise<void> {
    return this.#threads === null ? Promise.resolve() : this.#pull(withTop);
  }

  /**
   * Brings the other threads' summaries up to date and sums every thread's share into ctx.store and
   * ctx.counters; with `withTop`, their rankings too. Up to date: from a round trip that started after this
   * call, so whatever a client was answered before it asked is counted. One round trip at a time, shared by
   * every caller waiting for it.
   */
  async #pull(withTop: boolean): Promise<void> {
    const asked = performance.now();
    for (;;) {
      if ((withTop ? this.#pulledTopAt : this.#pulledAt) >= asked) return;
      if (this.#pulling === null) break;
      await this.#pulling; // then look again: it may have started before this call, or fetched no rankings
    }
    const pool = this.#threads?.pool() ?? null;
    const run = async () => {
      const started = performance.now();
      const answers = pool === null ? [] : await pool.ask<ThreadSummary>("summary", withTop, PULL_TIMEOUT_MS);
      // A thread that did not answer (restarting, or busy) counts with what it said last; one that answers
      // as a new start keeps what it had counted before it died.
      answers.forEach((a, i) => {
        const last = this.#others[i];
        if (a !== null && last !== null && last !== undefined && a.incarnation !== last.incarnation)
          this.#carried = combine(this.#carried === null ? [pastOf(last)] : [this.#carried, pastOf(last)]);
      });
      this.#others = answers.map((a, i) => a ?? this.#others[i] ?? null);
      this.#pulledAt = started;
      if (withTop) {
        this.#pulledTopAt = started;
        this.ctx.top.setOthers(this.#others.flatMap((o) => (o?.top ? [o.top] : [])));
        this.ctx.rankJson = null;
      }
      const shares: Share[] = [this.#own, ...this.#others.filter((o) => o !== null)];
      if (this.#carried !== null) shares.push(this.#carried);
      this.#combined = combine(shares);
      this.ctx.store = this.#combined.totals;
      this.ctx.counters = this.#combined.counters;
    };
    this.#pulling = run().finally(() => {
      this.#pulling = null;
    });
    await this.#pulling;
  }

  #sample(): void {
    const s = this.ctx.store;
    const clients: Record<string, number> = {};
    for (let tag = 0; tag < CLIENT_NAMES.length; tag++) {
      if (s.peersByClient[tag] > 0) clients[CLIENT_NAMES[tag]] = s.peersByClient[tag];
    }
    const sample: TrendSample = {
      t: this.ctx.now(),
      torrents: s.torrents,
      peers: s.peers,
      seeders: s.seeders,
      leechers: s.leechers,
      clients,
    };
    this.ctx.trends.add(sample);
    if (this.#file !== null) this.#write(() => this.#file!.append(sample, this.ctx.trends.all()));
  }

  /** File writes run one after another, so an append never races a rewrite. */
  #write(io: () => Promise<void>): void {
    this.#writing = this.#writing.then(io);
  }

  #refreshRankSlice(): void {
    const started = performance.now();
    // Only while someone reads the rankings (the dashboard polls them): on a big store a pass makes garbage
    // worth megabytes, and the runtime's heap headroom grows with the store, so idle refreshes cost memory.
    if (started - this.#rankWantedAt > RANK_IDLE_AFTER_MS) return;
    const shards = this.#store.shardCount;
    for (let done = 0; done < shards && performance.now() - started < RANK_SLICE_MS; done++) {
      this.ctx.top.refreshShard(this.#nextRankShard, this.#store);
      this.#nextRankShard = (this.#nextRankShard + 1) % shards;
    }
  }
}
