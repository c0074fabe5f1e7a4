// Command line + BUNTRACKER_* environment -> Config. Pure: argv and env are passed in. The command line
// wins over the environment; every bad value yields one line naming the flag, the value and what is allowed.

import type { AccessMode } from "../core/access.ts";
import { CidrSet } from "../core/cidr.ts";
import { type Config, DEFAULTS, type ListenAddress, type LogLevel } from "./config.ts";
import type { PlatformDefaults } from "./platform.ts";

export type ParseResult =
  | { kind: "run"; config: Config }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

interface FlagSpec {
  name: string;
  value: string; // placeholder shown in help
  help: string;
}

/** Every flag that takes a value, in help order. The environment twin is BUNTRACKER_<NAME_IN_CAPS>. */
export const FLAGS: readonly FlagSpec[] = [
  { name: "listen", value: "HOST:PORT", help: `HTTP address, and UDP's unless --udp-listen is given. A bare PORT means [::]:PORT (dual stack). Default [::]:${DEFAULTS.listen.port}` },
  { name: "udp-listen", value: "HOST:PORT|off", help: "UDP (BEP 15) address, or off. Default: the --listen address" },
  { name: "interval-secs", value: "N", help: `announce interval sent to clients. Default ${DEFAULTS.intervalS}` },
  { name: "interval-mode", value: "fixed|adaptive", help: "fixed: always --interval-secs; adaptive: from --min-interval-secs (idle) up to --interval-secs (busy) with request rate and event-loop lag. Replies add ±10% jitter either way. Default fixed" },
  { name: "adaptive-busy-rate", value: "N", help: `requests per second (all protocols) at which the adaptive interval reaches --interval-secs. Default ${DEFAULTS.adaptiveBusyRate}` },
  { name: "min-interval-secs", value: "N", help: "min interval sent to clients (at most the interval). Default: half the interval" },
  { name: "peer-timeout-secs", value: "N", help: `drop peers silent this long (at least the interval). Default ${DEFAULTS.peerTimeoutS}` },
  { name: "default-numwant", value: "N", help: `peers returned when a client does not ask for a number. Default ${DEFAULTS.defaultNumWant}` },
  { name: "max-numwant", value: "N", help: `most peers returned per announce (1-1000); UDP replies also stay within 1232 bytes. Default ${DEFAULTS.maxNumWant}` },
  { name: "log-level", value: "LEVEL", help: `error, warn, info or debug. Default ${DEFAULTS.logLevel}` },
  { name: "trends-file", value: "PATH", help: "keep the dashboard's 7-day trend history in this JSONL file across restarts. Default: memory only; a compiled Windows .exe: %ProgramData%\\buntracker\\trends.jsonl" },
  { name: "access-mode", value: "off|deny|allow", help: "serve every torrent (off), all but those in --access-list (deny), or only those (allow). Default off" },
  { name: "access-list", value: "PATH", help: "info hashes for --access-mode, one 40-hex hash per line, # comments; reloaded when it changes and on SIGHUP" },
  { name: "blacklist", value: "PATH", help: "short for --access-mode deny --access-list PATH" },
  { name: "admin-token", value: "TOKEN", help: "enables the admin API (/api/blacklist) for requests with Authorization: Bearer TOKEN" },
  { name: "admin-token-file", value: "PATH", help: "like --admin-token, with the token read from a file (keeps it out of the process list)" },
  { name: "trust-proxy", value: "CIDR[,CIDR...]", help: "reverse proxies whose X-Forwarded-For / X-Real-IP / CF-Connecting-IP and ip= are believed. Default: none" },
  { name: "max-torrents", value: "N", help: `most torrents kept; a new one beyond that is refused (idle ones with completions go first). Default ${DEFAULTS.maxTorrents}` },
  { name: "max-peers-per-torrent", value: "N", help: `most peers in one torrent; a newcomer replaces a long-silent peer. Default ${DEFAULTS.maxPeersPerTorrent}` },
  { name: "max-peers", value: "N", help: `most peers in all; newcomers beyond that are refused. Default ${DEFAULTS.maxPeers}` },
  { name: "source-share", value: "PERCENT", help: `most of --max-peers one IPv4 address or IPv6 /48 may hold (WebRTC peers: their WebSocket connection's), and of --max-torrents it may start; new peers beyond are refused, --rate-limit-exempt sources are not bound; 100 = no bound. Default ${DEFAULTS.sourceShare}` },
  { name: "rate-limit", value: "N", help: `requests per second allowed per IPv4 address or IPv6 /64 (HTTP, UDP and WebSocket messages together); 0 = off. Default ${DEFAULTS.rateLimit}` },
  { name: "rate-burst", value: "N", help: `requests a source may send at once before --rate-limit applies. Default ${DEFAULTS.rateBurst}` },
  { name: "rate-limit-exempt", value: "CIDR[,CIDR...]", help: `sources never rate limited ("" for none). Default ${DEFAULTS.rateLimitExempt}` },
  { name: "full-scrape", value: "on|off", help: "answer /scrape without info_hash with every torrent (cached, gzip, once per 5 minutes per address). Default off" },
  { name: "tls-cert", value: "PATH", help: "certificate chain (PEM) for HTTPS and WSS; reloaded when the file changes and on SIGHUP. Needs --tls-key" },
  { name: "tls-key", value: "PATH", help: "private key (PEM, unencrypted) for --tls-cert" },
  { name: "tls-listen", value: "HOST:PORT", help: "serve HTTPS/WSS on this address and keep --listen plain HTTP. Default: --listen itself speaks TLS when --tls-cert is given" },
  { name: "websocket", value: "on|off", help: "WebTorrent tracker: accept WebSocket connections (ws://HOST:PORT/announce) on the HTTP port. Default on" },
  { name: "ws-interval-secs", value: "N", help: `announce interval sent to WebTorrent clients (their offers go stale fast). Default ${DEFAULTS.wsIntervalS}` },
  { name: "ws-max-sockets-per-ip", value: "N", help: `open WebSocket connections allowed per IPv4 address or IPv6 /64. Default ${DEFAULTS.wsMaxSocketsPerIp}` },
  { name: "state-file", value: "PATH", help: "save swarms and all-time completion counts here every 5 minutes and at shutdown; restored at start. Default: none" },
];

export function envName(flag: string): string {
  return `BUNTRACKER_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** `platform`: defaults that depend on where the tracker runs (see platform.ts); none when not given. */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: PlatformDefaults = { trendsFile: null },
): ParseResult {
  const values = new Map<string, { value: string; from: string }>();
  for (const f of FLAGS) {
    const v = env[envName(f.name)];
    if (v !== undefined && v !== "") values.set(f.name, { value: v, from: envName(f.name) });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return { kind: "help" };
    if (arg === "--version" || arg === "-V") return { kind: "version" };
    if (!arg.startsWith("--")) return { kind: "error", message: `unexpected argument "${arg}" (see --help)` };
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!FLAGS.some((f) => f.name === name)) return { kind: "error", message: `unknown option --${name} (see --help)` };
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) return { kind: "error", message: `--${name} needs a value` };
      value = argv[++i];
    }
    values.set(name, { value, from: `--${name}` });
  }
  try {
    return { kind: "run", config: build(values, platform) };
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "error", message: e.message };
    throw e;
  }
}

class ConfigError extends Error {}

function build(values: Map<string, { value: string; from: string }>, platform: PlatformDefaults): Config {
  const get = (name: string) => values.get(name);
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    if (!/^[0-9]+$/.test(v.value) || Number(v.value) < min || Number(v.value) > max) {
      throw new ConfigError(`invalid ${v.from} "${v.value}": must be an integer from ${min} to ${max}`);
    }
    return Number(v.value);
  };
  const listenV = get("listen");
  const listen = listenV === undefined ? { ...DEFAULTS.listen } : parseListen(listenV.value, listenV.from);
  const udpV = get("udp-listen");
  const udpListen =
    udpV === undefined ? { ...listen } : udpV.value === "off" ? null : parseListen(udpV.value, udpV.from);
  const intervalS = int("interval-secs", DEFAULTS.intervalS, 1, 86400);
  const minIntervalS = int("min-interval-secs", Math.max(1, Math.floor(intervalS / 2)), 1, intervalS);
  const peerTimeoutS = int("peer-timeout-secs", Math.max(DEFAULTS.peerTimeoutS, intervalS), intervalS, 7 * 86400);
  const maxNumWant = int("max-numwant", DEFAULTS.maxNumWant, 1, 1000);
  const defaultNumWant = int("default-numwant", Math.min(DEFAULTS.defaultNumWant, maxNumWant), 1, maxNumWant);
  const levelV = get("log-level");
  const logLevel = (levelV?.value ?? DEFAULTS.logLevel) as LogLevel;
  if (!["error", "warn", "info", "debug"].includes(logLevel)) {
    throw new ConfigError(`invalid ${levelV!.from} "${levelV!.value}": must be error, warn, info or debug`);
  }
  const trendsV = get("trends-file");
  const trendsFile = trendsV === undefined ? platform.trendsFile : trendsV.value;
  if (trendsFile !== null && /[\0\n]/.test(trendsFile)) throw new ConfigError(`invalid ${trendsV!.from}: not a file path`);
  return {
    listen,
    udpListen,
    intervalS,
    minIntervalS,
    peerTimeoutS,
    defaultNumWant,
    maxNumWant,
    logLevel,
    trendsFile,
    ...accessOptions(get),
    maxTorrents: int("max-torrents", DEFAULTS.maxTorrents, 1, 100_000_000),
    maxPeersPerTorrent: int("max-peers-per-torrent", DEFAULTS.maxPeersPerTorrent, 1, 100_000_000),
    maxPeers: int("max-peers", DEFAULTS.maxPeers, 1, 1_000_000_000),
    sourceShare: int("source-share", DEFAULTS.sourceShare, 1, 100),
    rateLimit: int("rate-limit", DEFAULTS.rateLimit, 0, 1_000_000),
    rateBurst: int("rate-burst", DEFAULTS.rateBurst, 1, 1_000_000),
    rateLimitExempt: cidrs(get("rate-limit-exempt"), DEFAULTS.rateLimitExempt),
    fullScrape: onOff(get("full-scrape"), false),
    ...intervalOptions(get, int),
    ...tlsOptions(get),
    websocket: onOff(get("websocket"), true),
    wsIntervalS: int("ws-interval-secs", Math.min(DEFAULTS.wsIntervalS, intervalS), 10, 86400),
    wsMaxSocketsPerIp: int("ws-max-sockets-per-ip", DEFAULTS.wsMaxSocketsPerIp, 1, 1_000_000),
    stateFile: get("state-file")?.value || null,
    ...adminTokenOptions(get),
    trustProxy: cidrs(get("trust-proxy"), ""),
  };
}

type Get = (name: string) => { value: string; from: string } | undefined;

function accessOptions(get: Get): { accessMode: AccessMode; accessList: string | null } {
  const modeV = get("access-mode");
  const listV = get("access-list");
  const blacklistV = get("blacklist");
  const mode = modeV?.value ?? (blacklistV !== undefined ? "deny" : "off");
  if (mode !== "off" && mode !== "deny" && mode !== "allow") {
    throw new ConfigError(`invalid ${modeV!.from} "${mode}": must be off, deny or allow`);
  }
  if (blacklistV !== undefined && listV !== undefined) {
    throw new ConfigError(`${blacklistV.from} and ${listV.from} both name a list: use one`);
  }
  if (blacklistV !== undefined && mode !== "deny") {
    throw new ConfigError(`${blacklistV.from} is a deny list, but ${modeV!.from} is ${mode}`);
  }
  const path = (listV ?? blacklistV)?.value ?? null;
  if (mode !== "off" && path === null) throw new ConfigError(`${modeV!.from} ${mode} needs --access-list PATH`);
  if (mode === "off" && path !== null) throw new ConfigError(`${listV!.from} needs --access-mode deny or allow`);
  return { accessMode: mode, accessList: path };
}

function intervalOptions(get: Get, int: (name: string, fallback: number, min: number, max: number) => number): Pick<Config, "intervalMode" | "adaptiveBusyRate"> {
  const modeV = get("interval-mode");
  const mode = modeV?.value ?? "fixed";
  if (mode !== "fixed" && mode !== "adaptive") throw new ConfigError(`invalid ${modeV!.from} "${mode}": must be fixed or adaptive`);
  return { intervalMode: mode, adaptiveBusyRate: int("adaptive-busy-rate", DEFAULTS.adaptiveBusyRate, 1, 100_000_000) };
}

function tlsOptions(get: Get): Pick<Config, "tlsCert" | "tlsKey" | "tlsListen"> {
  const cert = get("tls-cert");
  const key = get("tls-key");
  const listen = get("tls-listen");
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(cert === undefined ? `${key!.from} needs --tls-cert PATH too` : `${cert.from} needs --tls-key PATH too`);
  }
  if (listen !== undefined && cert === undefined) throw new ConfigError(`${listen.from} needs --tls-cert PATH and --tls-key PATH`);
  return {
    tlsCert: cert?.value ?? null,
    tlsKey: key?.value ?? null,
    tlsListen: listen === undefined ? null : parseListen(listen.value, listen.from),
  };
}

function adminTokenOptions(get: Get): { adminToken: string | null; adminTokenFile: string | null } {
  const token = get("admin-token");
  const file = get("admin-token-file");
  if (token !== undefined && file !== undefined) throw new ConfigError(`${token.from} and ${file.from} both give an admin token: use one`);
  return { adminToken: token?.value ?? null, adminTokenFile: file?.value ?? null };
}

function onOff(v: { value: string; from: string } | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (v.value === "on" || v.value === "off") return v.value === "on";
  throw new ConfigError(`invalid ${v.from} "${v.value}": must be on or off`);
}

/** A CIDR list (an empty value means none). */
function cidrs(v: { value: string; from: string } | undefined, fallback: string): CidrSet | null {
  const set = CidrSet.parse(v?.value ?? fallback);
  if (typeof set === "string") throw new ConfigError(`invalid ${v!.from}: ${set}`);
  return set.size === 0 ? null : set;
}

/** "HOST:PORT", "[IPv6]:PORT", ":PORT" or "PORT". Hosts may be names; the OS resolves them when binding. */
export function parseListen(text: string, from: string): ListenAddress {
  const fail = (): never => {
    throw new ConfigError(`invalid ${from} "${text}": expected HOST:PORT, [IPv6]:PORT or PORT`);
  };
  let host: string = DEFAULTS.listen.host;
  let portText = text;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") fail();
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else if (text.includes(":")) {
    const colon = text.lastIndexOf(":");
    if (text.slice(0, colon).includes(":")) fail(); // a bare IPv6 address needs brackets
    host = text.slice(0, colon) || DEFAULTS.listen.host;
    portText = text.slice(colon + 1);
  }
  if (host === "" || /[\s/?#@]/.test(host)) fail();
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) fail();
  return { host, port: Number(portText) };
}

export function helpText(version: string): string {
  const lines = [
    `buntracker ${version}: a BitTorrent tracker (HTTP, UDP and WebTorrent)`,
    "",
    "Usage: buntracker [options]",
    "",
    "Options (each also read from the environment variable shown; the command line wins):",
  ];
  for (const f of FLAGS) {
    lines.push(`  --${f.name} ${f.value}`.padEnd(36) + f.help);
    lines.push(`${" ".repeat(36)}env ${envName(f.name)}`);
  }
  lines.push("  -h, --help".padEnd(36) + "show this help and exit");
  lines.push("  -V, --version".padEnd(36) + "print the version and exit");
  return lines.join("\n");
}
