// Built-in TLS with certificates made at test time: HTTPS announce and scrape, the APIs, WSS announce, plain
// HTTP and HTTPS side by side (--tls-listen), a renewal by file replacement (as ACME clients do it) taken
// without a restart while a WSS connection stays open, a bad renewal refused with the old certificate kept,
// SIGHUP, and a mismatched key refused at start with one line and exit code 2.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeBencode } from "../../src/codec/bencode-decode.ts";
import { makePair } from "../helpers/certs.ts";
import { pct, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { startTracker } from "../helpers/tracker-process.ts";
import { bin20, webtorrentPeerId } from "../helpers/ws-client.ts";

let dir: string;
let a: { cert: string; key: string };
let b: { cert: string; key: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "buntracker-tls-server-"));
  a = makePair(dir, "a");
  b = makePair(dir, "b", ["-newkey", "rsa:2048"]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pem = (path: string) => readFileSync(path, "utf8");

/** GET over HTTPS trusting only the certificate in `caPath` (so it also tells which certificate is served). */
function httpsGet(url: string, caPath: string): Promise<Response> {
  return fetch(url, { tls: { ca: pem(caPath) } } as RequestInit);
}

/** Whether `port` serves the certificate in `caPath` to a new connection. */
async function serves(port: number, caPath: string): Promise<boolean> {
  try {
    return (await httpsGet(`https://127.0.0.1:${port}/healthz`, caPath)).ok;
  } catch {
    return false;
  }
}

function wssOpen(url: string, caPath: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { tls: { ca: pem(caPath) } } as never);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`cannot open ${url}`));
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) =>
    ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data))), { once: true }),
  );
}

/** Resolves when a log line containing `text` appears (the watcher reports asynchronously). */
async function logged(t: TestTracker, text: string, from = 0): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = t.logs.slice(from).find((l) => l.includes(text));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no log line with ${text}:\n${t.logs.slice(from).join("\n")}`);
    await Bun.sleep(20);
  }
}

/**
 * Resolves when every thread (--workers: each watches the files itself, and its lines carry a `worker` field)
 * has logged a line containing `text` since `from`; returns the first.
 */
async function loggedByEveryThread(t: TestTracker, text: string, from: number): Promise<string> {
  const first = await logged(t, text, from);
  const threadsLogged = () =>
    new Set(
      t.logs
        .slice(from)
        .filter((l) => l.includes(text))
        .map((l) => (JSON.parse(l) as { worker?: number }).worker ?? 0),
    ).size;
  const deadline = Date.now() + 10_000;
  while (threadsLogged() < t.threads) {
    if (Date.now() > deadline) throw new Error(`not every thread logged ${text}:\n${t.logs.slice(from).join("\n")}`);
    await Bun.sleep(20);
  }
  return first;
}

/** Replaces the files the way ACME clients do: write elsewhere, then rename over. */
function install(from: { cert: string; key: string }, to: { cert: string; key: string }): void {
  for (const [src, dst] of [
    [from.cert, to.cert],
    [from.key, to.key],
  ] as const) {
    const tmp = `${dst}.new`;
    Bun.spawnSync(["cp", src, tmp]);
    renameSync(tmp, dst);
  }
}

describe("HTTPS on --listen", () => {
  let t: TestTracker;
  let live: { cert: string; key: string };
  beforeAll(async () => {
    const liveDir = mkdtempSync(join(dir, "live-"));
    live = { cert: join(liveDir, "fullchain.pem"), key: join(liveDir, "privkey.pem") };
    install(a, live);
    t = await startTestTracker(["--udp-listen", "off", "--tls-cert", live.cert, "--tls-key", live.key]);
  });
  afterAll(() => t.stop());

  test("announce, scrape and the JSON API answer over HTTPS; plain HTTP is not spoken", async () => {
    const hash = sha1("https torrent");
    const base = `https://127.0.0.1:${t.httpPort}`;
    const announce = await httpsGet(
      `${base}/announce?info_hash=${pct(hash)}&peer_id=-qB4650-000000000001&port=6881&left=0&compact=1`,
      a.cert,
    );
    const body = decodeBencode(new Uint8Array(await announce.arrayBuffer())) as Record<string, unknown>;
    expect([body.complete, body.incomplete]).toEqual([1, 0]);
    const scrape = decodeBencode(
      new Uint8Array(await (await httpsGet(`${base}/scrape?info_hash=${pct(hash)}`, a.cert)).arrayBuffer()),
    ) as { files: Record<string, unknown> };
    expect(Object.values(scrape.files)).toEqual([{ complete: 1, downloaded: 0, incomplete: 0 }]);
    const stats = (await (await httpsGet(`${base}/api/stats`, a.cert)).json()) as Record<string, unknown>;
    expect(stats.peers).toBe(1);
    await expect(fetch(`http://127.0.0.1:${t.httpPort}/healthz`)).rejects.toThrow();
  });

  test("WSS announce; a renewal is served to new connections while the open WSS connection keeps working", async () => {
    const ws = await wssOpen(`wss://127.0.0.1:${t.httpPort}/announce`, a.cert);
    const hash = bin20("wss torrent");
    ws.send(JSON.stringify({ action: "announce", info_hash: hash, peer_id: webtorrentPeerId(1), left: 1 }));
    expect(await nextMessage(ws)).toMatchObject({ action: "announce", info_hash: hash, incomplete: 1 });

    const from = t.logs.length;
    install(b, live);
    expect(await loggedByEveryThread(t, "TLS certificate reloaded", from)).toContain('"subject":"CN=b.test"');
    expect(await serves(t.httpPort, b.cert)).toBe(true);
    expect(await serves(t.httpPort, a.cert)).toBe(false);
    // The connection opened before the renewal is still served.
    ws.send(JSON.stringify({ action: "scrape", info_hash: hash }));
    expect(await nextMessage(ws)).toMatchObject({ action: "scrape", files: { [hash]: { incomplete: 1 } } });
    ws.close();
  });

  test("a renewal whose key does not match is refused, and the certificate in service stays", async () => {
    const before = (await serves(t.httpPort, b.cert)) ? b : a;
    const from = t.logs.length;
    install({ cert: a.cert, key: b.key }, live);
    const line = await loggedByEveryThread(t, "TLS certificate not reloaded", from);
    expect(line).toContain(`--tls-key ${live.key} does not match the certificate in ${live.cert}`);
    expect(await serves(t.httpPort, before.cert)).toBe(true);
    // Fixing the files is picked up too (here by an explicit reload, which SIGHUP calls, in this thread; the
    // watch of any other thread sees the change).
    const fixed = t.logs.length;
    install(a, live);
    expect(t.reloadTls()).toBe("loaded");
    await loggedByEveryThread(t, "TLS certificate reloaded", fixed);
    expect(await serves(t.httpPort, a.cert)).toBe(true);
  });
});

test("--tls-listen serves HTTPS beside plain HTTP", async () => {
  const t = await startTestTracker([
    "--udp-listen",
    "off",
    "--tls-cert",
    a.cert,
    "--tls-key",
    a.key,
    "--tls-listen",
    "127.0.0.1:0",
  ]);
  try {
    expect(t.tlsPort).not.toBe(t.httpPort);
    expect((await fetch(`http://127.0.0.1:${t.httpPort}/healthz`)).ok).toBe(true);
    expect(await serves(t.tlsPort!, a.cert)).toBe(true);
  } finally {
    await t.stop();
  }
});

describe("the command line", () => {
  test("a key that does not match the certificate: one line, exit code 2", async () => {
    const proc = Bun.spawn(
      [
        process.execPath,
        join(import.meta.dir, "../../src/main.ts"),
        "--listen",
        "127.0.0.1:0",
        "--udp-listen",
        "off",
        "--tls-cert",
        a.cert,
        "--tls-key",
        b.key,
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toBe(
      `buntracker: --tls-key ${b.key} does not match the certificate in ${a.cert}\n`,
    );
  });

  test("--tls-cert without --tls-key: one line, exit code 2", async () => {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "--tls-cert", a.cert], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toBe("buntracker: --tls-cert needs --tls-key PATH too\n");
  });

  test("SIGHUP re-reads the certificate", async () => {
    const liveDir = mkdtempSync(join(dir, "hup-"));
    const live = { cert: join(liveDir, "cert.pem"), key: join(liveDir, "key.pem") };
    install(a, live);
    const p = await startTracker([
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--tls-cert",
      live.cert,
      "--tls-key",
      live.key,
    ]);
    try {
      install(b, live);
      p.proc.kill("SIGHUP");
      const deadline = Date.now() + 10_000;
      while (!p.output().includes('"cause":"signal"') && Date.now() < deadline) await Bun.sleep(20);
      expect(p.output()).toMatch(/"msg":"TLS certificate reloaded".*"subject":"CN=b.test".*"cause":"signal"/);
      expect(await serves(p.httpPort, b.cert)).toBe(true);
    } finally {
      expect(await p.stop()).toBe(0);
    }
  });
});
