// GET /metrics in the Prometheus text exposition format (version 0.0.4).

import { CLIENT_NAMES } from "../core/clients.ts";
import { FAILURE_CODES } from "../core/failure.ts";
import type { Counters, Protocol } from "../frontend/counters.ts";
import type { ApiCache } from "./api-cache.ts";
import type { ApiContext } from "./api.ts";
import type { LagMonitor } from "./lag-monitor.ts";
import { cpuSeconds, maxFds, openFds, PROCESS_START_SECONDS } from "./process-metrics.ts";
import type { StateFile } from "./state-file.ts";
import type { SweepStats } from "./sweeper.ts";
import type { TlsPair } from "./tls-files.ts";
import { buildCommit } from "../version.ts";
import type { MeshCounts } from "./workers/summary.ts";
import { type ClusterSource, syncLagMs } from "./cluster-figures.ts";

/** What /metrics reads besides the statistics: the process's own health (app.ts wires them). */
export interface OperationsSources {
  lag: Pick<LagMonitor, "worstMs">;
  /** With --state-file; null without (then no state metrics). */
  stateFile: Pick<StateFile, "saves" | "saveFailures" | "lastSaveAt" | "lastSaveSeconds"> | null;
  /** The certificate in service (it changes on a reload); null without TLS. */
  tls: () => TlsPair | null;
  /** Cluster mode's sync (--redis); null or absent when standalone (then no cluster metrics). */
  cluster?: ClusterSource | null;
}

/** The threads serving the ports (--workers), for the per-thread series. */
export interface ThreadsView {
  /** Threads serving now, the main thread included. */
  running: number;
  /** Worker threads that died and were started again, since start. */
  restarts: number;
  /** Each thread's hand-offs, by thread number; empty with one thread (nothing is handed off). */
  mesh: (MeshCounts | null)[];
  /** Each thread's own request counters (those it read), by thread number; empty with one thread. */
  counters: (Counters | null)[];
}

/**
 * The one `outcome` vocabulary of buntracker_requests_total, the same for every protocol: "ok" (answered),
 * "refused" (answered with a failure: the HTTP or WebSocket `failure reason`, the BEP 15 error packet; the code
 * is in buntracker_failures_total). Requests over the rate limit are in neither (buntracker_rate_limited_total).
 */
export type Outcome = "ok" | "refused";

/** Clients listed individually in buntracker_peers_by_client; the rest are summed under "other". */
const CLIENT_SERIES = 20;
const PROTOCOLS: Protocol[] = ["http", "udp", "websocket"];

/** `sweep` and `faults`: every thread's, summed (statistics.ts). */
export function renderMetrics(
  ctx: ApiContext,
  sweep: SweepStats,
  cache: ApiCache,
  ops: OperationsSources,
  faultCounts: ReadonlyMap<string, number>,
  threads: ThreadsView,
): string {
  const out: string[] = [];
  const metric = (name: string, type: "counter" | "gauge" | "summary", help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  const c = ctx.counters;
  const s = ctx.store;
  metric("buntracker_requests_total", "counter", "Tracker requests by protocol, action and outcome.", [
    ['{protocol="http",action="announce",outcome="ok"}', c.httpAnnounce],
    ['{protocol="http",action="announce",outcome="refused"}', c.httpAnnounceFailure],
    ['{protocol="http",action="scrape",outcome="ok"}', c.httpScrape],
    ['{protocol="http",action="scrape",outcome="refused"}', c.httpScrapeFailure],
    ['{protocol="udp",action="connect",outcome="ok"}', c.udpConnect],
    ['{protocol="udp",action="announce",outcome="ok"}', c.udpAnnounce],
    ['{protocol="udp",action="announce",outcome="refused"}', c.udpAnnounceError],
    ['{protocol="udp",action="scrape",outcome="ok"}', c.udpScrape],
    ['{protocol="udp",action="scrape",outcome="refused"}', c.udpScrapeError],
    ['{protocol="websocket",action="announce",outcome="ok"}', c.wsAnnounce],
    ['{protocol="websocket",action="announce",outcome="refused"}', c.wsAnnounceFailure],
    ['{protocol="websocket",action="scrape",outcome="ok"}', c.wsScrape],
    ['{protocol="websocket",action="scrape",outcome="refused"}', c.wsScrapeFailure],
  ]);
  const failures: [string, number][] = [];
  for (const protocol of PROTOCOLS) {
    const counts = c.failures[protocol];
    for (const code of FAILURE_CODES)
      if (counts[code] > 0) failures.push([`{protocol="${protocol}",code="${code}"}`, counts[code]]);
  }
  metric(
    "buntracker_failures_total",
    "counter",
    "Refused requests by protocol and failure code (a series appears with its first failure).",
    failures,
  );
  metric(
    "buntracker_udp_dropped_total",
    "counter",
    "UDP datagrams dropped without a reply (malformed, unknown action, bad connection id).",
    [["", c.udpDropped]],
  );
  metric(
    "buntracker_udp_bad_connection_id_total",
    "counter",
    "UDP announces and scrapes with an invalid or expired connection id.",
    [["", c.udpBadConnectionId]],
  );
  metric("buntracker_rate_limited_total", "counter", "Requests refused by the per-source rate limit.", [
    ['{protocol="http"}', c.httpRateLimited],
    ['{protocol="udp"}', c.udpRateLimited],
    ['{protocol="websocket"}', c.wsRateLimited],
  ]);
  metric("buntracker_websocket_connections", "gauge", "Open WebTorrent (WebSocket) connections.", [
    ["", ctx.wsConnections()],
  ]);
  metric(
    "buntracker_websocket_refused_connections_total",
    "counter",
    "WebSocket connections refused: too many from one address.",
    [["", c.wsRefusedConnections]],
  );
  metric(
    "buntracker_websocket_relayed_total",
    "counter",
    "WebRTC offers and answers passed between WebTorrent peers.",
    [
      ['{kind="offer"}', c.wsOffersRelayed],
      ['{kind="answer"}', c.wsAnswersRelayed],
    ],
  );
  metric(
    "buntracker_websocket_answers_dropped_total",
    "counter",
    "Answers not passed on: sender or addressee not in the torrent.",
    [["", c.wsAnswersDropped]],
  );
  metric(
    "buntracker_api_answers_total",
    "counter",
    "Statistics API answers, built or served from the one-second cache.",
    [
      ['{source="built"}', cache.builds],
      ['{source="cache"}', cache.hits],
    ],
  );
  metric("buntracker_full_scrapes_total", "counter", "Full scrapes served.", [["", c.fullScrapes]]);
  metric(
    "buntracker_announce_interval_seconds",
    "gauge",
    `Announce interval sent to clients before jitter (${ctx.interval.mode} mode).`,
    [["", Math.round(ctx.interval.intervalS)]],
  );
  metric(
    "buntracker_interval_load",
    "gauge",
    "Smoothed load that drives the adaptive interval (1 = busy); 0 in fixed mode.",
    [["", round3(ctx.interval.load)]],
  );
  metric("buntracker_torrents", "gauge", "Torrents with peers.", [["", s.torrents]]);
  metric("buntracker_dormant_torrents", "gauge", "Torrents without peers kept for their all-time completion count.", [
    ["", s.dormant],
  ]);
  metric("buntracker_limit_refused_total", "counter", "Announces refused because a store limit was reached.", [
    ['{limit="torrents"}', s.refusedTorrents],
    ['{limit="peers"}', s.refusedPeers],
    ['{limit="source"}', s.refusedSource],
  ]);
  metric(
    "buntracker_evicted_peers_total",
    "counter",
    "Peers evicted to make room in a torrent at --max-peers-per-torrent.",
    [["", s.evictedPeers]],
  );
  metric("buntracker_early_announces_total", "counter", "Announces (without an event) sooner than the min interval.", [
    ["", s.earlyAnnounces],
  ]);
  metric("buntracker_peers", "gauge", "Peers by address family (WebRTC peers of WebTorrent as websocket).", [
    ['{family="ipv4"}', s.peers4],
    ['{family="ipv6"}', s.peers6],
    ['{family="websocket"}', s.peersRtc],
  ]);
  metric("buntracker_seeders", "gauge", "Peers with nothing left to download.", [["", s.seeders]]);
  metric("buntracker_leechers", "gauge", "Peers still downloading.", [["", s.leechers]]);
  metric("buntracker_completed_total", "counter", "Completed downloads counted since start.", [["", s.completed]]);
  const clients: [string, number][] = [];
  for (let tag = 0; tag < CLIENT_NAMES.length; tag++) {
    if (s.peersByClient[tag] > 0) clients.push([CLIENT_NAMES[tag], s.peersByClient[tag]]);
  }
  clients.sort((a, b) => b[1] - a[1]);
  const other = clients.slice(CLIENT_SERIES).reduce((a, [, n]) => a + n, 0);
  const series = clients
    .slice(0, CLIENT_SERIES)
    .map(([name, n]): [string, number] => [`{client="${escapeLabel(name)}"}`, n]);
  if (other > 0) series.push(['{client="other"}', other]);
  metric(
    "buntracker_peers_by_client",
    "gauge",
    `Peers by BitTorrent client (top ${CLIENT_SERIES}, the rest as "other").`,
    series,
  );
  metric(
    "buntracker_expiry_sweep_seconds",
    "summary",
    "Time spent in expiry sweeps (one slice of torrent ids per sweep).",
    [
      ["_sum", sweep.seconds],
      ["_count", sweep.runs],
    ],
  );
  metric("buntracker_expiry_sweep_last_seconds", "gauge", "Duration of the latest expiry sweep.", [
    ["", sweep.lastSeconds],
  ]);
  metric("buntracker_expired_peers_total", "counter", "Peers dropped for not announcing within the peer timeout.", [
    ["", sweep.peersExpired],
  ]);
  metric(
    "buntracker_dropped_torrents_total",
    "counter",
    "Torrents forgotten by the expiry sweep after their last peer left.",
    [["", sweep.torrentsDropped]],
  );
  const faults: [string, number][] = [...faultCounts].map(([where, n]) => [`{where="${escapeLabel(where)}"}`, n]);
  metric(
    "buntracker_unexpected_errors_total",
    "counter",
    "Exceptions caught at a timer or socket boundary (bugs); the tracker kept serving.",
    faults,
  );
  metric("buntracker_threads", "gauge", "Threads serving the ports (--workers), the main thread included.", [
    ["", threads.running],
  ]);
  metric("buntracker_thread_restarts_total", "counter", "Worker threads that died and were started again.", [
    ["", threads.restarts],
  ]);
  const mesh: [string, number][] = [];
  threads.mesh.forEach((m, worker) => {
    if (m === null) return;
    mesh.push([`{worker="${worker}",outcome="handed"}`, m.handed]);
    mesh.push([`{worker="${worker}",outcome="answered"}`, m.answered]);
    mesh.push([`{worker="${worker}",outcome="dropped"}`, m.dropped]);
  });
  const read: [string, number][] = [];
  threads.counters.forEach((c, worker) => {
    if (c === null) return;
    read.push([`{worker="${worker}",protocol="udp"}`, c.udpConnect + c.udpAnnounce + c.udpScrape]);
    read.push([`{worker="${worker}",protocol="http"}`, c.httpAnnounce + c.httpScrape]);
    read.push([`{worker="${worker}",protocol="websocket"}`, c.wsAnnounce + c.wsScrape]);
  });
  metric(
    "buntracker_thread_requests_total",
    "counter",
    "Tracker requests each thread read (connects, announces, scrapes): how evenly the kernel spreads the load.",
    read,
  );
  metric(
    "buntracker_thread_handoffs_total",
    "counter",
    "Requests for another thread's torrents: handed to their owner, answered for another thread, dropped (no room or no reply).",
    mesh,
  );
  metric(
    "buntracker_event_loop_lag_seconds",
    "gauge",
    "Worst event-loop lag of the last 5 seconds (how late a 1 s timer fired).",
    [["", round3(ops.lag.worstMs / 1000)]],
  );
  const state = ops.stateFile;
  if (state !== null) {
    metric("buntracker_state_saves_total", "counter", "State file snapshots written since start.", [["", state.saves]]);
    metric(
      "buntracker_state_save_failures_total",
      "counter",
      "State file saves that failed (the file on disk stays the previous one).",
      [["", state.saveFailures]],
    );
    metric(
      "buntracker_state_last_save_timestamp_seconds",
      "gauge",
      "Unix time of the last state file save that succeeded; 0 before the first.",
      [["", state.lastSaveAt]],
    );
    metric(
      "buntracker_state_last_save_duration_seconds",
      "gauge",
      "Duration of the last state file save that succeeded.",
      [["", round3(state.lastSaveSeconds)]],
    );
  }
  const pair = ops.tls();
  if (pair !== null) {
    metric(
      "buntracker_tls_certificate_expiry_timestamp_seconds",
      "gauge",
      "Unix time at which the TLS certificate in service expires (notAfter).",
      [["", Math.floor(pair.notAfter.getTime() / 1000)]],
    );
  }
  if (ops.cluster != null) clusterMetrics(metric, ops.cluster, s);
  const mem = process.memoryUsage();
  metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", [
    ["", PROCESS_START_SECONDS],
  ]);
  metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", [
    ["", round3(cpuSeconds())],
  ]);
  metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [["", mem.rss]]);
  const fds = openFds();
  if (fds !== null) metric("process_open_fds", "gauge", "Number of open file descriptors.", [["", fds]]);
  const limit = maxFds();
  if (limit !== null) metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", [["", limit]]);
  metric("buntracker_heap_used_bytes", "gauge", "JavaScript heap in use, bytes.", [["", mem.heapUsed]]);
  metric("buntracker_uptime_seconds", "gauge", "Seconds since the tracker started.", [["", ctx.now() - ctx.startedAt]]);
  const build = `{version="${escapeLabel(ctx.version)}",commit="${escapeLabel(buildCommit())}"}`;
  metric("buntracker_build_info", "gauge", "Build information: the version and the commit it was built from.", [
    [build, 1],
  ]);
  return out.join("\n") + "\n";
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

type Emit = (name: string, type: "counter" | "gauge" | "summary", help: string, samples: [string, number][]) => void;

/** Cluster mode's metrics (docs/cluster.md lists them). */
function clusterMetrics(metric: Emit, c: ClusterSource, store: ApiContext["store"]): void {
  const per = (f: (e: ClusterSource["engines"][number]) => number): [string, number][] =>
    c.engines.map((e) => [`{engine="${escapeLabel(e.name)}"}`, f(e)]);
  metric(
    "buntracker_cluster_engine_up",
    "gauge",
    "1 while the engine node is connected, 0 while it is not.",
    per((e) => (e.up ? 1 : 0)),
  );
  metric(
    "buntracker_cluster_engine_errors_total",
    "counter",
    "Engine batches that failed (connection lost, timeout, error reply).",
    per((e) => e.errors),
  );
  metric(
    "buntracker_cluster_engine_connects_total",
    "counter",
    "Connections made to the engine node (the first and every reconnection).",
    per((e) => e.connects),
  );
  const s = c.stats;
  metric("buntracker_cluster_syncs_total", "counter", "Syncs run (publish changes, read the other instances').", [
    ["", s.syncs],
  ]);
  metric("buntracker_cluster_batches_total", "counter", "Pipelined command batches sent to the engine.", [
    ["", s.batches],
  ]);
  metric("buntracker_cluster_commands_total", "counter", "Commands sent to the engine.", [["", s.commands]]);
  metric(
    "buntracker_cluster_last_sync_timestamp_seconds",
    "gauge",
    "Unix time of the last sync every engine node answered; 0 before the first.",
    [["", Math.floor(s.lastSyncAtMs / 1000)]],
  );
  const lag = syncLagMs(c);
  metric(
    "buntracker_cluster_sync_lag_seconds",
    "gauge",
    "Seconds since the last sync every engine node answered (-1 before the first).",
    [["", Number.isFinite(lag) ? round3(lag / 1000) : -1]],
  );
  metric("buntracker_cluster_sync_duration_seconds", "gauge", "Duration of the last sync.", [
    ["", round3(s.lastSyncMs / 1000)],
  ]);
  metric(
    "buntracker_cluster_instances",
    "gauge",
    "Instances alive in the cluster (heartbeat seen), this one included.",
    [["", c.instances.length + 1]],
  );
  // Each instance's own figures: this one's from its store, the others' from their last heartbeat.
  const figures = [
    { id: c.instanceId, peers: store.peers, seeders: store.seeders, completed: store.completed },
    ...c.instances,
  ];
  const each = (f: (i: (typeof figures)[number]) => number): [string, number][] =>
    figures.map((i) => [`{instance="${escapeLabel(i.id)}"}`, f(i)]);
  metric(
    "buntracker_cluster_instance_peers",
    "gauge",
    "Peers each instance holds itself (label instance).",
    each((i) => i.peers),
  );
  metric(
    "buntracker_cluster_instance_seeders",
    "gauge",
    "Seeders each instance holds itself.",
    each((i) => i.seeders),
  );
  metric(
    "buntracker_cluster_instance_completed",
    "gauge",
    "Completions each instance has counted itself (all-time).",
    each((i) => i.completed),
  );
  metric("buntracker_cluster_remote_peers", "gauge", "Other instances' peers (as this one holds them), by role.", [
    ['{role="seeder"}', c.view.remoteSeeders],
    ['{role="leecher"}', c.view.remoteLeechers],
  ]);
  metric("buntracker_cluster_remote_completed", "gauge", "Other instances' completions (as this one holds them).", [
    ["", c.view.remoteDownloaded],
  ]);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
