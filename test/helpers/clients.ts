// Drives real BitTorrent clients (aria2c, transmission-cli) and mktorrent for end-to-end tests.
// Everything stays on loopback: DHT bootstrap, PEX, LSD and port mapping are off, so the tracker is
// the only way the peers can find each other.

import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

/** Absolute path of a client binary; throws (so the test fails, never skips) when it is missing. */
export function requireBinary(name: string): string {
  const path = Bun.which(name);
  if (!path) throw new Error(`${name} is not installed (Debian: apt-get install aria2 mktorrent transmission-cli)`);
  return path;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  explain: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${explain()}`);
    await Bun.sleep(100);
  }
}

const handedOut = new Set<number>();

/** A port free for both TCP and UDP on 127.0.0.1 (clients bind both), never the same one twice per process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const tcp = createServer();
    await new Promise<void>((ok, fail) => tcp.once("error", fail).listen(0, "127.0.0.1", ok));
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket("udp4");
    const udpFree = await new Promise<boolean>((ok) => {
      udp.once("error", () => ok(false));
      udp.bind(port, "127.0.0.1", () => ok(true));
    });
    udp.close();
    await new Promise((ok) => tcp.close(ok));
    if (udpFree && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no port free for both TCP and UDP");
}

export interface Torrent {
  dir: string; // fresh temp dir holding everything of one test run
  seedDir: string; // holds the complete file
  fileName: string;
  torrentPath: string;
  infoHash: Buffer; // 20 raw bytes
  sha256: string; // of the original file
}

/** A random file of `size` bytes and a private .torrent for it (private: clients keep DHT/PEX off for it). */
export async function makeTorrent(announceUrl: string, size = 3 * 1024 * 1024): Promise<Torrent> {
  const mktorrent = requireBinary("mktorrent");
  const dir = await mkdtemp(join(tmpdir(), "buntracker-e2e-"));
  const seedDir = join(dir, "seed");
  await mkdir(seedDir);
  const fileName = "payload.bin";
  const data = randomBytes(size);
  await writeFile(join(seedDir, fileName), data);
  const torrentPath = join(dir, "payload.torrent");
  const mk = Bun.spawnSync([mktorrent, "-p", "-a", announceUrl, "-o", torrentPath, join(seedDir, fileName)]);
  if (mk.exitCode !== 0) throw new Error(`mktorrent failed: ${mk.stderr.toString()}${mk.stdout.toString()}`);
  const infoHash = createHash("sha1")
    .update(infoDictBytes(await readFile(torrentPath)))
    .digest();
  return { dir, seedDir, fileName, torrentPath, infoHash, sha256: sha256(data) };
}

export async function removeTorrentDir(t: Torrent | undefined): Promise<void> {
  if (t) await rm(t.dir, { recursive: true, force: true });
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export async function fileSha256(path: string): Promise<string> {
  return sha256(await readFile(path));
}

/** A running client; its stdout+stderr go to a log file so a failure can show them. */
export class Client {
  constructor(
    readonly name: string,
    readonly proc: Subprocess,
    readonly logPath: string,
  ) {}

  async log(tailChars = 4000): Promise<string> {
    // Clients redraw a status line (transmission with \r): keep one copy of each repeated line.
    const lines = (
      await Bun.file(this.logPath)
        .text()
        .catch(() => "")
    ).split(/[\r\n]+/);
    const text = lines.filter((line, i) => line.trim() !== "" && line !== lines[i - 1]).join("\n");
    return `--- ${this.name} (exit ${this.proc.exitCode ?? "running"}) ---\n${text.slice(-tailChars)}`;
  }

  /** SIGTERM (clients then send a "stopped" announce), SIGKILL if it lingers. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.proc.exited;
    clearTimeout(timer);
  }
}

function spawnClient(name: string, dir: string, cmd: string[]): Client {
  const logPath = join(dir, `${name}.log`);
  const fd = openSync(logPath, "w");
  try {
    return new Client(name, Bun.spawn({ cmd, cwd: dir, stdin: "ignore", stdout: fd, stderr: fd }), logPath);
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

let clientCount = 0;

/**
 * aria2c for `t`. A seeder verifies the complete file (-V) and seeds until stopped; a leecher exits 0 once
 * the download is complete (--seed-time=0). aria2 sends udp:// tracker traffic through its DHT socket, so
 * for UDP DHT must be "on": with no routing table and no entry point it never talks to anyone but the tracker.
 */
export async function startAria2(t: Torrent, role: "seed" | "leech", udpTracker: boolean): Promise<Client> {
  const aria2c = requireBinary("aria2c");
  const name = `aria2-${role}-${++clientCount}`;
  const downloadDir = role === "seed" ? t.seedDir : join(t.dir, name);
  await mkdir(downloadDir, { recursive: true });
  const dht = udpTracker
    ? ["--enable-dht=true", `--dht-listen-port=${await freePort()}`, `--dht-file-path=${join(t.dir, `${name}.dht`)}`]
    : ["--enable-dht=false"];
  return spawnClient(name, t.dir, [
    aria2c,
    "--no-conf",
    ...dht,
    "--enable-dht6=false",
    "--bt-enable-lpd=false",
    "--enable-peer-exchange=false",
    `--listen-port=${await freePort()}`,
    `--stop-with-process=${process.pid}`, // never outlive a crashed test run
    "--console-log-level=notice",
    `--log=${join(t.dir, `${name}.info.log`)}`, // tracker requests and replies, for post-mortems
    "--log-level=info",
    "--summary-interval=0",
    "--file-allocation=none",
    `--dir=${downloadDir}`,
    ...(role === "seed" ? ["--check-integrity=true", "--seed-ratio=0.0"] : ["--seed-time=0"]),
    t.torrentPath,
  ]);
}

/** Resolves with the exit code, or fails if the client is still running after `timeoutMs`. */
export async function exitCodeWithin(client: Client, timeoutMs: number): Promise<number> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${client.name} did not exit within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([client.proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function aria2DownloadPath(t: Torrent, leecher: Client): string {
  return join(t.dir, leecher.name, t.fileName);
}

export type TransmissionLeecher = Client & { downloadPath: string; finished(timeoutMs: number): Promise<void> };

/**
 * transmission-cli leeching `t`. It never exits by itself, so a -f finish script drops a marker file when
 * the torrent completes; `finished` resolves once that file exists.
 * Note: transmission 3.00 refuses to dial peers on 127.0.0.0/8 that a tracker hands out (it treats loopback
 * as a "martian" address) but accepts inbound connections from them, so the seeder must dial it: start it
 * before the seeder and wait until the tracker knows it.
 */
export async function startTransmissionLeecher(t: Torrent): Promise<TransmissionLeecher> {
  const cli = requireBinary("transmission-cli");
  const name = `transmission-leech-${++clientCount}`;
  const configDir = join(t.dir, `${name}-config`);
  const downloadDir = join(t.dir, name);
  await mkdir(configDir, { recursive: true });
  await mkdir(downloadDir, { recursive: true });
  const settings = {
    "dht-enabled": false,
    "pex-enabled": false,
    "lpd-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "blocklist-enabled": false,
    "rpc-enabled": false,
    "peer-port": await freePort(),
    "peer-port-random-on-start": false,
    "bind-address-ipv4": "127.0.0.1",
    "rename-partial-files": false,
    "message-level": 3, // debug: shows each announce and how many peers it got
  };
  await writeFile(join(configDir, "settings.json"), JSON.stringify(settings, null, 2));
  const marker = join(t.dir, `${name}.finished`);
  const script = join(t.dir, `${name}-finished.sh`);
  await writeFile(script, `#!/bin/sh\ntouch '${marker}'\n`);
  await chmod(script, 0o755);
  const client = spawnClient(name, t.dir, [
    cli,
    "--config-dir",
    configDir,
    "--download-dir",
    downloadDir,
    "--finish",
    script,
    t.torrentPath,
  ]);
  return Object.assign(client, {
    downloadPath: join(downloadDir, t.fileName),
    async finished(timeoutMs: number): Promise<void> {
      await waitFor(`${name} to finish`, timeoutMs, async () => {
        if (client.proc.exitCode !== null) throw new Error(`${name} exited early`);
        return Bun.file(marker).exists();
      });
    },
  });
}

// ---- tracker side: a minimal, independent bencode reader (the tracker's own codec is what is under test)

type BValue = number | Buffer | BValue[] | Map<string, BValue>;

function decodeAt(buf: Buffer, pos: number): [BValue, number] {
  const c = buf[pos];
  if (c === 0x69 /* i */) {
    const end = buf.indexOf(0x65, pos);
    return [Number(buf.toString("latin1", pos + 1, end)), end + 1];
  }
  if (c === 0x6c /* l */ || c === 0x64 /* d */) {
    const items: BValue[] = [];
    pos++;
    while (buf[pos] !== 0x65) {
      if (pos >= buf.length) throw new Error("truncated bencode");
      const [v, next] = decodeAt(buf, pos);
      items.push(v);
      pos = next;
    }
    if (c === 0x6c) return [items, pos + 1];
    const map = new Map<string, BValue>();
    for (let i = 0; i < items.length; i += 2) map.set((items[i] as Buffer).toString("latin1"), items[i + 1]);
    return [map, pos + 1];
  }
  const colon = buf.indexOf(0x3a, pos);
  if (colon < 0) throw new Error(`bad bencode at ${pos}`);
  const start = colon + 1;
  const len = Number(buf.toString("latin1", pos, colon));
  return [buf.subarray(start, start + len), start + len];
}

export function bdecode(buf: Buffer): BValue {
  return decodeAt(buf, 0)[0];
}

/** The raw bytes of the top-level "info" value: their SHA-1 is the info hash. */
function infoDictBytes(torrent: Buffer): Buffer {
  let pos = 1; // skip the outer "d"
  while (torrent[pos] !== 0x65) {
    const [key, valueStart] = decodeAt(torrent, pos);
    const [, valueEnd] = decodeAt(torrent, valueStart);
    if ((key as Buffer).toString("latin1") === "info") return torrent.subarray(valueStart, valueEnd);
    pos = valueEnd;
  }
  throw new Error("torrent has no info dictionary");
}

export interface ScrapeStats {
  complete: number;
  downloaded: number;
  incomplete: number;
}

/** HTTP scrape for one info hash; undefined when the tracker does not list it. */
export async function scrape(trackerBase: string, infoHash: Buffer): Promise<ScrapeStats | undefined> {
  const encoded = [...infoHash].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");
  const res = await fetch(`${trackerBase}/scrape?info_hash=${encoded}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`scrape: HTTP ${res.status}: ${body.toString("latin1")}`);
  const files = (bdecode(body) as Map<string, BValue>).get("files");
  if (!(files instanceof Map)) throw new Error(`scrape: no files dict in ${body.toString("latin1")}`);
  const entry = files.get(infoHash.toString("latin1"));
  if (!(entry instanceof Map)) return undefined;
  const num = (k: string) => (typeof entry.get(k) === "number" ? (entry.get(k) as number) : 0);
  return { complete: num("complete"), downloaded: num("downloaded"), incomplete: num("incomplete") };
}
