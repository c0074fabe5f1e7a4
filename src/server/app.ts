// Wiring: builds the store, the front ends and the listeners from a Config, runs the expiry sweep, and
// stops everything gracefully. The only file that knows every part.

import type { Config } from "../config/config.ts";
import { FixedInterval } from "../core/adaptive-interval.ts";
import { ConnIdIssuer } from "../core/conn-id.ts";
import { xoshiro128 } from "../core/random.ts";
import { RateLimiter } from "../core/rate-limit.ts";
import { Store } from "../core/store.ts";
import { FULL_SCRAPE_LIMIT_S, FullScrape } from "../frontend/full-scrape.ts";
import { SourceLimit } from "../frontend/source-limit.ts";
import { Counters } from "../frontend/counters.ts";
import { HttpTracker } from "../frontend/http-tracker.ts";
import { type AnnounceSettings, IntervalSource } from "../frontend/settings.ts";
import { UdpTracker } from "../frontend/udp-tracker.ts";
import { WsTracker } from "../frontend/ws-tracker.ts";
import { VERSION } from "../version.ts";
import { HttpListener } from "./http-listener.ts";
import { httpServeOptions } from "./http-server.ts";
import { IntervalControl } from "./interval-control.ts";
import { loadTlsPair, TlsFileWatcher, type TlsReloadOutcome } from "./tls-files.ts";
import type { Logger } from "./logger.ts";
import { AccessControl } from "./access-control.ts";
import { ADMIN_PATH, AdminApi } from "./admin.ts";
import { json } from "./api.ts";
import { StateFile } from "./state-file.ts";
import { Statistics } from "./statistics.ts";
import { startUdpServer, type UdpListener } from "./udp-server.ts";

/** One full expiry pass over all torrents takes about this long, a slice of ids every SWEEP_TICK_MS. */
const SWEEP_PASS_MS = 60_000;
const SWEEP_TICK_MS = 100;
/** In-flight HTTP requests get this long to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningTracker {
  store: Store;
  counters: Counters;
  stats: Statistics;
  access: AccessControl;
  /** The --listen port (HTTPS when only a certificate is given), the --tls-listen port, the UDP port. */
  httpPort: number;
  tlsPort: number | null;
  udpPort: number | null;
  /** Re-reads the TLS certificate and key now (SIGHUP); null without TLS. */
  reloadTls(): TlsReloadOutcome | null;
  stop(): Promise<void>;
}

/** Set by `bun build --define WITH_DASHBOARD=false` for a build without the dashboard; undefined otherwise. */
declare const WITH_DASHBOARD: boolean | undefined;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** `adminToken` is the token from --admin-token or the content of --admin-token-file (read by main.ts). */
export async function startTracker(config: Config, log: Logger, adminToken: string | null = config.adminToken): Promise<RunningTracker> {
  // First, before anything starts: an unusable certificate or key throws TlsFileError (main.ts: exit 2).
  const tls = config.tlsCert === null ? null : loadTlsPair(config.tlsCert, config.tlsKey!);
  const store = new Store({
    peerTimeoutS: config.peerTimeoutS,
    random: xoshiro128(crypto.getRandomValues(new Uint32Array(4))),
    maxTorrents: config.maxTorrents,
    maxPeersPerTorrent: config.maxPeersPerTorrent,
    maxPeers: config.maxPeers,
    minIntervalS: config.minIntervalS,
  });
  const seed = () => crypto.getRandomValues(new Uint32Array(1))[0];
  const limiter = new RateLimiter({ perSecond: config.rateLimit, burst: config.rateBurst, seed: seed() });
  const limit = new SourceLimit(limiter, config.rateLimitExempt);
  const state = config.stateFile === null ? null : new StateFile(config.stateFile, store, log);
  await state?.start(nowSeconds());
  const counters = new Counters();
  const random = xoshiro128(crypto.getRandomValues(new Uint32Array(4)));
  const intervals = new IntervalControl({
    mode: config.intervalMode,
    minS: config.minIntervalS,
    maxS: config.intervalS,
    busyRate: config.adaptiveBusyRate,
    counters,
  });
  // Jittered replies stay at or above the min interval and within the peer timeout (see IntervalSource).
  const interval = new IntervalSource(intervals.controller, config.minIntervalS, config.peerTimeoutS, random);
  const settings: AnnounceSettings = {
    interval,
    minIntervalS: config.minIntervalS,
    defaultNumWant: config.defaultNumWant,
    maxNumWant: config.maxNumWant,
  };
  // Also before anything starts: a list that cannot be read throws AccessListError (main.ts: exit 2).
  const access = new AccessControl(config.accessMode, config.accessList, store, log);
  await access.start();
  const admin = adminToken === null ? null : new AdminApi(adminToken, access, log);
  const stats = new Statistics({
    store,
    counters,
    log,
    version: VERSION,
    interval: intervals.controller,
    minIntervalS: config.minIntervalS,
    peerTimeoutS: config.peerTimeoutS,
    trendsFile: config.trendsFile,
    allows: access.allows,
    now: nowSeconds,
  });
  await stats.start();
  // A dynamic import inside an `if` the bundler can fold to false, so a no-dashboard build leaves the page
  // and its assets out entirely (a condition through a variable is not folded, and the chunk stays in).
  let routes: Record<string, Bun.HTMLBundle | Response> = {};
  if (typeof WITH_DASHBOARD === "undefined" || WITH_DASHBOARD) {
    routes = await (await import("./dashboard.ts")).dashboardRoutes();
  }
  const ws = config.websocket
    ? new WsTracker(store, counters, {
        // (WebTorrent clients take no `min interval`: nothing below the jitter bounds the interval.)
        interval: new IntervalSource(new FixedInterval(config.wsIntervalS), 1, config.peerTimeoutS, random),
        minIntervalS: config.minIntervalS,
        maxSocketsPerIp: config.wsMaxSocketsPerIp,
        allows: access.allows,
        limit,
      })
    : null;
  stats.ctx.ws = ws;
  const serveOptions = httpServeOptions({
    routes,
    proxies: config.trustProxy,
    api: (req, path, query) => {
      if (path === ADMIN_PATH) {
        if (admin !== null) return admin.handle(req, query);
        return json({ error: "the admin API is off: start with --admin-token or --admin-token-file" }, 404);
      }
      return stats.handle(req.method, path, query);
    },
    tracker: new HttpTracker(store, settings, counters, {
      allows: access.allows,
      limit,
      fullScrape: config.fullScrape
        ? new FullScrape(
            store,
            access.allows,
            new SourceLimit(new RateLimiter({ perSecond: 1 / FULL_SCRAPE_LIMIT_S, burst: 1, seed: seed() }), null),
            () => access.version,
          )
        : null,
    }),
    ws,
    log,
    now: nowSeconds,
  });
  // Plain HTTP on --listen, and HTTPS on --tls-listen; or HTTPS on --listen when only a certificate is given.
  const listeners: HttpListener[] = [];
  let certificates: TlsFileWatcher | null = null;
  try {
    listeners.push(new HttpListener(serveOptions, config.listen, config.tlsListen === null ? tls : null));
    if (config.tlsListen !== null) listeners.push(new HttpListener(serveOptions, config.tlsListen, tls));
    const tlsListener = listeners.find((l) => l.tls);
    if (tls !== null && tlsListener !== undefined) {
      certificates = new TlsFileWatcher({
        certPath: tls.certPath,
        keyPath: tls.keyPath,
        current: tls,
        onLoad: (pair, cause) => {
          tlsListener.replaceTls(pair); // throws if the new server cannot start: the watcher keeps the old pair
          log.info("TLS certificate reloaded", { subject: pair.subject, notAfter: pair.notAfter.toISOString(), fingerprint: pair.fingerprint256, cause });
        },
        onError: (err, cause) => log.warn("TLS certificate not reloaded; the old one stays in service", { err: err.message, cause }),
      });
    }
  } catch (err) {
    for (const l of listeners) await l.stop(0);
    await stats.stop();
    access.stop();
    throw err;
  }
  if (tls !== null) log.info("TLS certificate loaded", { subject: tls.subject, notAfter: tls.notAfter.toISOString(), fingerprint: tls.fingerprint256 });
  intervals.start();
  let udp: UdpListener | null = null;
  if (config.udpListen !== null) {
    const connIds = new ConnIdIssuer(crypto.getRandomValues(new Uint8Array(16)));
    try {
      udp = await startUdpServer({
        listen: config.udpListen,
        tracker: new UdpTracker(store, connIds, settings, counters, access.mode === "off" ? null : access.allowsBytes, limit),
        log,
        now: nowSeconds,
      });
    } catch (err) {
      for (const l of listeners) await l.stop(0);
      certificates?.close();
      intervals.stop();
      await stats.stop();
      access.stop();
      throw err;
    }
  }
  stats.ctx.udpPort = udp?.port ?? null;

  // Each tick sweeps the next slice of torrent ids, sized so a whole pass takes SWEEP_PASS_MS: a big store
  // gets bigger slices, never a pause of the whole store.
  let nextId = 0;
  const sweep = setInterval(() => {
    const started = performance.now();
    const from = nextId >= store.idLimit ? 0 : nextId;
    const to = from + Math.max(256, Math.ceil((store.idLimit * SWEEP_TICK_MS) / SWEEP_PASS_MS));
    const r = store.sweepIds(from, to, nowSeconds());
    nextId = to;
    const seconds = (performance.now() - started) / 1000;
    const s = stats.sweep;
    s.runs++;
    s.seconds += seconds;
    s.lastSeconds = seconds;
    s.peersExpired += r.peersRemoved;
    s.torrentsDropped += r.torrentsRemoved;
    if (r.peersRemoved > 0 || r.torrentsRemoved > 0) {
      log.debug("expired", { ids: `${from}-${to}`, ...r, ms: +(seconds * 1000).toFixed(2) });
    }
  }, SWEEP_TICK_MS);

  return {
    store,
    counters,
    stats,
    access,
    httpPort: listeners[0].port,
    tlsPort: listeners.find((l) => l.tls)?.port ?? null,
    udpPort: udp?.port ?? null,
    reloadTls: () => certificates?.reload() ?? null,
    async stop() {
      clearInterval(sweep);
      intervals.stop();
      certificates?.close();
      udp?.close();
      // WebSocket connections would hold a graceful stop open until the grace period: say goodbye first.
      for (const conn of ws?.connections ?? []) conn.sink?.close(1001, "tracker shutting down");
      await Promise.all(listeners.map((l) => l.stop(SHUTDOWN_GRACE_MS)));
      await stats.stop();
      access.stop();
      await state?.stop();
    },
  };
}
