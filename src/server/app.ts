// Wiring: builds the store, the front ends and the listeners from a Config, and registers each one's stop
// with the lifecycle (lifecycle.ts) as it starts. The only file that knows every part.

import type { Config } from "../config/config.ts";
import { formatIp } from "../codec/ip.ts";
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
import { adminServeOptions } from "./admin-listener.ts";
import { Health } from "./health.ts";
import { HttpListener } from "./http-listener.ts";
import { LagMonitor } from "./lag-monitor.ts";
import { httpServeOptions, type RouteValue } from "./http-server.ts";
import { IntervalControl } from "./interval-control.ts";
import { loadTlsPair, TlsFileWatcher, type TlsPair, type TlsReloadOutcome } from "./tls-files.ts";
import type { Logger } from "./logger.ts";
import { AccessControl } from "./access-control.ts";
import { ADMIN_PATH, AdminApi } from "./admin.ts";
import { AuthThrottle, type Source } from "./auth-throttle.ts";
import { json } from "./api.ts";
import { Faults } from "./faults.ts";
import { Lifecycle } from "./lifecycle.ts";
import { StateFile } from "./state-file.ts";
import { Statistics } from "./statistics.ts";
import { Sweeper } from "./sweeper.ts";
import type { ClusterSync } from "./cluster/cluster-sync.ts";
import { startUdpServer, type UdpListener } from "./udp-server.ts";

/** In-flight HTTP requests get this long to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;
/** The final state save of a very large store (10M peers: about 3 s) gets this long. */
const STATE_SAVE_TIMEOUT_MS = 60_000;

export interface RunningTracker {
  store: Store;
  counters: Counters;
  stats: Statistics;
  access: AccessControl;
  faults: Faults;
  /** The --listen port (HTTPS when only a certificate is given), the --tls-listen port, the UDP port. */
  httpPort: number;
  tlsPort: number | null;
  udpPort: number | null;
  /** The --admin-listen port; null without one. */
  adminPort: number | null;
  udp: UdpListener | null;
  /** Event-loop lag, as /metrics and the admin /healthz read it. */
  lag: LagMonitor;
  /** Cluster mode's sync (--redis); null when standalone. */
  cluster: ClusterSync | null;
  /** Re-reads the TLS certificate and key now (SIGHUP); null without TLS. */
  reloadTls(): TlsReloadOutcome | null;
  stop(): Promise<void>;
}

/** Set by `bun build --define WITH_DASHBOARD=false` for a build without the dashboard; undefined otherwise. */
declare const WITH_DASHBOARD: boolean | undefined;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** `adminToken` is the token from --admin-token or the content of --admin-token-file (read by main.ts). */
/**
 * `requestShutdown`: what an authorized POST /admin/shutdown on the admin listener calls (main.ts: the same
 * graceful stop as SIGTERM).
 */
export async function startTracker(
  config: Config,
  log: Logger,
  adminToken: string | null = config.adminToken,
  requestShutdown: () => void = () => {},
): Promise<RunningTracker> {
  // First, before anything starts: an unusable certificate or key throws TlsFileError (main.ts: exit 2).
  const tls = config.tlsCert === null ? null : loadTlsPair(config.tlsCert, config.tlsKey!);
  const life = new Lifecycle(log);
  try {
    return await startComponents(config, log, adminToken, tls, life, requestShutdown);
  } catch (err) {
    await life.stop(); // whatever started before the failure, in reverse order
    throw err;
  }
}

/** Starts each component and registers its stop with `life` right away (see lifecycle.ts for the order). */
async function startComponents(
  config: Config,
  log: Logger,
  adminToken: string | null,
  tls: TlsPair | null,
  life: Lifecycle,
  requestShutdown: () => void,
): Promise<RunningTracker> {
  const faults = new Faults(log);
  const store = new Store({
    peerTimeoutS: config.peerTimeoutS,
    random: xoshiro128(crypto.getRandomValues(new Uint32Array(4))),
    maxTorrents: config.maxTorrents,
    maxPeersPerTorrent: config.maxPeersPerTorrent,
    maxPeers: config.maxPeers,
    sourceShare: config.sourceShare / 100,
    // (the per-source request budget's exemptions: a local proxy or health check is not one "client")
    sourceExempt: config.rateLimitExempt,
    minIntervalS: config.minIntervalS,
  });
  const seed = () => crypto.getRandomValues(new Uint32Array(1))[0];
  const limiter = new RateLimiter({ perSecond: config.rateLimit, burst: config.rateBurst, seed: seed() });
  const limit = new SourceLimit(limiter, config.rateLimitExempt);
  let state: StateFile | null = null;
  if (config.stateFile !== null) {
    const started = new StateFile(config.stateFile, store, log, faults);
    await started.start(nowSeconds());
    life.add("state file (final save)", () => started.stop(), STATE_SAVE_TIMEOUT_MS);
    state = started;
  }
  // Cluster mode (--redis): the one place it is wired. Loaded only when asked for; one sync per Store.
  let cluster: ClusterSync | null = null;
  if (config.redis !== null) {
    const { startCluster } = await import("./cluster/start-cluster.ts");
    cluster = await startCluster(config, store, log, faults, life, nowSeconds);
  }
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
  const access = new AccessControl(config.accessMode, config.accessList, store, log, faults);
  await access.start();
  life.add("access list", () => access.stop());
  /** What the front ends ask, the same for all three: null when there is no list. */
  const list = access.mode === "off" ? null : access;
  let admin: AdminApi | null = null;
  if (adminToken !== null) {
    const throttle = new AuthThrottle({ log, now: nowSeconds, seed: seed() });
    life.add("admin login throttle (last summary)", () => throttle.flush());
    admin = new AdminApi(adminToken, access, log, throttle);
  }
  const ws = config.websocket
    ? new WsTracker(store, counters, {
        // (WebTorrent clients take no `min interval`: nothing below the jitter bounds the interval.)
        interval: new IntervalSource(new FixedInterval(config.wsIntervalS), 1, config.peerTimeoutS, random),
        minIntervalS: config.minIntervalS,
        maxSocketsPerIp: config.wsMaxSocketsPerIp,
        access: list,
        limit,
      })
    : null;
  const sweeper = new Sweeper(store, log, nowSeconds);
  let udp: UdpListener | null = null;
  // Event-loop lag in every mode, for /metrics and the admin /healthz (one 1 s timer; adaptive mode steps on it).
  const lag = new LagMonitor();
  lag.start(faults);
  life.add("lag monitor", () => lag.stop());
  let certificates: TlsFileWatcher | null = null;
  const stats = new Statistics({
    store,
    counters,
    log,
    version: VERSION,
    interval: intervals.controller,
    minIntervalS: config.minIntervalS,
    peerTimeoutS: config.peerTimeoutS,
    trendsFile: config.trendsFile,
    importRustrackerTrends: config.importRustrackerTrends,
    allows: access.allows,
    listVersion: () => access.list,
    ws,
    udpPort: () => udp?.port ?? null,
    sweep: sweeper.stats,
    ops: { lag, stateFile: state, tls: () => certificates?.current ?? null, cluster },
    faults,
    now: nowSeconds,
  });
  await stats.start();
  life.add("statistics (trends file)", () => stats.stop());
  // A dynamic import inside an `if` the bundler can fold to false, so a no-dashboard build leaves the page
  // and its assets out entirely (a condition through a variable is not folded, and the chunk stays in).
  let routes: Record<string, RouteValue> = {};
  if (typeof WITH_DASHBOARD === "undefined" || WITH_DASHBOARD) {
    routes = await (await import("./dashboard.ts")).dashboardRoutes();
  }
  const operatorApi = (req: Request, path: string, query: URLSearchParams, source: () => Source) => {
    if (path === ADMIN_PATH) {
      if (admin !== null) return admin.handle(req, query, source());
      return json({ error: "the admin API is off: start with --admin-token or --admin-token-file" }, 404);
    }
    return stats.handle(req.method, path, query);
  };
  // With --admin-listen, the public port reaches nothing but the read-only statistics (never the admin API,
  // whatever its paths); --public-stats off keeps those and the dashboard off it too.
  const serveOptions = httpServeOptions({
    routes: config.publicStats ? routes : {},
    proxies: config.trustProxy,
    apiLimit: limit,
    api: (req, path, query, source) => {
      if (config.adminListen !== null) {
        return config.publicStats && path !== "/metrics" ? stats.handle(req.method, path, query) : null;
      }
      if (!config.publicStats && path !== ADMIN_PATH && path !== "/metrics") return null;
      return operatorApi(req, path, query, source);
    },
    tracker: new HttpTracker(store, settings, counters, {
      access: list,
      limit,
      fullScrape: config.fullScrape
        ? new FullScrape(
            store,
            list,
            new SourceLimit(new RateLimiter({ perSecond: 1 / FULL_SCRAPE_LIMIT_S, burst: 1, seed: seed() }), null),
            () => access.version,
          )
        : null,
    }),
    ws,
    faults,
    now: nowSeconds,
  });
  // Plain HTTP on --listen, and HTTPS on --tls-listen; or HTTPS on --listen when only a certificate is given.
  const listeners: HttpListener[] = [];
  life.add(
    "HTTP listeners",
    () => Promise.all(listeners.map((l) => l.stop(SHUTDOWN_GRACE_MS))),
    SHUTDOWN_GRACE_MS + 1000,
  );
  listeners.push(new HttpListener(serveOptions, config.listen, config.tlsListen === null ? tls : null));
  if (config.tlsListen !== null) listeners.push(new HttpListener(serveOptions, config.tlsListen, tls));
  // WebSocket connections would hold a graceful stop open until the grace period: say goodbye first.
  if (ws !== null) {
    life.add("WebSocket goodbye", () => {
      for (const conn of ws.connections) conn.sink?.close(1001, "tracker shutting down");
    });
  }
  const tlsListener = listeners.find((l) => l.tls);
  if (tls !== null && tlsListener !== undefined) {
    const watcher = new TlsFileWatcher({
      certPath: tls.certPath,
      keyPath: tls.keyPath,
      current: tls,
      onLoad: (pair, cause) => {
        tlsListener.replaceTls(pair); // throws if the new server cannot start: the watcher keeps the old pair
        log.info("TLS certificate reloaded", {
          subject: pair.subject,
          notAfter: pair.notAfter.toISOString(),
          fingerprint: pair.fingerprint256,
          cause,
        });
      },
      onError: (err, cause) =>
        log.warn("TLS certificate not reloaded; the old one stays in service", { err: err.message, cause }),
    });
    certificates = watcher;
    life.add("TLS file watch", () => watcher.close());
    log.info("TLS certificate loaded", {
      subject: tls.subject,
      notAfter: tls.notAfter.toISOString(),
      fingerprint: tls.fingerprint256,
    });
  }
  intervals.start(lag);
  life.add("interval control", () => intervals.stop());
  if (config.udpListen !== null) {
    const connIds = new ConnIdIssuer(crypto.getRandomValues(new Uint8Array(16)));
    const listener = await startUdpServer({
      listen: config.udpListen,
      tracker: new UdpTracker(store, connIds, settings, counters, { access: list, limit }),
      log,
      faults,
      now: nowSeconds,
    });
    udp = listener;
    life.add("UDP sockets", () => listener.close());
  }
  sweeper.start(faults);
  life.add("expiry sweep", () => sweeper.stop());
  // Last, so that its /healthz only answers once everything it checks has started.
  let adminListener: HttpListener | null = null;
  if (config.adminListen !== null) {
    const health = new Health({ udp: () => udp, udpWanted: config.udpListen !== null, lag, stateFile: state, cluster });
    const shutdown =
      admin === null
        ? undefined
        : (req: Request, source: Source) => {
            const refused = admin!.refusal(req, source);
            if (refused !== null) return refused;
            log.info("admin: shutdown requested", { from: formatIp(source.ip, 0, source.len) });
            setTimeout(requestShutdown, 0); // after this answer is on its way
            return json({ ok: true, stopping: true }, 202);
          };
    const options = adminServeOptions({
      routes,
      api: operatorApi,
      health,
      shutdown,
      proxies: config.trustProxy,
      faults,
    });
    const listener = new HttpListener(options, config.adminListen, null, "admin HTTP");
    life.add("admin listener", () => listener.stop(SHUTDOWN_GRACE_MS), SHUTDOWN_GRACE_MS + 1000);
    adminListener = listener;
  }

  return {
    store,
    counters,
    stats,
    access,
    faults,
    httpPort: listeners[0].port,
    tlsPort: tlsListener?.port ?? null,
    udpPort: udp?.port ?? null,
    adminPort: adminListener?.port ?? null,
    udp,
    lag,
    cluster,
    reloadTls: () => certificates?.reload() ?? null,
    stop: () => life.stop(),
  };
}
