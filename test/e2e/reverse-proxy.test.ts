// The reverse-proxy recipes of docs/reverse-proxy.md, for real: each block is taken from the doc, pointed at
// loopback ports (and, for nginx, a certificate made here), and run by a private nginx or Caddy (own config,
// files and ports, stopped by its pid) in front of the tracker started with --trust-proxy. Clients reach the
// proxy over IPv6 (::1) while the proxy reaches the tracker over IPv4 (127.0.0.1), so the address the tracker
// stores tells whether it saw the client or the proxy. Each proxy's tests are skipped, saying so, only when it is
// not installed (Debian: apt-get install nginx caddy).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { parseArgs } from "../../src/config/parse-args.ts";
import { WS_IDLE_TIMEOUT_S } from "../../src/server/http-server.ts";
import { makePair } from "../helpers/certs.ts";
import { announceQuery, compactPeers, getBencode, latin1, loopbackPeer, sha1 } from "../helpers/http-client.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";
import { bin20, webtorrentPeerId } from "../helpers/ws-client.ts";

const DOC = join(import.meta.dir, "..", "..", "docs", "reverse-proxy.md");
const NGINX = Bun.which("nginx") ?? ["/usr/sbin/nginx", "/usr/local/sbin/nginx"].find((p) => existsSync(p)) ?? null;
const CADDY = Bun.which("caddy") ?? null;
for (const [name, path] of [
  ["nginx", NGINX],
  ["caddy", CADDY],
]) {
  if (path === null)
    console.warn(`reverse-proxy.test.ts: ${name} tests SKIPPED: ${name} is not installed (apt-get install ${name})`);
}

/** The first ```nginx (or ```caddy) block of the doc: the recipe operators copy. */
function recipe(kind: "nginx" | "caddy" = "nginx"): string {
  const m = readFileSync(DOC, "utf8").match(new RegExp(`\`\`\`${kind}\\n([\\s\\S]*?)\`\`\``));
  if (m === null) throw new Error(`docs/reverse-proxy.md has no \`\`\`${kind} block`);
  return m[1];
}

function replaceOnce(text: string, from: string, to: string): string {
  const n = text.split(from).length - 1;
  if (n !== 1)
    throw new Error(
      `the recipe in docs/reverse-proxy.md should contain "${from}" once (found ${n}): this test adapts it to loopback ports`,
    );
  return text.replace(from, () => to);
}

/** A port free on both 127.0.0.1 and ::1 (nginx listens on both, as the recipe does on 0.0.0.0 and [::]). */
function freePort(): number {
  for (;;) {
    const a = Bun.listen({ hostname: "::1", port: 0, socket: { data() {} } });
    const port = a.port;
    try {
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
      return port;
    } catch {
      // taken on IPv4: try another
    } finally {
      a.stop(true);
    }
  }
}

/** A setting's value in seconds, as the recipe writes it (`proxy_read_timeout 300s;`). */
function seconds(conf: string, directive: string): number {
  const m = conf.match(new RegExp(`^\\s*${directive}\\s+(\\d+)s?;`, "m"));
  if (m === null) throw new Error(`the nginx recipe sets no ${directive}`);
  return Number(m[1]);
}

function wsOpen(url: string, ca?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, (ca === undefined ? {} : { tls: { ca } }) as never);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`cannot open ${url}`));
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) =>
    ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data))), { once: true }),
  );
}

/** A WebSocket handshake sent by hand, to read the status of a refused one (a browser only sees "error"). */
function handshakeStatus(url: string, ca?: string): Promise<number> {
  return fetch(url, {
    headers: {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    },
    ...(ca === undefined ? {} : { tls: { ca } }),
  } as RequestInit).then((r) => r.status);
}

/** The tracker, HTTP on 127.0.0.1 only, believing the proxy (127.0.0.1); one WebSocket per client address. */
function startProxiedTracker(): Promise<TrackerProcess> {
  return startTracker([
    "--listen",
    "127.0.0.1:0",
    "--udp-listen",
    "off",
    "--trust-proxy",
    "127.0.0.1",
    "--ws-max-sockets-per-ip",
    "1",
  ]);
}

/** Asks `base` (the proxy) until the tracker answers through it: proxies say nothing when they are ready. */
async function untilServing(base: string, proxy: Subprocess, log: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proxy.exitCode !== null) throw new Error(`the proxy exited with ${proxy.exitCode}:\n${await log()}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the proxy did not answer within 10 s:\n${await log()}`);
    await Bun.sleep(25);
  }
}

const IPV6_LOOPBACK = latin1(new Uint8Array([...new Uint8Array(15), 1]));

/**
 * Announces through the proxy at each of `urls` (ports 6881, 6882, ...) with a forged X-Forwarded-For, and checks
 * that the tracker saw the client (::1): in the reply's external ip (BEP 24), and in the peers it hands another
 * client that asks directly. Nobody is stored as the proxy's 127.0.0.1 or as the forged address.
 */
async function expectClientAddress(tracker: TrackerProcess, label: string, urls: string[], ca?: string) {
  const infoHash = sha1(label);
  const init = { headers: { "x-forwarded-for": "203.0.113.9" }, ...(ca === undefined ? {} : { tls: { ca } }) };
  const ports = urls.map((_, i) => 6881 + i);
  for (const [i, base] of urls.entries()) {
    const r = await getBencode(
      `${base}/announce?${announceQuery({ infoHash, port: ports[i], left: 1 })}`,
      init as RequestInit,
    );
    expect(r.status).toBe(200);
    expect(r.body["failure reason"]).toBeUndefined();
    expect(r.body["external ip"]).toBe(IPV6_LOOPBACK);
  }
  const direct = await getBencode(
    `http://127.0.0.1:${tracker.httpPort}/announce?${announceQuery({ infoHash, port: 7000, left: 1 })}`,
  );
  expect(direct.body.incomplete).toBe(urls.length + 1);
  expect(compactPeers(direct.body.peers6, 18).sort()).toEqual(ports.map((p) => loopbackPeer("::1", p)));
  expect(compactPeers(direct.body.peers, 6)).toEqual([]);
}

/**
 * A WebTorrent announce over the proxied WebSocket at `wsUrl` is answered; with --ws-max-sockets-per-ip 1 a
 * second connection from the same client is refused (429, through the proxy at `httpUrl`), while one from
 * 127.0.0.1, the proxy's own address, is still welcome: the first was counted against the client.
 */
async function expectWebSocketCountsClient(tracker: TrackerProcess, wsUrl: string, httpUrl: string, ca?: string) {
  const browser = await wsOpen(wsUrl, ca);
  const infoHash = bin20(`webtorrent via ${wsUrl}`);
  const reply = nextMessage(browser);
  const announce = {
    action: "announce",
    info_hash: infoHash,
    peer_id: webtorrentPeerId(1),
    left: 1,
    numwant: 0,
    offers: [],
  };
  browser.send(JSON.stringify(announce));
  const m = await reply;
  expect(m["failure reason"]).toBeUndefined();
  expect(m).toMatchObject({ action: "announce", info_hash: infoHash, incomplete: 1 });
  expect(await handshakeStatus(httpUrl, ca)).toBe(429);
  const local = await wsOpen(`ws://127.0.0.1:${tracker.httpPort}/announce`).catch(() => {
    throw new Error("a direct connection from 127.0.0.1 was refused: the proxied one was counted as the proxy's");
  });
  local.close();
  browser.close();
}

describe.skipIf(NGINX === null)("nginx recipe from docs/reverse-proxy.md", () => {
  let dir: string;
  let ca: string;
  let tracker: TrackerProcess;
  let nginx: Subprocess | undefined;
  let plain: string; // http://[::1]:PORT through nginx
  let tls: string; // https://[::1]:PORT through nginx

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "buntracker-nginx-"));
    const { cert, key } = makePair(dir, "proxy", undefined, "IP:::1,IP:127.0.0.1,DNS:localhost");
    ca = await readFile(cert, "utf8");
    tracker = await startProxiedTracker();
    const [plainPort, tlsPort] = [freePort(), freePort()];
    let server = recipe();
    server = replaceOnce(server, "listen 80;", `listen 127.0.0.1:${plainPort};`);
    server = replaceOnce(server, "listen [::]:80;", `listen [::1]:${plainPort};`);
    server = replaceOnce(server, "listen 443 ssl;", `listen 127.0.0.1:${tlsPort} ssl;`);
    server = replaceOnce(server, "listen [::]:443 ssl;", `listen [::1]:${tlsPort} ssl;`);
    server = replaceOnce(server, "server 127.0.0.1:6969;", `server 127.0.0.1:${tracker.httpPort};`);
    server = replaceOnce(server, "/etc/letsencrypt/live/tracker.example.org/fullchain.pem", cert);
    server = replaceOnce(server, "/etc/letsencrypt/live/tracker.example.org/privkey.pem", key);
    // A private nginx: its own prefix for the pid, logs and temporary files; in the foreground as one process,
    // so this test owns it and stops it by its pid.
    const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
      .map((t) => `  ${t}_temp_path ${join(dir, t)};`)
      .join("\n");
    await writeFile(
      join(dir, "nginx.conf"),
      `daemon off;\nmaster_process off;\npid ${join(dir, "nginx.pid")};\nevents { worker_connections 64; }\nhttp {\n  access_log off;\n${temp}\n${server}\n}\n`,
    );
    const errorLog = join(dir, "error.log");
    nginx = Bun.spawn([NGINX!, "-p", `${dir}/`, "-c", join(dir, "nginx.conf"), "-e", errorLog], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    plain = `http://[::1]:${plainPort}`;
    tls = `https://[::1]:${tlsPort}`;
    await untilServing(plain, nginx, async () => {
      const stderr = await new Response(nginx?.stderr as ReadableStream).text();
      return stderr + (await readFile(errorLog, "utf8").catch(() => ""));
    });
  });

  afterAll(async () => {
    if (nginx !== undefined) {
      nginx.kill("SIGTERM");
      await nginx.exited;
    }
    await tracker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("HTTP and HTTPS announces reach the tracker with the client's address, not nginx's nor a forged one", async () => {
    await expectClientAddress(tracker, "behind nginx", [plain, tls], ca);
  });

  test("a WSS announce through nginx is answered, and the per-address WebSocket limit counts the client", async () => {
    await expectWebSocketCountsClient(tracker, `${tls.replace("https:", "wss:")}/announce`, `${tls}/announce`, ca);
  });
});

describe.skipIf(CADDY === null)("Caddy recipe from docs/reverse-proxy.md", () => {
  let dir: string;
  let tracker: TrackerProcess;
  let caddy: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  let log = "";
  let base: string; // http://[::1]:PORT through Caddy

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "buntracker-caddy-"));
    tracker = await startProxiedTracker();
    const port = freePort();
    // No certificate for a real name here: the site is served over plain HTTP on a loopback port.
    let site = recipe("caddy");
    site = replaceOnce(site, "http://tracker.example.org, https://tracker.example.org {", `http://[::1]:${port} {`);
    site = replaceOnce(site, "127.0.0.1:6969", `127.0.0.1:${tracker.httpPort}`);
    await writeFile(join(dir, "Caddyfile"), `{\n\tadmin off\n\tauto_https off\n}\n${site}`);
    // A private Caddy: its data and autosaved config under the test's folder, in the foreground, stopped by pid.
    caddy = Bun.spawn([CADDY!, "run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
      env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of caddy.stderr) log += decoder.decode(chunk, { stream: true });
    })();
    base = `http://[::1]:${port}`;
    await untilServing(base, caddy, async () => log);
  });

  afterAll(async () => {
    if (caddy !== undefined) {
      caddy.kill("SIGTERM");
      await caddy.exited;
    }
    await tracker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("an HTTP announce reaches the tracker with the client's address, not Caddy's nor a forged one", async () => {
    await expectClientAddress(tracker, "behind caddy", [base]);
  });

  test("a WebSocket announce through Caddy is answered, and the per-address WebSocket limit counts the client", async () => {
    await expectWebSocketCountsClient(tracker, `${base.replace("http:", "ws:")}/announce`, `${base}/announce`);
  });
});

// Needs no nginx: the recipe as written.
test("the recipe keeps an idle WebSocket open longer than the tracker's ping interval and the browsers' announces", () => {
  const conf = recipe();
  const defaults = parseArgs([], {});
  if (defaults.kind !== "run") throw new Error("the default settings do not parse");
  // Browsers announce every --ws-interval-secs, +10% jitter at most.
  const longestSilence = Math.max(WS_IDLE_TIMEOUT_S, Math.ceil(defaults.config.wsIntervalS * 1.1));
  expect(seconds(conf, "proxy_read_timeout")).toBeGreaterThan(longestSilence);
  expect(seconds(conf, "proxy_send_timeout")).toBeGreaterThan(longestSilence);
});
