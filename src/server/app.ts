// Wiring: builds the store, the front ends and the listeners from a Config, and registers each one's stop
// with the lifecycle (lifecycle.ts) as it starts. The only file that knows every part.

import type { Config, ListenAddress } from "../config/config.ts";
import { formatIp } from "../codec/ip.ts";
import { FixedInterval } from "../core/adaptive-interval.ts";
import { ConnIdIssuer } from "../core/conn-id.ts";
import { xoshiro128 } from "../core/random.ts";
import { RateLimiter } from "../core/rate-limit.ts";
import { Store } from "../core/store.ts";
import type { HashList } from "../core/hash-list.ts";
import { SharedTotals } from "../core/shared-counts.ts";
import { SharedSourceCounts } from "../core/shared-source-counts.ts";
import type { FrozenTable } from "../core/torrent-table.ts";
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
import { httpServeOptions, type RouteValue, routeFinder } from "./http-server.ts";
import { IntervalControl } from "./interval-control.ts";
import { loadTlsPair, TlsFileWatcher, type TlsPair, type TlsReloadOutcome } from "./tls-files.ts";
import type { Logger } from "./logger.ts";
import { AccessControl } from "./access-control.ts";
import { ADMIN_PATH, AdminApi } from "./admin.ts";
import { AuthThrottle, type Source } from "./auth-throttle.ts";
import { json } from "./api.ts";
import { Faults } from "./faults.ts";
import { Lifecycle } from "./lifecycle.ts";
import { type RestoredShare, type ShareSlice, StateFile } from "./state-file.ts";
import { Statistics } from "./statistics.ts";
import { Sweeper } from "./sweeper.ts";
import type { ClusterSync } from "./cluster/cluster-sync.ts";
import { startUdpServer, type UdpListener } from "./udp-server.ts";
import type { Ownership } from "../core/owner.ts";
import { httpForwarding } from "./workers/http-forwarding.ts";
import { Mesh, type MeshMemory, meshMemory } from "./workers/mesh.ts";
import type { WireRequest, WireResponse } from "./workers/messages.ts";
import { WorkerPool } from "./workers/pool.ts";
import { udpForwarding } from "./workers/udp-forwarding.ts";
import { landedReporter, UdpSteering } from "./workers/udp-steering.ts";
import { wsForwarding } from "./workers/ws-forwarding.ts";
import { SharedWsClaims, wsClaimsMemory } from "./workers/ws-claims.ts";
import { workerCount } from "./workers/worker-count.ts";
import type { Server } from "bun";
import type { WsConnection } from "../frontend/ws-tracker.ts";
import type { LogLevel } from "../config/config.ts";

/** In-flight HTTP requests get this long to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;
/** The final state save of a very large store (10M peers: about 3 s) gets this long. */
const STATE_SAVE_TIMEOUT_MS = 60_000;
/** Admin edits of the access list passed to the other threads one by one before the list is shared again. */
const RESHARE_EDITS = 4096;
/** A thread has this long to apply an admin edit of the access list (it may have to read the file again). */
const ACCESS_EDIT_TIMEOUT_MS = 10_000;
/** A thread has this long to pack its torrents for a full scrape. */
const FULL_SCRAPE_GATHER_TIMEOUT_MS = 10_000;
/** A thread has this long to encode one slice of its swarms for a save. */
const STATE_SLICE_TIMEOUT_MS = 10_000;

export interface RunningTracker {
  store: Store;
  counters: Counters;
  stats: Statistics;
  access: AccessControl;
  /** Null unless --full-scrape on. */
  fullScrape: FullScrape | null;
  /** What this thread restored from the state file at start; null if nothing. */
  restored: RestoredShare | null;
  faults: Faults;
  /** The --listen port (HTTPS when only a certificate is given), the --tls-listen port, the UDP port. */
  httpPort: number;
  tlsPort: number | null;
  udpPort: number | null;
  /** The --admin-listen port; null without one. */
  adminPort: number | null;
  udp: UdpListener | null;
  /** The WebTorrent tracker (null: --websocket off). */
  ws: WsTracker | null;
  /** Event-loop lag, as /metrics and the admin /healthz read it. */
  lag: LagMonitor;
  /** Threads serving the ports (--workers); the main thread's pool of the others (null: one thread). */
  threads: number;
  pool: WorkerPool | null;
  mesh: Mesh | null;
  /** The kernel steers UDP announces to their owner's thread (workers/udp-steering.ts); null: one thread. */
  udpSteering: UdpSteering | null;
  /** Cluster mode's sync (--redis) of this thread's store; null when standalone. */
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
/**
 * A Worker thread's place (see workers/): which thread it is, the mesh it shares, the ports the main thread
 * bound, and how it passes operator requests (API, metrics, dashboard) to the main thread.
 */
export interface ThreadSetup {
  self: number;
  count: number;
  memory: MeshMemory;
  ports: { http: number; tls: number | null; udp: number | null };
  toMain: (req: Request, server: Server<WsConnection>) => Promise<Response>;
  shared: Record<string, SharedArrayBuffer>;
  /** Tells the main thread a UDP datagram for `key`'s thread came in on this one's socket `socket`. */
  landed: (socket: string, key: number) => void;
  /** The main thread's access list, shared (null: none). */
  access: FrozenTable | null;
}

/**
 * `writeLine`: where the lines of Worker threads' logs go (main.ts: the log output); `thread`: set in a
 * Worker thread only (workers/worker-main.ts).
 */
export async function startTracker(
  config: Config,
  log: Logger,
  adminToken: string | null = config.adminToken,
  requestShutdown: () => void = () => {},
  writeLine: (line: string, level: LogLevel) => void = (line) => process.stdout.write(`${line}\n`),
  thread: ThreadSetup | null = null,
): Promise<RunningTracker> {
  // First, before anything starts: an unusable certificate or key throws TlsFileError (main.ts: exit 2).
  const tls = config.tlsCert === null ? null : loadTlsPair(config.tlsCert, config.tlsKey!);
  const life = new Lifecycle(log);
  try {
    return await startComponents(config, log, adminToken, tls, life, requestShutdown, writeLine, thread);
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
  writeLine: (line: string, level: LogLevel) => void,
  thread: ThreadSetup | null,
): Promise<RunningTracker> {
  const faults = new Faults(log);
  let pool: WorkerPool | null = null;
  // --workers: every thread runs what follows over its own share of the swarms; the main thread also runs
  // the operator side (state file, statistics, admin) and starts the others last (see workers/pool.ts).
  const count = thread?.count ?? workerCount(config.workers, process.platform, log);
  const owners: Ownership = { self: thread?.self ?? 0, count };
  const isMain = thread === null;
  const memory = thread?.memory ?? (count > 1 ? meshMemory(count) : null);
  const mesh = memory === null ? null : new Mesh(memory, owners.self, faults);
  /** How the listeners bind the shared ports (undefined: one thread, the port is its alone). */
  const sharing = count === 1 ? undefined : isMain ? "first" : "join";
  /** Secrets and budgets every thread shares: made here by the main thread, given to the others. */
  const shared = thread?.shared ?? sharedMemory(config, count);
  const portOf = (listen: ListenAddress, port: number | null | undefined) =>
    port === null || port === undefined ? listen : { ...listen, port };
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
    // Threads: --max-peers, --max-torrents and the per-source share hold over all threads' stores together.
    shared: shared.totals === undefined ? undefined : new SharedTotals(shared.totals),
    sharedSources: shared.sources === undefined ? undefined : new SharedSourceCounts(shared.sources),
  });
  const seed = () => crypto.getRandomValues(new Uint32Array(1))[0];
  // One budget per source whichever thread reads its requests (the same seed and memory in every thread).
  const limiter = new RateLimiter({ ...rateOptions(config, shared), shared: shared.rate });
  const limit = new SourceLimit(limiter, config.rateLimitExempt);
  // The other threads end last of all: the final state save and trends sample below ask for their swarms.
  // (They stop serving first of all: see the pool's start at the end.)
  if (isMain && count > 1) life.add("worker threads (end)", () => pool?.end());
  let state: StateFile | null = null;
  let restored: RestoredShare | null = null;
  if (config.stateFile !== null && isMain) {
    const others =
      count === 1
        ? null
        : {
            count,
            slice: (thread: number, from: number, now: number) =>
              pool?.askOne<ShareSlice>(thread, "stateSlice", { from, now }, STATE_SLICE_TIMEOUT_MS) ??
              Promise.resolve(null),
          };
    const started = new StateFile(config.stateFile, store, log, faults, owners, others);
    await started.start(nowSeconds());
    life.add("state file (final save)", () => started.stop(), STATE_SAVE_TIMEOUT_MS);
    state = started;
  } else if (config.stateFile !== null) {
    // A Worker thread (also one started again after dying): its share of the last save.
    const share = new StateFile(config.stateFile, store, log, faults, owners);
    await share.restoreShare(nowSeconds());
    restored = share.restored;
  }
  restored ??= state?.restored ?? null;
  // Cluster mode (--redis): the one place it is wired. Loaded only when asked for; one sync per Store, so with
  // --workers each thread syncs the torrents it owns.
  let cluster: ClusterSync | null = null;
  if (config.redis !== null) {
    const { startCluster } = await import("./cluster/start-cluster.ts");
    cluster = await startCluster(config, store, log, faults, life, nowSeconds, owners);
  }
  const counters = new Counters();
  const random = xoshiro128(crypto.getRandomValues(new Uint32Array(4)));
  const intervals = new IntervalControl({
    mode: config.intervalMode,
    minS: config.minIntervalS,
    maxS: config.intervalS,
    busyRate: config.adaptiveBusyRate,
    counters,
    shared: count === 1 ? null : { self: owners.self, totals: new BigInt64Array(shared.requestTotals) },
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
  const access = new AccessControl(
    config.accessMode,
    config.accessList,
    store,
    log,
    faults,
    isMain ? null : { initial: thread!.access },
  );
  // --workers: the main thread reads the file, and its list, copied once to shared memory, is every other
  // thread's too (AccessControl `follow`); an admin edit is answered once every thread has it. Edits go to
  // the others one by one until RESHARE_EDITS of them, then the list is shared again whole.
  let accessShare: FrozenTable | null = null;
  let editsSinceShare = 0;
  const shareAccess = (hashes: HashList) => {
    accessShare = hashes.share();
    editsSinceShare = 0;
    return pool?.ask("accessShare", accessShare, ACCESS_EDIT_TIMEOUT_MS) ?? Promise.resolve();
  };
  if (isMain && count > 1 && config.accessList !== null) {
    access.onInstall = shareAccess;
    access.onEdit = (edit) =>
      ++editsSinceShare >= RESHARE_EDITS
        ? shareAccess(access.list.hashes)
        : (pool?.ask("accessEdit", edit, ACCESS_EDIT_TIMEOUT_MS) ?? Promise.resolve());
  }
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
        owners,
        claims: count > 1 ? new SharedWsClaims(shared, owners.self, count) : null,
      })
    : null;
  // Offers and answers between connections of different threads, announces to the owner of the hash.
  if (ws !== null && mesh !== null) wsForwarding(mesh, ws, nowSeconds);
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
    trendsFile: isMain ? config.trendsFile : null,
    importRustrackerTrends: config.importRustrackerTrends,
    allows: access.allows,
    listVersion: () => access.list,
    ws,
    udpPort: () => udp?.port ?? null,
    sweep: sweeper.stats,
    ops: { lag, stateFile: state, tls: () => certificates?.current ?? null, cluster },
    faults,
    now: nowSeconds,
    // (pool: started last, below)
    threads: isMain && mesh !== null ? { pool: () => pool, mesh } : null,
  });
  if (isMain) {
    await stats.start();
    life.add("statistics (trends file)", () => stats.stop());
  } else {
    stats.startRankings(); // the main thread asks for this thread's rankings (workers/summary.ts)
    life.add("rankings", () => stats.stop());
  }
  // A dynamic import inside an `if` the bundler can fold to false, so a no-dashboard build leaves the page
  // and its assets out entirely (a condition through a variable is not folded, and the chunk stays in).
  let routes: Record<string, RouteValue> = {};
  if (isMain && (typeof WITH_DASHBOARD === "undefined" || WITH_DASHBOARD)) {
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
  // --workers: the main thread answers full scrapes, with every other thread's torrents (full-scrape.ts).
  const gather =
    isMain && count > 1
      ? async () =>
          ((await pool?.ask<Uint8Array>("fullScrapeEntries", null, FULL_SCRAPE_GATHER_TIMEOUT_MS)) ?? []).filter(
            (e) => e !== null,
          )
      : null;
  const fullScrape = config.fullScrape
    ? new FullScrape(
        store,
        list,
        new SourceLimit(new RateLimiter({ perSecond: 1 / FULL_SCRAPE_LIMIT_S, burst: 1, seed: seed() }), null),
        () => access.version,
        gather,
      )
    : null;
  const httpTracker = new HttpTracker(store, settings, counters, { access: list, limit, owners, fullScrape });
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
    tracker: httpTracker,
    ws,
    faults,
    now: nowSeconds,
    forward: mesh === null ? undefined : httpForwarding(mesh, httpTracker),
    operator: thread?.toMain,
  });
  // Plain HTTP on --listen, and HTTPS on --tls-listen; or HTTPS on --listen when only a certificate is given.
  const listeners: HttpListener[] = [];
  life.add(
    "HTTP listeners",
    () => Promise.all(listeners.map((l) => l.stop(SHUTDOWN_GRACE_MS))),
    SHUTDOWN_GRACE_MS + 1000,
  );
  const mainTls = config.tlsListen === null ? tls : null;
  const listen = portOf(config.listen, thread?.ports.http);
  listeners.push(new HttpListener(serveOptions, listen, mainTls, undefined, sharing));
  if (config.tlsListen !== null) {
    const tlsListen = portOf(config.tlsListen, thread?.ports.tls);
    listeners.push(new HttpListener(serveOptions, tlsListen, tls, undefined, sharing));
  }
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
  // --workers: the main thread keeps the kernel's steering program; every thread says what it reads misplaced.
  const steering =
    isMain && count > 1 && config.udpSteering && config.udpListen !== null
      ? new UdpSteering(count, log, () => pool?.running === count)
      : null;
  if (config.udpListen !== null) {
    // One key in every thread: a client's connect and announce may be read by different threads (the kernel
    // regroups the senders whenever a thread's socket comes or goes).
    const connIds = new ConnIdIssuer(new Uint8Array(shared.connIdKey));
    const udpTracker = new UdpTracker(store, connIds, settings, counters, { access: list, limit, owners });
    const misplaced =
      count > 1 && config.udpSteering
        ? landedReporter(count, thread?.landed ?? ((name, key) => steering?.landed(name, key, 0)))
        : null;
    const listener = await startUdpServer({
      listen: portOf(config.udpListen, thread?.ports.udp),
      tracker: udpTracker,
      log,
      faults,
      now: nowSeconds,
      shared: sharing,
      forward: mesh === null ? undefined : udpForwarding(mesh, udpTracker, () => udp, misplaced),
      endOfTurn: mesh === null ? undefined : () => mesh.drain(),
      onSocket: steering === null ? undefined : (name, fd) => steering.socket(name, fd),
    });
    udp = listener;
    life.add("UDP sockets", () => listener.close());
  }
  sweeper.start(faults);
  life.add("expiry sweep", () => sweeper.stop());
  // Last, so that its /healthz only answers once everything it checks has started.
  let adminListener: HttpListener | null = null;
  let health: Health | null = null;
  if (config.adminListen !== null && isMain) {
    health = new Health({
      udp: () => udp,
      udpWanted: config.udpListen !== null,
      lag,
      stateFile: state,
      cluster,
      // (the other threads start below, after this listener: until they serve, it answers 503)
      threads: count > 1 ? { count, pool: () => pool } : null,
    });
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

  if (mesh !== null) {
    mesh.start();
    life.add("worker mesh", () => mesh.stop());
  }
  // The other threads last, once this one's listeners hold the ports they join.
  if (isMain && count > 1) {
    // (the public listener's routes: without --public-stats, no dashboard there either)
    const publicRoute = routeFinder(serveOptions.routes as Record<string, RouteValue>);
    const started = new WorkerPool({
      count,
      config,
      memory: memory!,
      ports: { http: listeners[0].port, tls: tlsListener?.port ?? null, udp: udp?.port ?? null },
      log,
      writeLine,
      faults,
      operator: (req) => answerOperator(serveOptions, publicRoute, req),
      shared,
      landed: (index, socket, key) => steering?.landed(socket, key, index),
      // A thread started now takes the list as it is now (its edits included).
      accessShare: () => {
        if (editsSinceShare > 0) void shareAccess(access.list.hashes);
        return accessShare;
      },
    });
    // Their listeners stop first of all, as this thread's do; the threads end last (registered at the start).
    life.add("worker threads (stop serving)", () => started.stopServing(), 15_000);
    pool = started; // before its start: a start that fails half way ends what it started ("worker threads (end)")
    await started.start();
    if (state !== null) await logRestoredTotal(state, restored, started, log);
    await stats.threadsStarted();
  }
  // Registered last, so the first thing a graceful stop does: the worker threads take up to seconds to stop
  // serving, and a load balancer asking the admin /healthz meanwhile should stop sending.
  if (health !== null) life.add("admin /healthz: stopping", () => (health!.stopping = true));

  return {
    store,
    counters,
    stats,
    access,
    fullScrape,
    restored,
    faults,
    httpPort: listeners[0].port,
    tlsPort: tlsListener?.port ?? null,
    udpPort: udp?.port ?? null,
    adminPort: adminListener?.port ?? null,
    udp,
    ws,
    lag,
    threads: count,
    pool,
    mesh,
    udpSteering: steering,
    cluster,
    reloadTls: () => certificates?.reload() ?? null,
    stop: () => life.stop(),
  };
}

/** --workers: after every thread restored its share of the state file, the sum, as one thread would say it. */
async function logRestoredTotal(
  state: StateFile,
  own: RestoredShare | null,
  pool: WorkerPool,
  log: Logger,
): Promise<void> {
  const shares = [own, ...(await pool.ask<RestoredShare>("restored"))].filter((r) => r !== null);
  if (shares.length === 0) return;
  log.info("state restored", {
    path: state.path,
    savedAt: shares[0].savedAt,
    threads: shares.length,
    torrents: shares.reduce((a, r) => a + r.torrents, 0),
    dormant: shares.reduce((a, r) => a + r.dormant, 0),
    peers: shares.reduce((a, r) => a + r.peers, 0),
  });
}

/**
 * What the main thread makes for all threads to share (see ThreadSetup.shared): secrets and seeds always; with
 * more than one thread, the rate limit's buckets, the store limits' counts and the WebSocket claims.
 */
function sharedMemory(config: Config, count: number): Record<string, SharedArrayBuffer> {
  const connIdKey = new SharedArrayBuffer(16);
  crypto.getRandomValues(new Uint8Array(connIdKey));
  const seeds = new SharedArrayBuffer(8);
  crypto.getRandomValues(new Uint32Array(seeds));
  // Each thread's request count, for the adaptive interval (interval-control.ts).
  const requestTotals = new SharedArrayBuffer(8 * count);
  const out: Record<string, SharedArrayBuffer> = { connIdKey, seeds, requestTotals };
  if (count === 1) return out;
  // (WebSocket connection caps and peer ids across threads: ws-claims.ts.)
  if (config.websocket) Object.assign(out, wsClaimsMemory());
  out.totals = SharedTotals.memory();
  if (config.sourceShare < 100) out.sources = SharedSourceCounts.memory(config.maxPeers, new Uint32Array(seeds)[1]);
  if (config.rateLimit > 0) out.rate = RateLimiter.sharedMemory(rateOptions(config, out));
  return out;
}

/** The rate limit's options, the same in every thread (the hash seed is shared). */
function rateOptions(config: Config, shared: Record<string, SharedArrayBuffer>) {
  return { perSecond: config.rateLimit, burst: config.rateBurst, seed: new Uint32Array(shared.seeds)[0] };
}

/**
 * The main thread answers an operator request a Worker received on the public port (the API, /metrics, the
 * dashboard): as its own listener would, with the connection's address as the Worker saw it.
 */
async function answerOperator(
  options: ReturnType<typeof httpServeOptions>,
  findRoute: (path: string) => RouteValue | undefined,
  w: WireRequest,
): Promise<WireResponse> {
  const req = new Request(w.url, {
    method: w.method,
    headers: w.headers,
    body: w.body === null || w.method === "GET" || w.method === "HEAD" ? undefined : w.body,
  });
  const server = {
    requestIP: () => ({ address: w.address, family: w.family, port: w.port }),
    upgrade: () => false,
  } as unknown as Server<WsConnection>;
  const path = new URL(w.url).pathname;
  const route = findRoute(path);
  const method = w.method === "HEAD" ? "HEAD" : w.method === "GET" ? "GET" : null;
  let res: Response | undefined;
  if (route !== undefined && method !== null) {
    const handler = route[method];
    res = typeof handler === "function" ? await handler(req, server) : (handler.clone() as Response);
  } else {
    res = await (options.fetch as (r: Request, s: Server<WsConnection>) => Response | Promise<Response | undefined>)(
      req,
      server,
    );
  }
  res ??= new Response("bad request\n", { status: 400 });
  return { status: res.status, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) };
}
