// Command-line entry: flags and BUNTRACKER_* environment -> Config -> running tracker. Bad input prints one
// line and exits 2; a listener that cannot bind exits 1; SIGINT/SIGTERM (and on Windows SIGBREAK and
// SIGHUP, sent when the console closes) shut down gracefully with exit 0; elsewhere SIGHUP reloads the
// access list.

import { helpText, parseArgs } from "./config/parse-args.ts";
import { startTracker } from "./server/app.ts";
import { Logger } from "./server/logger.ts";
import { VERSION } from "./version.ts";

const parsed = parseArgs(process.argv.slice(2), process.env);
if (parsed.kind === "help") {
  console.log(helpText(VERSION));
  process.exit(0);
}
if (parsed.kind === "version") {
  console.log(`buntracker ${VERSION}`);
  process.exit(0);
}
if (parsed.kind === "error") {
  process.stderr.write(`buntracker: ${parsed.message}\n`);
  process.exit(2);
}

const config = parsed.config;
const log = new Logger(config.logLevel);
let adminToken = config.adminToken;
if (config.adminTokenFile !== null) {
  try {
    adminToken = (await Bun.file(config.adminTokenFile).text()).trim();
  } catch (err) {
    process.stderr.write(`buntracker: cannot read --admin-token-file ${config.adminTokenFile}: ${err instanceof Error ? err.message : err}\n`);
    process.exit(2);
  }
}
if (adminToken !== null && adminToken.length < 16) {
  process.stderr.write("buntracker: the admin token must be at least 16 characters (try: openssl rand -hex 32)\n");
  process.exit(2);
}
let tracker;
try {
  tracker = await startTracker(config, log, adminToken);
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  log.error("cannot start", { err: message });
  process.stderr.write(`buntracker: cannot listen: ${message}\n`);
  process.exit(1);
}

const hostPort = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
log.info("listening", {
  version: VERSION,
  http: hostPort(config.listen.host, tracker.httpPort),
  udp: config.udpListen === null ? "off" : hostPort(config.udpListen.host, tracker.udpPort!),
  httpPort: tracker.httpPort,
  udpPort: tracker.udpPort,
  interval: config.intervalS,
  peerTimeout: config.peerTimeoutS,
});

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
// Elsewhere SIGHUP means "reload": the access list is re-read (the usual daemon convention).
if (process.platform !== "win32") process.on("SIGHUP", () => void tracker!.access.reload("SIGHUP"));
