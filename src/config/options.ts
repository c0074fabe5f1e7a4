// The one table of options. Each entry names its key (snake_case; the flag --kebab-case and the environment
// variable BUNTRACKER_UPPER_CASE derive from it, and a config file would use it as is), the Config field it
// fills, its kind of value (parser and range), its default or the rule that derives it, its help text and its
// group. The parser, --help, --check-config, --config files and docs/options.md all read this table;
// cross-option rules are in rules.ts.
//
// Adding an option: a field in Config (config.ts), one entry here (value types in value-types.ts), a rule in
// rules.ts if it constrains another option (with a case in test/config/rules.test.ts), then
// `bun scripts/gen-options-doc.ts` to refresh docs/options.md.

import { dirname, join } from "node:path";
import type { Config } from "./config.ts";
import type { PlatformDefaults } from "./platform.ts";
import { hostname } from "node:os";
import {
  cidrList,
  engineUrls,
  int,
  intOrAuto,
  listen,
  listenOrOff,
  optionalListen,
  oneOf,
  onOff,
  keyName,
  path,
  secret,
  type ValueType,
} from "./value-types.ts";

export const GROUPS = ["Listeners", "Announces", "Limits", "Access and admin", "Files and logging", "Cluster"] as const;
export type Group = (typeof GROUPS)[number];

/** What a derived default may look at: other fields (resolved on demand), options given, the platform. */
export interface DefaultContext {
  get<F extends keyof Config>(field: F): Config[F];
  /** The option's text and where it came from; undefined when it was not given. */
  given(key: string): { text: string; from: string } | undefined;
  platform: PlatformDefaults;
}

export interface Option {
  key: string;
  flag: string; // "--listen"
  env: string; // "BUNTRACKER_LISTEN"
  /** null: an alias that only feeds other options' defaults (see `blacklist`). */
  field: keyof Config | null;
  /** An alias: the options whose defaults it sets (so --check-config can say where they came from). */
  sets?: readonly string[];
  group: Group;
  /** Placeholder for the value in --help and the docs. */
  value: string;
  type: ValueType<unknown>;
  default: (ctx: DefaultContext) => unknown;
  /** The default as a user reads it in --help and the docs; null: none to show. */
  defaultText: string | null;
  help: string;
}

interface Entry<F extends keyof Config> {
  value: string;
  type: ValueType<Config[F]>;
  /** A value, or a rule deriving it from other settings. */
  default: Config[F] | ((ctx: DefaultContext) => Config[F]);
  defaultText: string | null;
  help: string;
}

const flagOf = (key: string) => `--${key.replaceAll("_", "-")}`;
const envOf = (key: string) => `BUNTRACKER_${key.toUpperCase()}`;

function option<F extends keyof Config>(key: string, field: F, group: Group, e: Entry<F>): Option {
  const d = e.default;
  return {
    key,
    flag: flagOf(key),
    env: envOf(key),
    field,
    group,
    value: e.value,
    type: e.type as ValueType<unknown>,
    default: typeof d === "function" ? (d as (ctx: DefaultContext) => unknown) : () => d,
    defaultText: e.defaultText,
    help: e.help,
  };
}

// Sized so a worst case (every torrent with few peers) stays well under 1 GB. Measured at these limits (every
// torrent with 8 peers, store filled in-process, growth after GC): 102 MiB with IPv4 peers, 176 MiB with IPv6.
// README "Limits" has the figures.
const MAX_TORRENTS = 500_000;
const MAX_PEERS_PER_TORRENT = 200_000;
const MAX_PEERS = 4_000_000;
const INTERVAL = 1800;
const PEER_TIMEOUT = 3000;
const DEFAULT_NUMWANT = 50;
// bittorrent-tracker and aquatic_ws both send 120 s: offers are only good for a short while.
const WS_INTERVAL = 120;
/** A peer is in the other instances' answers within about two sync periods. */
const CLUSTER_SYNC_MS = 1000;
/** Our trend history's file beside an imported Rustracker one, when --trends-file is not given. */
const RUSTRACKER_IMPORT_TRENDS_FILE = "buntracker-trends.jsonl";

export const OPTIONS: readonly Option[] = [
  // Listeners
  option("listen", "listen", "Listeners", {
    value: "HOST:PORT",
    type: listen,
    default: { host: "::", port: 6969 },
    defaultText: "[::]:6969",
    help: "HTTP address, and UDP's unless --udp-listen is given. Also [IPv6]:PORT, :PORT or a bare PORT (meaning [::]:PORT); [::] is dual stack; port 0 picks a free port.",
  }),
  option("udp_listen", "udpListen", "Listeners", {
    value: "HOST:PORT|off",
    type: listenOrOff,
    default: (c) => ({ ...c.get("listen") }),
    defaultText: "the --listen address",
    help: "UDP (BEP 15) address, or off for HTTP only.",
  }),
  option("tls_cert", "tlsCert", "Listeners", {
    value: "PATH",
    type: path,
    default: null,
    defaultText: null,
    help: "Certificate chain (PEM) for HTTPS and WSS; reloaded when the file changes and on SIGHUP. Needs --tls-key.",
  }),
  option("tls_key", "tlsKey", "Listeners", {
    value: "PATH",
    type: path,
    default: null,
    defaultText: null,
    help: "Private key (PEM, unencrypted) for --tls-cert.",
  }),
  option("tls_listen", "tlsListen", "Listeners", {
    value: "HOST:PORT",
    type: optionalListen,
    default: null,
    defaultText: "none (--listen itself speaks TLS when --tls-cert is given)",
    help: "Serve HTTPS/WSS on this address and keep --listen plain HTTP.",
  }),
  option("admin_listen", "adminListen", "Listeners", {
    value: "HOST:PORT",
    type: optionalListen,
    default: null,
    defaultText: "none (everything on --listen)",
    help: "Private plain-HTTP listener for operators: the admin API, /metrics, the dashboard and a /healthz that checks the UDP socket, event-loop lag, the state file's folder and (--workers) that every thread serves (503 with the reason). When set, the admin API and /metrics answer 404 on the public port. Keep it on a private address (127.0.0.1:6970).",
  }),
  option("public_stats", "publicStats", "Listeners", {
    value: "on|off",
    type: onOff,
    default: true,
    defaultText: "on",
    help: "Serve the dashboard and its read-only JSON (/api/stats, ...) on the public port too; off: only on --admin-listen (if set).",
  }),
  option("websocket", "websocket", "Listeners", {
    value: "on|off",
    type: onOff,
    default: true,
    defaultText: "on",
    help: "WebTorrent tracker: accept WebSocket connections (ws://HOST:PORT/announce) on the HTTP port.",
  }),
  option("workers", "workers", "Listeners", {
    value: "N|auto",
    type: intOrAuto(1, 256),
    default: "auto",
    defaultText: "auto",
    help: "Threads serving the ports, each with a share of the torrents (one store, split by info hash); auto = the CPUs this process may use. Windows: 1 (no SO_REUSEPORT).",
  }),
  option("udp_steering", "udpSteering", "Listeners", {
    value: "on|off",
    type: onOff,
    default: true,
    defaultText: "on",
    help: "With --workers on Linux: the kernel delivers each UDP announce and scrape to the thread that owns its torrent (a classic BPF program on the shared port), so it is not handed between threads; off: spread by sender.",
  }),

  // Announces
  option("interval_secs", "intervalS", "Announces", {
    value: "N",
    type: int(1, 86400),
    default: INTERVAL,
    defaultText: String(INTERVAL),
    help: "Announce interval sent to clients (±10% jitter); the high bound in adaptive mode.",
  }),
  option("interval_mode", "intervalMode", "Announces", {
    value: "fixed|adaptive",
    type: oneOf("fixed", "adaptive"),
    default: "fixed",
    defaultText: "fixed",
    help: "fixed: always --interval-secs; adaptive: from --min-interval-secs (idle) up to --interval-secs (busy) with the request rate and event-loop lag.",
  }),
  option("adaptive_busy_rate", "adaptiveBusyRate", "Announces", {
    value: "N",
    type: int(1, 100_000_000),
    default: 50_000,
    defaultText: "50000",
    help: "Requests per second (all protocols) at which the adaptive interval reaches --interval-secs.",
  }),
  option("min_interval_secs", "minIntervalS", "Announces", {
    value: "N",
    type: int(1, 86400),
    default: (c) => Math.max(1, Math.floor(c.get("intervalS") / 2)),
    defaultText: "half the interval",
    help: "Min interval sent to clients: they should not announce more often. At most the interval.",
  }),
  option("peer_timeout_secs", "peerTimeoutS", "Announces", {
    value: "N",
    type: int(1, 7 * 86400),
    default: (c) => Math.max(PEER_TIMEOUT, c.get("intervalS")),
    defaultText: `${PEER_TIMEOUT} (or the interval, if longer)`,
    help: "Drop peers silent this long. At least the interval.",
  }),
  option("default_numwant", "defaultNumWant", "Announces", {
    value: "N",
    type: int(1, 1000),
    default: (c) => Math.min(DEFAULT_NUMWANT, c.get("maxNumWant")),
    defaultText: `${DEFAULT_NUMWANT} (at most --max-numwant)`,
    help: "Peers returned when a client does not say how many it wants (or sends a negative number). At most --max-numwant.",
  }),
  option("max_numwant", "maxNumWant", "Announces", {
    value: "N",
    type: int(1, 1000),
    default: 200,
    defaultText: "200",
    help: "Most peers in one reply; UDP replies also stay within 1232 bytes.",
  }),
  option("ws_interval_secs", "wsIntervalS", "Announces", {
    value: "N",
    type: int(10, 86400),
    default: (c) => Math.min(WS_INTERVAL, c.get("intervalS")),
    defaultText: `${WS_INTERVAL} (at most --interval-secs)`,
    help: "Announce interval sent to WebTorrent clients (their offers go stale fast).",
  }),
  option("full_scrape", "fullScrape", "Announces", {
    value: "on|off",
    type: onOff,
    default: false,
    defaultText: "off",
    help: "Answer /scrape without info_hash with every torrent (cached, gzip, once per 5 minutes per address).",
  }),

  // Limits
  option("max_torrents", "maxTorrents", "Limits", {
    value: "N",
    type: int(1, 100_000_000),
    default: MAX_TORRENTS,
    defaultText: String(MAX_TORRENTS),
    help: "Most torrents kept; a new one beyond that is refused (idle ones with completions go first).",
  }),
  option("max_peers_per_torrent", "maxPeersPerTorrent", "Limits", {
    value: "N",
    type: int(1, 100_000_000),
    default: MAX_PEERS_PER_TORRENT,
    defaultText: String(MAX_PEERS_PER_TORRENT),
    help: "Most peers in one torrent; a newcomer replaces a long-silent peer.",
  }),
  option("max_peers", "maxPeers", "Limits", {
    value: "N",
    type: int(1, 1_000_000_000),
    default: MAX_PEERS,
    defaultText: String(MAX_PEERS),
    help: "Most peers in all; newcomers beyond that are refused.",
  }),
  option("source_share", "sourceShare", "Limits", {
    value: "PERCENT",
    type: int(1, 100),
    // 80,000 peers and 10,000 new torrents per source at the default limits: room for a university or a
    // carrier-grade NAT, and 50 sources are needed to fill the tracker.
    default: 2,
    defaultText: "2",
    help: "Most of --max-peers one IPv4 address or IPv6 /48 may hold (WebRTC peers: their WebSocket connection's), and of --max-torrents it may start; new peers beyond are refused; --rate-limit-exempt sources are not bound; 100 = no bound.",
  }),
  option("rate_limit", "rateLimit", "Limits", {
    value: "N",
    type: int(0, 1_000_000),
    default: 20,
    defaultText: "20",
    help: "Requests per second allowed per IPv4 address or IPv6 /64 (HTTP, UDP and WebSocket messages together); 0 = off.",
  }),
  option("rate_burst", "rateBurst", "Limits", {
    value: "N",
    type: int(1, 1_000_000),
    default: 200,
    defaultText: "200",
    help: "Requests a source may send at once before --rate-limit applies.",
  }),
  option("rate_limit_exempt", "rateLimitExempt", "Limits", {
    value: "CIDR[,CIDR...]",
    type: cidrList,
    default: () => cidrList.parse("127.0.0.0/8,::1") as Config["rateLimitExempt"],
    defaultText: "127.0.0.0/8,::1",
    help: 'Sources never rate limited ("" for none).',
  }),
  option("ws_max_sockets_per_ip", "wsMaxSocketsPerIp", "Limits", {
    value: "N",
    type: int(1, 1_000_000),
    // A household or office behind one address may have a few browser tabs open on WebTorrent sites each.
    default: 32,
    defaultText: "32",
    help: "Open WebSocket connections allowed per IPv4 address or IPv6 /64; more get HTTP 429.",
  }),

  // Access and admin
  option("access_mode", "accessMode", "Access and admin", {
    value: "off|deny|allow",
    type: oneOf("off", "deny", "allow"),
    default: (c) => (c.given("blacklist") !== undefined ? "deny" : "off"),
    defaultText: "off",
    help: "Serve every torrent (off), all but those in --access-list (deny), or only those (allow).",
  }),
  option("access_list", "accessList", "Access and admin", {
    value: "PATH",
    type: path,
    default: (c) => c.given("blacklist")?.text ?? null,
    defaultText: null,
    help: "Info hashes for --access-mode, one 40-hex hash per line, # comments; reloaded when it changes and on SIGHUP.",
  }),
  {
    key: "blacklist",
    flag: flagOf("blacklist"),
    env: envOf("blacklist"),
    field: null,
    sets: ["access_mode", "access_list"],
    group: "Access and admin",
    value: "PATH",
    type: path as ValueType<unknown>,
    default: () => null,
    defaultText: null,
    help: "Short for --access-mode deny --access-list PATH.",
  },
  option("admin_token", "adminToken", "Access and admin", {
    value: "TOKEN",
    type: secret,
    default: null,
    defaultText: null,
    help: "Enables the admin API (/api/blacklist) for requests with Authorization: Bearer TOKEN (at least 16 characters).",
  }),
  option("admin_token_file", "adminTokenFile", "Access and admin", {
    value: "PATH",
    type: path,
    default: null,
    defaultText: null,
    help: "Like --admin-token, with the token read from this file at start (keeps it out of the process list).",
  }),
  option("trust_proxy", "trustProxy", "Access and admin", {
    value: "CIDR[,CIDR...]",
    type: cidrList,
    default: null,
    defaultText: null,
    help: "Reverse proxies whose X-Forwarded-For / X-Real-IP / CF-Connecting-IP headers are believed.",
  }),

  // Files and logging
  option("log_level", "logLevel", "Files and logging", {
    value: "LEVEL",
    type: oneOf("error", "warn", "info", "debug"),
    default: "info",
    defaultText: "info",
    help: "error, warn, info or debug. Logs are JSON lines on stdout (led by their syslog priority, <3> to <7>, when stdout is the systemd journal). On Unix, a change in the --config file applies on SIGHUP.",
  }),
  option("log_file", "logFile", "Files and logging", {
    value: "PATH",
    type: path,
    default: null,
    defaultText: "stdout",
    help: "Write the log to this file instead (its folder is created if missing). At 10 MiB it is renamed to PATH.1 (replacing the one before) and started over; reopened on SIGHUP.",
  }),
  option("trends_file", "trendsFile", "Files and logging", {
    value: "PATH",
    type: path,
    // Importing needs a file of our own, or every start would import again.
    default: (c) => {
      const imported = c.given("import_rustracker_trends")?.text;
      return c.platform.trendsFile ?? (imported ? join(dirname(imported), RUSTRACKER_IMPORT_TRENDS_FILE) : null);
    },
    defaultText:
      `memory only; with --import-rustracker-trends: ${RUSTRACKER_IMPORT_TRENDS_FILE} in that file's folder; ` +
      "a compiled Windows .exe: %ProgramData%\\buntracker\\trends.jsonl",
    help: "Keep the dashboard's 7-day trend and client history in this JSONL file across restarts (its folder is created if missing).",
  }),
  option("import_rustracker_trends", "importRustrackerTrends", "Files and logging", {
    value: "PATH",
    type: path,
    default: null,
    defaultText: null,
    help:
      "Rustracker's trends.jsonl (its --trends-file; top_clients.jsonl is read from the same folder): its history " +
      "is imported at start when the --trends-file history is empty or absent, so only once. Rustracker's files " +
      "are only read.",
  }),
  option("state_file", "stateFile", "Files and logging", {
    value: "PATH",
    type: path,
    default: null,
    defaultText: null,
    help: "Save swarms and all-time completion counts here every 5 minutes and at shutdown; restored at start.",
  }),

  // Cluster
  option("redis", "redis", "Cluster", {
    value: "URL[,URL...]",
    type: engineUrls,
    default: null,
    defaultText: "none (standalone)",
    help: "Cluster mode: share swarms and completion counts with the other instances through these Redis or Valkey servers (redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss:// for TLS); several URLs split the torrents between them. See docs/cluster.md.",
  }),
  option("cluster_sync_ms", "clusterSyncMs", "Cluster", {
    value: "MS",
    type: int(50, 60_000),
    default: CLUSTER_SYNC_MS,
    defaultText: String(CLUSTER_SYNC_MS),
    help: "Cluster mode: publish local changes and read the other instances' every this many milliseconds. A peer announced to one instance is in the others' answers within about two periods.",
  }),
  option("cluster_instance_id", "clusterInstanceId", "Cluster", {
    value: "NAME",
    type: keyName(100),
    default: (c) => `${hostname().replace(/[^A-Za-z0-9_.-]/g, "_") || "host"}-${c.get("listen").port}`,
    defaultText: "HOSTNAME-PORT (the --listen port)",
    help: "Cluster mode: this instance's name in the engine; keep it across restarts (its completion counts are read back under it), and unique: two live instances must not share one.",
  }),
  option("cluster_key_prefix", "clusterKeyPrefix", "Cluster", {
    value: "PREFIX",
    type: keyName(40),
    default: "bt",
    defaultText: "bt",
    help: "Cluster mode: the prefix of every engine key, so several clusters can share one engine.",
  }),
];

export const OPTION_BY_FLAG: ReadonlyMap<string, Option> = new Map(OPTIONS.map((o) => [o.flag, o]));
export const OPTION_BY_KEY: ReadonlyMap<string, Option> = new Map(OPTIONS.map((o) => [o.key, o]));
