// Command-line entry: flags and BUNTRACKER_* environment -> Config -> running tracker (or, with
// --check-config, the settings printed). Bad input prints one
// line and exits 2; a listener that cannot bind exits 1; SIGINT/SIGTERM (and on Windows SIGBREAK and
// SIGHUP, sent when the console closes) shut down gracefully with exit 0; elsewhere SIGHUP reloads the
// access list.

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { effectiveSettings } from "./config/effective.ts";
import { helpText, helpWidth } from "./config/help.ts";
import { parseArgs } from "./config/parse-args.ts";
import { platformDefaults } from "./config/platform.ts";
import { Invalid, secret } from "./config/value-types.ts";
import { startTracker } from "./server/app.ts";
import { errorText, Logger } from "./server/logger.ts";
import { LogFileError, logOutput, type LogOutput } from "./server/log-output.ts";
import { loadTlsPair, TlsFileError } from "./server/tls-files.ts";
import { AccessListError } from "./server/access-control.ts";
import { StateFileError } from "./server/state-file.ts";
import { VERSION, versionLine } from "./version.ts";

/** Set by `bun build --define WITH_DASHBOARD=false` for a build without the dashboard; undefined otherwise. */
declare const WITH_DASHBOARD: boolean | undefined;

const parsed = parseArgs(process.argv.slice(2), process.env, platformDefaults(process.platform, process.env, Bun.isStandaloneExecutable));
if (parsed.kind === "help") {
  console.log(helpText(VERSION, helpWidth(process.stdout)));
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
    await fail(2, `cannot read --admin-token-file ${config.adminTokenFile}: ${err instanceof Error ? err.message : err}`);
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
// The trends file's folder may not exist yet (the Windows default is in %ProgramData%). If it cannot be made,
// the trends file itself reports why and the tracker keeps its history in memory.
if (config.trendsFile !== null) await mkdir(dirname(config.trendsFile), { recursive: true }).catch(() => {});
let tracker;
try {
  tracker = await startTracker(config, log, adminToken);
} catch (err) {
  // An unusable certificate or key, an access list that cannot be read, or a state file that cannot be read or
  // saved, is bad input (exit 2, the file's problem in one line); anything else here is a listener that could
  // not bind (exit 1).
  if (err instanceof TlsFileError || err instanceof AccessListError || err instanceof StateFileError) await fail(2, err.message);
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

const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
if (process.platform === "win32") signals.push("SIGBREAK", "SIGHUP");
for (const s of signals) process.on(s, () => void shutdown(s));
// Elsewhere SIGHUP means "reload": the access list and the TLS certificate are re-read, and the log file is
// reopened (the usual daemon convention).
if (process.platform !== "win32") {
  process.on("SIGHUP", () => {
    output!.reopen();
    void tracker!.access.reload("SIGHUP");
    tracker!.reloadTls();
  });
}

const hostPort = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
const tlsOnMain = config.tlsCert !== null && config.tlsListen === null;
log.info("listening", {
  version: VERSION,
  [tlsOnMain ? "https" : "http"]: hostPort(config.listen.host, tracker.httpPort),
  ...(config.tlsListen !== null ? { https: hostPort(config.tlsListen.host, tracker.tlsPort!) } : {}),
  websocket: config.websocket,
  udp: config.udpListen === null ? "off" : hostPort(config.udpListen.host, tracker.udpPort!),
  httpPort: tracker.httpPort,
  udpPort: tracker.udpPort,
  interval: config.intervalS,
  intervalMode: config.intervalMode,
  peerTimeout: config.peerTimeoutS,
});
// Someone at a console (a double-clicked .exe on Windows, a terminal) also gets one plain line.
if (process.stdout.isTTY) {
  const main = hostPort(config.listen.host, tracker.httpPort);
  const urls = [`${tlsOnMain ? "https" : "http"}://${main}/announce`];
  if (config.tlsListen !== null) urls.push(`https://${hostPort(config.tlsListen.host, tracker.tlsPort!)}/announce`);
  if (config.udpListen !== null) urls.push(`udp://${hostPort(config.udpListen.host, tracker.udpPort!)}/announce`);
  if (config.websocket) urls.push(`${tlsOnMain ? "wss" : "ws"}://${main}/announce`);
  const wildcard = config.listen.host === "::" || config.listen.host === "0.0.0.0";
  const dashboard = `${tlsOnMain ? "https" : "http"}://${hostPort(wildcard ? "localhost" : config.listen.host, tracker.httpPort)}/`;
  const withDashboard = typeof WITH_DASHBOARD === "undefined" || WITH_DASHBOARD;
  console.log(`buntracker ${VERSION} listening: ${urls.join(" ")}${withDashboard ? `, dashboard ${dashboard}` : ""} (Ctrl+C stops)`);
}
