// Soak test: minutes of mixed HTTP and UDP load on the real tracker, garbage interleaved, a restart in the
// middle, then checks that nothing was lost and memory stayed flat.
//
//   bun scripts/soak.ts [--minutes N] [--seed N] [--http-workers N] [--udp-workers N]
//
// The tracker runs as a subprocess (`bun src/main.ts`) on a loopback port, dual stack, with --state-file in a
// temporary directory and --rate-limit 0. Well-formed clients (HTTP from 127.0.0.1 and ::1, UDP from their own
// 127.0.0.x addresses and ::1) run peers through their life: started, re-announces, completed, seeding,
// stopped, with scrapes in between; each waits for its reply before the next request. Garbage senders mix in
// random and mutated UDP datagrams and HTTP requests (random query strings, huge headers, broken request lines).
// Half way through, the load pauses, the tracker gets SIGTERM and is started again on the same state file.
//
// Checks (exit 1 if any fails):
// - every well-formed request got a well-formed reply (no timeouts, errors or failure reasons);
// - no completion was lost: per torrent, the tracker's `downloaded` equals the completions the clients had
//   acknowledged (live: a scrape never shows fewer than were acknowledged before it was sent), and the restart
//   changed no count;
// - garbage without a connection id was never answered with more than a 16-byte connect reply; no HTTP
//   garbage got a 5xx (other than Bun's own 505 for a broken request line) or a stack trace; the tracker
//   logged no error;
// - resident memory (VmRSS) stayed flat: after a warm-up, the last sample of each tracker process is within
//   20% of that process's median.

import { mkdtemp, rm, stat } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BValue, decodeBencode } from "../src/codec/bencode-decode.ts";
import {
  ACTION_CONNECT,
  CONNECT_REPLY_LEN,
  OFF_ACTION,
  OFF_REPLY_ACTION,
  readU32,
  writeU32,
} from "../src/codec/udp.ts";
import { type UdpAnnounceRequest, type UdpReply, type UdpRequest, writeRequest } from "../src/codec/udp-messages.ts";
import { Prng } from "./lib/prng.ts";
import { UdpClient } from "./lib/udp-client.ts";

// ---------------------------------------------------------------------------------------------------------
// Options

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} needs a positive number`);
    process.exit(2);
  }
  return v;
}

const MINUTES = option("minutes", 3);
const SEED = option("seed", 1);
const HTTP_WORKERS = Math.min(6, option("http-workers", 6));
const UDP_WORKERS = Math.min(6, option("udp-workers", 6));
const TORRENTS = 300;
const PEERS_PER_WORKER = 150; // live peers each worker keeps, so the store reaches a steady size
const RSS_EVERY_MS = 2000;
const WARMUP_MS = Math.min(30_000, (MINUTES * 60_000) / 6);
const FLAT_TOLERANCE = 0.2;
const ROOT = join(import.meta.dir, "..");

// ---------------------------------------------------------------------------------------------------------
// Small tools

const sha1 = (s: string) => new Uint8Array(new Bun.CryptoHasher("sha1").update(s).digest());
const pct = (b: Uint8Array) => Array.from(b, (x) => "%" + x.toString(16).padStart(2, "0")).join("");
const latin1 = (b: Uint8Array) => String.fromCharCode(...b);
const SOAK_PEER_ID = new TextEncoder().encode("-qB4650-soaksoaksoak");
const mib = (kib: number) => (kib / 1024).toFixed(1);

/** The announce every well-formed client and the garbage templates send (numwant 30, as the benchmarks). */
function announceRequest(
  id: Uint8Array,
  txid: number,
  hash: Uint8Array,
  port: number,
  left: bigint,
  event: number,
): UdpAnnounceRequest {
  return {
    action: "announce",
    connectionId: id,
    transactionId: txid,
    infoHash: hash,
    peerId: SOAK_PEER_ID,
    downloaded: 0n,
    left,
    uploaded: 0n,
    event,
    ip: 0,
    key: 0,
    numWant: 30,
    port,
    options: [],
  };
}

// ---------------------------------------------------------------------------------------------------------
// The tracker process

class TrackerProcess {
  out = "";
  private constructor(readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">) {}

  static async start(port: number, stateFile: string): Promise<TrackerProcess> {
    const proc = Bun.spawn(
      [
        process.execPath,
        join(ROOT, "src", "main.ts"),
        "--listen",
        `[::]:${port}`,
        "--state-file",
        stateFile,
        "--rate-limit",
        "0",
      ],
      { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    const t = new TrackerProcess(proc);
    const collect = async (s: ReadableStream<Uint8Array>) => {
      const d = new TextDecoder();
      for await (const chunk of s) t.out += d.decode(chunk, { stream: true });
    };
    void collect(proc.stdout);
    void collect(proc.stderr);
    const deadline = Date.now() + 15_000;
    while (!t.out.includes('"msg":"listening"')) {
      if (proc.exitCode !== null) throw new Error(`the tracker exited with ${proc.exitCode}:\n${t.out}`);
      if (Date.now() > deadline) throw new Error(`the tracker did not start within 15 s:\n${t.out}`);
      await Bun.sleep(20);
    }
    return t;
  }

  async rssKiB(): Promise<number | null> {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(await Bun.file(`/proc/${this.proc.pid}/status`).text());
      return m === null ? null : Number(m[1]);
    } catch {
      return null;
    }
  }

  async stop(): Promise<number> {
    this.proc.kill("SIGTERM");
    return this.proc.exited;
  }

  logs(level: string): string[] {
    return this.out.split("\n").filter((l) => l.includes(`"level":"${level}"`));
  }
}

async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = Bun.listen({ hostname: "::", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    try {
      const u = await Bun.udpSocket({ hostname: "::", port });
      u.close();
      return port;
    } catch {
      /* taken for UDP: try another */
    }
  }
  throw new Error("no free port");
}

// ---------------------------------------------------------------------------------------------------------
// Shared state of the load

const hashes = Array.from({ length: TORRENTS }, (_, i) => sha1(`soak ${SEED} torrent ${i}`));
const junkHashes = Array.from({ length: 20 }, (_, i) => sha1(`soak ${SEED} garbage ${i}`));
/** Completions acknowledged by the tracker, per torrent. */
const acked = new Int32Array(TORRENTS);

const stats = {
  requests: new Map<string, number>(),
  failures: new Map<string, number>(),
  failureSamples: [] as string[],
  scrapeBehind: 0,
  garbageUdp: 0,
  garbageUdpReplies: 0,
  amplification: 0,
  garbageHttp: new Map<string, number>(),
  garbageHttpBad: [] as string[],
};

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

function fail(kind: string, detail: string): void {
  bump(stats.failures, kind);
  if (stats.failureSamples.length < 20) stats.failureSamples.push(`${kind}: ${detail}`);
}

let target = { port: 0 };
let endAt = 0;
let paused = false;
let resumed: Promise<void> = Promise.resolve();
let resume = () => {};
let inFlight = 0;
let epoch = 0; // bumps at the restart: UDP clients must connect again

/** Runs `step` repeatedly until the end, pausing while the tracker restarts. */
async function loop(step: () => Promise<void>): Promise<void> {
  while (Date.now() < endAt) {
    while (paused) await resumed;
    if (Date.now() >= endAt) break;
    inFlight++;
    try {
      await step();
    } finally {
      inFlight--;
    }
  }
}

async function pauseLoad(): Promise<void> {
  paused = true;
  resumed = new Promise((r) => (resume = r));
  const deadline = Date.now() + 15_000;
  while (inFlight > 0) {
    if (Date.now() > deadline) throw new Error(`${inFlight} requests still in flight after 15 s`);
    await Bun.sleep(5);
  }
}

function resumeLoad(): void {
  paused = false;
  resume();
}

// ---------------------------------------------------------------------------------------------------------
// Well-formed clients: a set of live peers each, run through their lives

interface Peer {
  torrent: number;
  port: number;
  left: number;
  /** Seeder whose completion the tracker acknowledged. */
  done: boolean;
}

abstract class Worker {
  readonly peers: Peer[] = [];
  readonly #nextPort = new Map<number, number>();
  readonly #live = new Set<number>();

  constructor(
    readonly rng: Prng,
    readonly portBase: number,
  ) {}

  /**
   * A port for a new peer of a random torrent, from this worker's range of 4000. A port comes round again only
   * after its previous peer's `stopped` was acknowledged (the tracker forgot it), never while that peer lives.
   */
  newPeer(): Peer {
    const torrent = this.rng.int(TORRENTS);
    let n = this.#nextPort.get(torrent) ?? 0;
    while (this.#live.has(torrent * 4000 + n)) n = (n + 1) % 4000;
    this.#nextPort.set(torrent, (n + 1) % 4000);
    this.#live.add(torrent * 4000 + n);
    return { torrent, port: this.portBase + n, left: 1 + this.rng.int(1 << 20), done: false };
  }

  #forget(p: Peer): void {
    this.#live.delete(p.torrent * 4000 + (p.port - this.portBase));
  }

  async step(): Promise<void> {
    const r = this.rng;
    if (r.chance(0.1)) {
      const ts = Array.from({ length: 1 + r.int(5) }, () => r.int(TORRENTS));
      const floor = ts.map((t) => acked[t]);
      const got = await this.scrape(ts);
      if (got === null) return;
      got.forEach((d, i) => {
        if (d < floor[i]) {
          stats.scrapeBehind++;
          fail("scrape behind", `torrent ${ts[i]}: downloaded ${d} < ${floor[i]} acknowledged`);
        }
      });
      return;
    }
    if (this.peers.length < PEERS_PER_WORKER && (this.peers.length === 0 || r.chance(0.3))) {
      const p = this.newPeer();
      // Kept even if unanswered: it may have been recorded, so its port stays taken until it stops.
      this.peers.push(p);
      await this.announce(p, p.left, 2);
      return;
    }
    const i = r.int(this.peers.length);
    const p = this.peers[i];
    if (!p.done) {
      if (r.chance(0.3)) {
        // Completes; retried on a later step until acknowledged (the tracker counts each peer once).
        if (await this.announce(p, 0, 1)) {
          p.done = true;
          acked[p.torrent]++;
        }
      } else {
        p.left = Math.max(1, p.left - r.int(1000));
        await this.announce(p, p.left, 0);
      }
    } else if (r.chance(0.3)) {
      if (await this.announce(p, 0, 3)) {
        this.peers.splice(i, 1);
        this.#forget(p);
      }
    } else {
      await this.announce(p, 0, 0);
    }
  }

  /** event: 0 none, 1 completed, 2 started, 3 stopped. Returns whether a well-formed success came back. */
  abstract announce(p: Peer, left: number, event: number): Promise<boolean>;
  /** Returns `downloaded` per torrent, or null on failure. */
  abstract scrape(torrents: number[]): Promise<number[] | null>;
}

const HTTP_EVENTS = ["", "&event=completed", "&event=started", "&event=stopped"];

class HttpWorker extends Worker {
  constructor(
    rng: Prng,
    portBase: number,
    readonly host: "127.0.0.1" | "::1",
  ) {
    super(rng, portBase);
  }

  get base(): string {
    return this.host === "::1" ? `http://[::1]:${target.port}` : `http://127.0.0.1:${target.port}`;
  }

  async get(kind: string, path: string): Promise<Record<string, BValue> | null> {
    bump(stats.requests, kind);
    try {
      const res = await fetch(this.base + path, { signal: AbortSignal.timeout(5000) });
      const body = decodeBencode(new Uint8Array(await res.arrayBuffer()));
      if (res.status !== 200 || typeof body !== "object" || Array.isArray(body)) {
        fail(kind, `status ${res.status}`);
        return null;
      }
      if ("failure reason" in body) {
        fail(kind, `failure reason: ${body["failure reason"]}`);
        return null;
      }
      return body;
    } catch (err) {
      fail(kind, String(err));
      return null;
    }
  }

  async announce(p: Peer, left: number, event: number): Promise<boolean> {
    const q = `info_hash=${pct(hashes[p.torrent])}&peer_id=${pct(sha1(`${this.host} ${p.port}`))}&port=${p.port}&uploaded=0&downloaded=0&left=${left}&numwant=30${HTTP_EVENTS[event]}`;
    const body = await this.get("http announce", `/announce?${q}`);
    if (body === null) return false;
    const ok =
      typeof body.complete === "number" &&
      typeof body.incomplete === "number" &&
      typeof body.peers === "string" &&
      body.peers.length % 6 === 0 &&
      typeof body.peers6 === "string" &&
      body.peers6.length % 18 === 0;
    if (!ok) fail("http announce", `malformed reply ${JSON.stringify(body).slice(0, 200)}`);
    return ok;
  }

  async scrape(torrents: number[]): Promise<number[] | null> {
    const body = await this.get(
      "http scrape",
      `/scrape?${torrents.map((t) => `info_hash=${pct(hashes[t])}`).join("&")}`,
    );
    if (body === null) return null;
    const files = body.files as Record<string, Record<string, number>> | undefined;
    const out = torrents.map((t) => files?.[latin1(hashes[t])]?.downloaded);
    if (out.some((d) => typeof d !== "number")) {
      fail("http scrape", "an entry is missing");
      return null;
    }
    return out as number[];
  }
}

/** A UDP client with one request outstanding at a time (each worker waits for its reply). */
class UdpWorker extends Worker {
  #id: Uint8Array | null = null;
  #idEpoch = -1;
  #idAt = 0;

  constructor(
    rng: Prng,
    portBase: number,
    readonly udp: UdpClient,
  ) {
    super(rng, portBase);
  }

  /** The reply to `m` if it is a well-formed reply of the same action; anything else is a failure. */
  async #request<A extends UdpRequest["action"]>(
    kind: string,
    m: UdpRequest & { action: A },
  ): Promise<(UdpReply & { action: A }) | null> {
    bump(stats.requests, kind);
    const reply = await this.udp.request(m, 2000);
    if (reply === null) {
      fail(kind, "no reply within 2 s");
      return null;
    }
    if (reply.action !== m.action) {
      const what =
        reply.action === "malformed"
          ? `malformed reply (${reply.reason}) ${Buffer.from(reply.bytes.subarray(0, 80)).toString("hex")}`
          : reply.action === "error"
            ? `error reply "${reply.message}"`
            : `a ${reply.action} reply`;
      fail(kind, what);
      return null;
    }
    return reply as UdpReply & { action: A };
  }

  /** A connection id, fetched again after a restart and every minute (BEP 15 clients keep them 1-2 minutes). */
  async #connectionId(): Promise<Uint8Array | null> {
    if (this.#id === null || this.#idEpoch !== epoch || Date.now() - this.#idAt > 60_000) {
      const reply = await this.#request("udp connect", { action: "connect", transactionId: 0 });
      if (reply === null) return null;
      this.#id = reply.connectionId;
      this.#idEpoch = epoch;
      this.#idAt = Date.now();
    }
    return this.#id;
  }

  async announce(p: Peer, left: number, event: number): Promise<boolean> {
    const id = await this.#connectionId();
    if (id === null) return false;
    // The client parses the peers with its socket's family: a reply of the wrong size comes back malformed.
    return (
      (await this.#request("udp announce", announceRequest(id, 0, hashes[p.torrent], p.port, BigInt(left), event))) !==
      null
    );
  }

  async scrape(torrents: number[]): Promise<number[] | null> {
    const id = await this.#connectionId();
    if (id === null) return null;
    const reply = await this.#request("udp scrape", {
      action: "scrape",
      connectionId: id,
      transactionId: 0,
      infoHashes: torrents.map((t) => hashes[t]),
    });
    if (reply === null) return null;
    if (reply.entries.length !== torrents.length) {
      fail("udp scrape", `${reply.entries.length} entries for ${torrents.length} torrents`);
      return null;
    }
    return reply.entries.map((e) => e.completed);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Garbage

function mutate(rng: Prng, p: Uint8Array): Uint8Array {
  let b = p.slice();
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const m = rng.int(4);
    if (m === 0) for (let f = 1 + rng.int(8); f > 0 && b.length > 0; f--) b[rng.int(b.length)] ^= 1 << rng.int(8);
    else if (m === 1) b = b.slice(0, rng.int(b.length + 1));
    else if (m === 2) b = new Uint8Array([...b, ...rng.bytes(1 + rng.int(200))]);
    else if (b.length >= OFF_ACTION + 4) writeU32(b, OFF_ACTION, rng.pick([0, 1, 2, 3, 4, 0xffffffff]));
  }
  return b;
}

/** UDP garbage from an address that never holds a connection id: only connects may be answered, 16 bytes each. */
async function udpGarbage(rng: Prng, local: string, host: string): Promise<void> {
  const foreignId = rng.bytes(8);
  const socket = await Bun.udpSocket({
    hostname: local,
    socket: {
      data: (_s, buf) => {
        stats.garbageUdpReplies++;
        if (buf.length !== CONNECT_REPLY_LEN || readU32(new Uint8Array(buf), OFF_REPLY_ACTION) !== ACTION_CONNECT)
          stats.amplification++;
      },
      error() {},
    },
  });
  try {
    await loop(async () => {
      for (let k = 0; k < 5; k++) {
        const templates = [
          writeRequest({ action: "connect", transactionId: rng.int(2 ** 32) }),
          writeRequest(
            announceRequest(foreignId, rng.int(2 ** 32), rng.pick(junkHashes), 1 + rng.int(65535), 0n, rng.int(4)),
          ),
          writeRequest({
            action: "scrape",
            connectionId: foreignId,
            transactionId: rng.int(2 ** 32),
            infoHashes: junkHashes.slice(0, rng.int(5)),
          }),
        ];
        const p = rng.chance(0.2) ? rng.bytes(rng.int(300)) : mutate(rng, rng.pick(templates));
        socket.send(p, target.port, host);
        stats.garbageUdp++;
      }
      await Bun.sleep(2); // pacing: about 2000 datagrams a second
    });
  } finally {
    socket.close();
  }
}

function randomQuery(rng: Prng): string {
  let q = `info_hash=${pct(rng.pick(junkHashes))}&peer_id=${pct(rng.bytes(20))}&port=${rng.int(70000)}&left=${rng.int(3)}&event=${rng.pick(["started", "completed", "x", ""])}`;
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const at = rng.int(q.length + 1);
    const m = rng.int(4);
    if (m === 0) q = q.slice(0, at) + q.slice(at + 1 + rng.int(10));
    else if (m === 1)
      q =
        q.slice(0, at) + String.fromCharCode(...rng.bytes(1 + rng.int(8)).map((x) => 0x21 + (x % 0x5e))) + q.slice(at);
    else if (m === 2) q = q.slice(0, at) + rng.pick(["%", "%zz", "&&", "==", "+", "%00", "%ff"]) + q.slice(at);
    else q += "&x=" + "9".repeat(rng.pick([1, 100, 5000]));
  }
  return q;
}

function rawExchange(host: string, data: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port: target.port }, () => {
      s.write(data);
      s.end();
    });
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}

async function httpGarbage(rng: Prng): Promise<void> {
  await loop(async () => {
    const host = rng.pick(["127.0.0.1", "::1"]);
    const path = rng.pick(["/announce", "/scrape", "/x/announce.php", "/nothing"]);
    if (rng.chance(0.5)) {
      const headers: Record<string, string> = {};
      for (let k = rng.int(4); k > 0; k--) headers[`x-${rng.int(1000)}`] = "v".repeat(rng.pick([1, 100, 8000, 20000]));
      try {
        const res = await fetch(`http://${host === "::1" ? "[::1]" : host}:${target.port}${path}?${randomQuery(rng)}`, {
          headers,
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        bump(stats.garbageHttp, String(res.status));
        if (res.status >= 500 || /\n\s+at |internal error/.test(text))
          stats.garbageHttpBad.push(`${res.status} ${text.slice(0, 100)}`);
      } catch {
        bump(stats.garbageHttp, "closed");
      }
    } else {
      const line = rng.chance(0.5)
        ? `GET ${path}?${randomQuery(rng)}${String.fromCharCode(...rng.bytes(rng.int(4)))} HTTP/1.1`
        : rng.pick(["GET", "BREW", "\x00\x01", ""]) +
          " " +
          path +
          " " +
          rng.pick(["HTTP/1.1", "HTTP/9", "", "HTTP/1.1 x"]);
      const text = await rawExchange(
        host,
        `${line}\r\nHost: t\r\nX-Junk: ${String.fromCharCode(...rng.bytes(rng.int(50)))}\r\nConnection: close\r\n\r\n`,
      );
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? (text === "" ? "closed" : "unparsable");
      bump(stats.garbageHttp, status);
      const bunParserReject = status === "505" && text.endsWith("\r\n\r\n"); // empty body: Bun's own parser said no
      if (
        (status >= "500" && status !== "unparsable" && status !== "closed" && !bunParserReject) ||
        /\n\s+at |internal error/.test(text)
      ) {
        stats.garbageHttpBad.push(`${status} ${JSON.stringify(text.slice(0, 100))}`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Checks at the pause points

/** downloaded/complete/incomplete of every torrent, by HTTP scrape (100 per request). */
async function scrapeAll(): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < TORRENTS; i += 100) {
    const chunk = hashes.slice(i, i + 100);
    const res = await fetch(
      `http://127.0.0.1:${target.port}/scrape?${chunk.map((h) => `info_hash=${pct(h)}`).join("&")}`,
    );
    const body = decodeBencode(new Uint8Array(await res.arrayBuffer())) as {
      files: Record<string, Record<string, number>>;
    };
    for (const h of chunk) {
      const f = body.files[latin1(h)];
      out.push([f.downloaded, f.complete, f.incomplete]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Main

interface Sample {
  t: number;
  proc: number;
  rss: number;
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "buntracker-soak-"));
  const stateFile = join(dir, "state.bin");
  const checks: [string, boolean, string][] = [];
  const check = (what: string, ok: boolean, detail: string) => checks.push([what, ok, detail]);
  let tracker: TrackerProcess | null = null;
  const logs: { warn: string[]; error: string[] } = { warn: [], error: [] };
  try {
    target = { port: await freePort() };
    tracker = await TrackerProcess.start(target.port, stateFile);
    const started = Date.now();
    endAt = started + MINUTES * 60_000;
    const restartAt = started + (MINUTES * 60_000) / 2;
    console.log(
      `soak: ${MINUTES} min, seed ${SEED}, ${HTTP_WORKERS} HTTP + ${UDP_WORKERS} UDP clients + garbage, tracker on port ${target.port}, restart at ${(MINUTES / 2).toFixed(1)} min`,
    );

    const rng = new Prng(SEED);
    const workers: Worker[] = [];
    const udpClients: UdpClient[] = [];
    for (let w = 0; w < HTTP_WORKERS; w++)
      workers.push(new HttpWorker(new Prng(rng.int(2 ** 32)), 1024 + w * 4000, w % 2 === 0 ? "127.0.0.1" : "::1"));
    for (let w = 0; w < UDP_WORKERS; w++) {
      const v6 = w === UDP_WORKERS - 1;
      const local = v6 ? "::1" : `127.0.0.${10 + w}`;
      const udp = await UdpClient.open(v6 ? "::1" : "127.0.0.1", target.port, local);
      udpClients.push(udp);
      workers.push(new UdpWorker(new Prng(rng.int(2 ** 32)), 1024 + (HTTP_WORKERS + w) * 4000, udp));
    }

    // Memory samples.
    const samples: Sample[] = [];
    let proc = 1;
    let procStarted = started;
    const sampler = setInterval(() => {
      void tracker?.rssKiB().then((rss) => {
        if (rss !== null && !paused) samples.push({ t: Date.now() - procStarted, proc, rss });
      });
    }, RSS_EVERY_MS);

    // The restart, half way.
    const restart = (async () => {
      while (Date.now() < restartAt) await Bun.sleep(Math.min(1000, restartAt - Date.now()));
      await pauseLoad();
      const before = await scrapeAll();
      const t0 = performance.now();
      const code = await tracker!.stop();
      logs.warn.push(...tracker!.logs("warn"));
      logs.error.push(...tracker!.logs("error"));
      const stopMs = performance.now() - t0;
      const size = (await stat(stateFile)).size;
      const t1 = performance.now();
      tracker = await TrackerProcess.start(target.port, stateFile);
      const startMs = performance.now() - t1;
      const restored = tracker.out.split("\n").find((l) => l.includes('"msg":"state restored"')) ?? "";
      const info = restored === "" ? null : (JSON.parse(restored) as Record<string, number>);
      const after = await scrapeAll();
      const changed = before.filter((b, i) => b.join() !== after[i].join()).length;
      check("restart: SIGTERM exits 0", code === 0, `exit code ${code}, stopped in ${stopMs.toFixed(0)} ms`);
      check(
        "restart: every count identical before and after",
        changed === 0 && info !== null,
        `state file ${(size / 1024).toFixed(1)} KiB; restored ${info?.torrents} torrents (+${info?.dormant} dormant), ${info?.peers} peers; ` +
          `listening again ${startMs.toFixed(0)} ms after the old process exited; ${changed} of ${TORRENTS} torrents differ`,
      );
      epoch++;
      proc = 2;
      procStarted = Date.now();
      resumeLoad();
    })();

    await Promise.all([
      ...workers.map((w) => loop(() => w.step())),
      udpGarbage(new Prng(rng.int(2 ** 32)), "127.0.0.250", "127.0.0.1"),
      udpGarbage(new Prng(rng.int(2 ** 32)), "::1", "::1"),
      httpGarbage(new Prng(rng.int(2 ** 32))),
      restart,
    ]);
    clearInterval(sampler);
    for (const u of udpClients) u.close();

    // Final checks, with the load stopped.
    const final = await scrapeAll();
    const lost = final.reduce((n, [d], i) => n + Math.max(0, acked[i] - d), 0);
    const extra = final.reduce((n, [d], i) => n + Math.max(0, d - acked[i]), 0);
    const total = acked.reduce((a, b) => a + b, 0);
    check(
      "completions: none lost, none invented",
      lost === 0 && extra === 0 && total > 0,
      `${total} acknowledged over ${acked.filter((x) => x > 0).length} torrents; tracker: ${lost} missing, ${extra} extra`,
    );
    const requests = [...stats.requests.values()].reduce((a, b) => a + b, 0);
    const failures = [...stats.failures.values()].reduce((a, b) => a + b, 0);
    const perKind = [...stats.requests].map(([k, n]) => `${k} ${n}`).join(", ");
    const rate = Math.round(requests / (MINUTES * 60));
    check(
      "well-formed requests: every one answered well",
      failures === 0,
      `${requests} requests, about ${rate}/s (${perKind}); ${failures} failures${stats.scrapeBehind ? `, ${stats.scrapeBehind} scrapes behind` : ""}`,
    );
    for (const s of stats.failureSamples) console.log(`  failure: ${s}`);
    check(
      "UDP garbage: no reply bigger than a connect reply",
      stats.amplification === 0,
      `${stats.garbageUdp} datagrams, ${stats.garbageUdpReplies} answered, ${stats.amplification} of them with anything but a 16-byte connect reply`,
    );
    const statuses = [...stats.garbageHttp]
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ");
    check(
      "HTTP garbage: no 5xx from the tracker, no stack trace",
      stats.garbageHttpBad.length === 0,
      `${[...stats.garbageHttp.values()].reduce((a, b) => a + b, 0)} requests (${statuses})`,
    );
    for (const s of stats.garbageHttpBad.slice(0, 10)) console.log(`  bad: ${s}`);

    // Memory.
    const lines: string[] = [];
    let flat = true;
    for (const p of [1, 2]) {
      const all = samples.filter((s) => s.proc === p);
      const warm = all.filter((s) => s.t >= WARMUP_MS).map((s) => s.rss);
      if (warm.length < 3) {
        flat = false;
        lines.push(`process ${p}: only ${warm.length} samples after warm-up`);
        continue;
      }
      const sorted = [...warm].sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1];
      const last = warm[warm.length - 1];
      const ok = Math.abs(last - median) <= FLAT_TOLERANCE * median;
      flat &&= ok;
      lines.push(
        `process ${p}: ${all.length} samples, ${warm.length} after ${WARMUP_MS / 1000} s warm-up: first ${mib(warm[0])}, median ${mib(median)}, max ${mib(sorted[sorted.length - 1])}, last ${mib(last)} MiB`,
      );
    }
    check("memory: RSS flat (last within 20% of the median after warm-up)", flat, lines.join("; "));

    const stopCode = await tracker.stop();
    logs.warn.push(...tracker.logs("warn"));
    logs.error.push(...tracker.logs("error"));
    tracker = null;
    check("final SIGTERM exits 0", stopCode === 0, `exit code ${stopCode}`);
    check(
      "tracker log: no errors or warnings",
      logs.error.length === 0 && logs.warn.length === 0,
      `${logs.error.length} errors, ${logs.warn.length} warnings`,
    );
    for (const l of [...logs.error, ...logs.warn].slice(0, 5)) console.log(`  log: ${l.slice(0, 300)}`);
  } finally {
    if (tracker !== null) tracker.proc.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }

  console.log("");
  for (const [what, ok, detail] of checks) console.log(`${ok ? "PASS" : "FAIL"}  ${what}: ${detail}`);
  const passed = checks.every(([, ok]) => ok);
  console.log(`\nsoak ${passed ? "passed" : "FAILED"}`);
  return passed ? 0 : 1;
}

process.exit(await main());
