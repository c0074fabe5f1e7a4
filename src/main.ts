// Command-line entry: flags, BUNTRACKER_* environment and --config file -> Config -> running tracker (or, with
// --check-config, the settings printed; `healthcheck`: see server/healthcheck.ts). Bad input prints one line and
// exits 2; a listener that cannot bind exits 1; SIGINT/SIGTERM (and on Windows SIGBREAK and SIGHUP, sent when the
// console closes) shut down gracefully with exit 0; elsewhere SIGHUP reloads the access list, the TLS
// certificate and the settings (see reloadSettings).

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { networkInterfaces } from "node:os";
import { defaultsFile } from "./config/defaults-file.ts";
import { effectiveSettings } from "./config/effective.ts";
import { helpText, helpWidth } from "./config/help.ts";
import { parseArgs } from "./config/parse-args.ts";
import { platformDefaults } from "./config/platform.ts";
import { RELOADABLE, settingChanges } from "./config/reload.ts";
import { describeAlias } from "./config/rustracker-env.ts";
import { Invalid, secret } from "./config/value-types.ts";
import { startTracker } from "./server/app.ts";
import { errorText, Logger } from "./server/logger.ts";
import { LogFileError, logOutput, type LogOutput } from "./server/log-output.ts";
import { loadTlsPair, TlsFileError } from "./server/tls-files.ts";
import { AccessListError } from "./server/access-control.ts";
import { healthcheckCommand } from "./server/healthcheck.ts";
import { StateFileError } from "./server/state-file.ts";
import { TrendsFileError } from "./server/trends-file.ts";
import { VERSION, versionLine } from "./version.ts";

/** Set by `bun build --define WITH_DASHBOARD=false` for a build without the dashboard; undefined otherwise. */
declare const WITH_DASHBOARD: boolean | undefined;

if (process.argv[2] === "healthcheck") process.exit(await healthcheckCommand(process.argv.slice(3), process.env));
const platform = platformDefaults(process.platform, process.env, Bun.isStandaloneExecutable);
const parsed = parseArgs(process.argv.slice(2), process.env, platform);
if (parsed.kind === "help") {
  console.log(helpText(VERSION, helpWidth(process.stdout)));
  process.exit(0);
}
if (parsed.kind === "print-config") {
  // The defaults alone: neither the flags nor the environment of this run.
  const defaults = parseArgs([], {}, platform);
  if (defaults.kind !== "run") throw new Error("the defaults are not valid settings");
  process.stdout.write(defaultsFile(defaults.config, VERSION));
  process.exit(0);
}
if (parsed.kind === "version") {
  console.log(versionLine());
  process.exit(0);
}
/**
 * One line on stderr, then exit. A double-clicked .exe on Windows would close its window before anyone could
 * read the line, so there (and only at an interactive console) it first waits for Enter.
 */
async function fail(code: number, message: string): Promise<never> {
  process.stderr.write(`buntracker: ${message}\n`);
  if (process.platform === "win32" && process.stdin.isTTY) {
    process.stderr.write("Press Enter to close this window.\n");
    await new Promise((resolve) => process.stdin.once("data", resolve));
  }
  process.exit(code);
}

if (parsed.kind === "error") {
  await fail(2, parsed.message);
  process.exit(2); // (fail exits; this tells the type checker)
}

const config = parsed.config;
// The token file is read here (and by --check-config), so that a missing file or a short token is bad input.
let adminToken = config.adminToken;
if (config.adminTokenFile !== null) {
  try {
    adminToken = (await Bun.file(config.adminTokenFile).text()).trim();
  } catch (err) {
    await fail(
      2,
      `cannot read --admin-token-file ${config.adminTokenFile}: ${err instanceof Error ? err.message : err}`,
    );
  }
  const short = secret.parse(adminToken!);
  if (short instanceof Invalid) await fail(2, `the admin token in ${config.adminTokenFile} ${short.message}`);
}
if (parsed.kind === "check") {
  // The certificate and key are read and matched as a start would, so that a bad pair is caught here too.
  if (config.tlsCert !== null) {
    try {
      loadTlsPair(config.tlsCert, config.tlsKey!);
    } catch (err) {
      if (err instanceof TlsFileError) await fail(2, err.message);
      throw err;
    }
  }
  const dashboard = typeof WITH_DASHBOARD === "undefined" || WITH_DASHBOARD;
  console.log(effectiveSettings(config, parsed.sources, VERSION, parsed.warnings, dashboard));
  process.exit(0);
}
let output: LogOutput;
try {
  output = logOutput(config.logFile, process.env);
} catch (err) {
  if (err instanceof LogFileError) await fail(2, err.message);
  throw err;
}
const log = new Logger(config.logLevel, output!.write.bind(output!));
// One line per Rustracker variable found (never its value: one of them is the admin token).
for (const a of parsed.aliases) {
  log[a.outcome === "unsupported" ? "warn" : "info"](`config: ${describeAlias(a)}`, { variable: a.variable });
}
// The trends file's folder may not exist yet (the Windows default is in %ProgramData%). If it cannot be made,
// the trends file itself reports why and the tracker keeps its history in memory.
if (config.trendsFile !== null) await mkdir(dirname(config.trendsFile), { recursive: true }).catch(() => {});
let tracker;
try {
  tracker = await startTracker(
    config,
    log,
    adminToken,
    () => void shutdown("admin request"),
    output!.write.bind(output!),
  );
} catch (err) {
  // An unusable certificate or key, an access list that cannot be read, a state file that cannot be read or
  // saved, or a trends file in Rustracker's format, is bad input (exit 2, the file's problem in one line);
  // anything else here is a listener that could not bind (exit 1).
  const badInput = [TlsFileError, AccessListError, StateFileError, TrendsFileError];
  if (badInput.some((type) => err instanceof type)) await fail(2, (err as Error).message);
  const message = errorText(err);
  log.error("cannot start", { err: message });
  await fail(1, `cannot listen: ${message}`);
  process.exit(1);
}

// Handlers first, then the "listening" line: a signal sent as soon as it appears must find them in place.
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  await tracker!.stop();
  log.info("stopped", { torrents: tracker!.store.torrents, peers: tracker!.store.peers });
  process.exit(0);
}

// The last resort behind the per-callback boundaries (server/faults.ts): anything that still escapes is logged
// and counted the same way, and the tracker keeps serving instead of exiting.
process.on("uncaughtException", (err) => tracker!.faults.caught("process", err));
process.on("unhandledRejection", (err) => tracker!.faults.caught("process", err));

const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
if (process.platform === "win32") signals.push("SIGBREAK", "SIGHUP");
for (const s of signals) process.on(s, () => void shutdown(s));
// Under `npm start` a SIGTERM reaches npm's shell, which dies without passing it on: the tracker would go on,
// re-parented, holding its ports. So when npm started it and its parent goes, it stops as if sent SIGTERM.
if (process.env.npm_lifecycle_event !== undefined && process.platform !== "win32") {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown("parent exited");
  }, 500).unref();
}
// Elsewhere SIGHUP means "reload": the access list and the TLS certificate are re-read, the log file is
// reopened (the usual daemon convention), and the --config file, if any, is read again (the command line and
// the environment stay those of the start): what can change at once does, the rest is named as needing a
// restart.
if (process.platform !== "win32") {
  process.on("SIGHUP", () => {
    output!.reopen();
    void tracker!.access.reload("SIGHUP");
    tracker!.reloadTls();
    // Every thread of --workers re-reads its certificate too (the main thread shares the list it re-read).
    void tracker!.pool?.ask("reloadTls");
    // Without a --config file there is nothing to re-read: flags and environment stay those of the start.
    if (parsed.configFile !== null) reloadSettings();
  });
}
/** The settings in force: those of the start, with what SIGHUP re-reads applied. */
let running = config;
function reloadSettings(): void {
  const next = parseArgs(process.argv.slice(2), process.env, platform);
  if (next.kind !== "run") {
    const why = next.kind === "error" ? next.message : next.kind;
    log.warn("settings not re-read; the running ones stay", { err: why, cause: "SIGHUP" });
    return;
  }
  const { applied, restart } = settingChanges(running, next.config);
  const before = running.logLevel;
  for (const field of RELOADABLE) running = { ...running, [field]: next.config[field] };
  // The line is written at the more verbose of the two levels, so that it shows either way.
  log.setLevel(Logger.verbose(before, running.logLevel));
  log.info("settings re-read", { applied, cause: "SIGHUP" });
  if (restart.length > 0) log.warn("settings changed that need a restart to apply", { settings: restart });
  log.setLevel(running.logLevel);
  void tracker!.pool?.ask("setLogLevel", running.logLevel);
}

const hostPort = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
const tlsOnMain = config.tlsCert !== null && config.tlsListen === null;
log.info("listening", {
  version: VERSION,
  [tlsOnMain ? "https" : "http"]: hostPort(config.listen.host, tracker.httpPort),
  ...(config.tlsListen !== null ? { https: hostPort(config.tlsListen.host, tracker.tlsPort!) } : {}),
  websocket: config.websocket,
  udp: config.udpListen === null ? "off" : hostPort(config.udpListen.host, tracker.udpPort!),
  ...(config.adminListen !== null ? { admin: hostPort(config.adminListen.host, tracker.adminPort!) } : {}),
  httpPort: tracker.httpPort,
  udpPort: tracker.udpPort,
  adminPort: tracker.adminPort,
  workers: tracker.threads,
  ...(tracker.udpSteering !== null ? { udpSteering: tracker.udpSteering.active } : {}),
  interval: config.intervalS,
  intervalMode: config.intervalMode,
  peerTimeout: config.peerTimeoutS,
});
// Someone at a console (a double-clicked .exe on Windows, a terminal) also gets one plain line, with addresses
// that can be pasted into a client: a wildcard listener is shown by one of this host's addresses (clients
// elsewhere need that one), or localhost when it has none but loopback.
if (process.stdout.isTTY) {
  const reachable = (host: string) => (host === "::" || host === "0.0.0.0" ? hostAddress(host === "::") : host);
  const main = hostPort(reachable(config.listen.host), tracker.httpPort);
  const urls = [`${tlsOnMain ? "https" : "http"}://${main}/announce`];
  if (config.tlsListen !== null)
    urls.push(`https://${hostPort(reachable(config.tlsListen.host), tracker.tlsPort!)}/announce`);
  if (config.udpListen !== null)
    urls.push(`udp://${hostPort(reachable(config.udpListen.host), tracker.udpPort!)}/announce`);
  if (config.websocket) urls.push(`${tlsOnMain ? "wss" : "ws"}://${main}/announce`);
  const wildcard = config.listen.host === "::" || config.listen.host === "0.0.0.0";
  const dashboard = `${tlsOnMain ? "https" : "http"}://${hostPort(wildcard ? "localhost" : config.listen.host, tracker.httpPort)}/`;
  const withDashboard = typeof WITH_DASHBOARD === "undefined" || WITH_DASHBOARD;
  const admin =
    config.adminListen === null ? "" : `, admin http://${hostPort(config.adminListen.host, tracker.adminPort!)}/`;
  const showDashboard = withDashboard && config.publicStats;
  console.log(
    `buntracker ${VERSION} listening: ${urls.join(" ")}${showDashboard ? `, dashboard ${dashboard}` : ""}${admin} (Ctrl+C stops)`,
  );
}

/** A unicast address of this host (IPv4 first; IPv6 too for a dual-stack listener), or "localhost". */
function hostAddress(withV6: boolean): string {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const v4 = all.find((a) => a.family === "IPv4" && !a.internal);
  const v6 = all.find((a) => a.family === "IPv6" && !a.internal && !a.address.toLowerCase().startsWith("fe80:"));
  return v4?.address ?? (withV6 ? v6?.address : undefined) ?? "localhost";
}
