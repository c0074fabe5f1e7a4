// The nginx recipe of docs/reverse-proxy.md, for real: the block is taken from the doc, pointed at loopback
// ports and a certificate made here, and run by a private nginx (own config, prefix and ports) in front of the
// tracker started with --trust-proxy. Clients reach nginx over IPv6 (::1) while nginx reaches the tracker over
// IPv4 (127.0.0.1), so the address the tracker stores tells whether it saw the client or the proxy.
// Skipped, saying so, only when nginx is not installed (Debian: apt-get install nginx).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { DEFAULTS } from "../../src/config/config.ts";
import { WS_IDLE_TIMEOUT_S } from "../../src/server/http-server.ts";
import { openssl } from "../helpers/certs.ts";
import { announceQuery, compactPeers, getBencode, latin1, loopbackPeer, sha1 } from "../helpers/http-client.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";
import { bin20, webtorrentPeerId } from "../helpers/ws-client.ts";

const DOC = join(import.meta.dir, "..", "..", "docs", "reverse-proxy.md");
const NGINX = Bun.which("nginx") ?? ["/usr/sbin/nginx", "/usr/local/sbin/nginx"].find((p) => existsSync(p)) ?? null;
if (NGINX === null) console.warn("reverse-proxy.test.ts: SKIPPED: nginx is not installed (apt-get install nginx)");

/** The first ```nginx block of the doc: the recipe operators copy. */
function recipe(): string {
  const m = readFileSync(DOC, "utf8").match(/```nginx\n([\s\S]*?)```/);
  if (m === null) throw new Error("docs/reverse-proxy.md has no ```nginx block");
  return m[1];
}

function replaceOnce(text: string, from: string, to: string): string {
  const n = text.split(from).length - 1;
  if (n !== 1)
    throw new Error(
      `the nginx recipe in docs/reverse-proxy.md should contain "${from}" once (found ${n}): this test adapts it to loopback ports`,
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

function wssOpen(url: string, ca: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { tls: { ca } } as never);
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
function handshakeStatus(url: string, ca: string): Promise<number> {
  return fetch(url, {
    headers: {
      Connection: "Upgrade",
      Upgrade: "websocket",
      "Sec-WebSocket-Version": "13",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    },
    tls: { ca },
  } as RequestInit).then((r) => r.status);
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
    const cert = join(dir, "proxy.crt");
    const key = join(dir, "proxy.key");
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "30",
      "-subj",
      "/CN=proxy.test",
      "-addext",
      "subjectAltName=IP:::1,IP:127.0.0.1,DNS:localhost",
    );
    ca = await readFile(cert, "utf8");
    tracker = await startTracker([
      "--listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--trust-proxy",
      "127.0.0.1",
      "--ws-max-sockets-per-ip",
      "1",
    ]);
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
    // nginx says nothing when it is ready: ask through it until the tracker answers.
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (nginx.exitCode !== null)
        throw new Error(
          `nginx exited with ${nginx.exitCode}:\n${await new Response(nginx.stderr as ReadableStream).text()}${await readFile(errorLog, "utf8").catch(() => "")}`,
        );
      const ok = await fetch(`${plain}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`nginx did not answer within 10 s:\n${await readFile(errorLog, "utf8").catch(() => "")}`);
      await Bun.sleep(25);
    }
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
    const infoHash = sha1("behind nginx");
    // The client forges X-Forwarded-For; nginx appends the address it saw, and that is the one believed.
    const forged = { headers: { "x-forwarded-for": "203.0.113.9" } };
    const viaPlain = await getBencode(`${plain}/announce?${announceQuery({ infoHash, port: 6881, left: 1 })}`, forged);
    expect(viaPlain.status).toBe(200);
    expect(viaPlain.body["failure reason"]).toBeUndefined();
    expect(viaPlain.body["external ip"]).toBe(latin1(new Uint8Array([...new Uint8Array(15), 1]))); // ::1 (BEP 24)
    const viaTls = await getBencode(`${tls}/announce?${announceQuery({ infoHash, port: 6882, left: 1 })}`, {
      ...forged,
      tls: { ca },
    } as RequestInit);
    expect(viaTls.body["external ip"]).toBe(viaPlain.body["external ip"]);
    // Another client, straight to the tracker, is handed both as ::1 peers: nobody is stored as nginx's
    // 127.0.0.1 or as the forged address.
    const direct = await getBencode(
      `http://127.0.0.1:${tracker.httpPort}/announce?${announceQuery({ infoHash, port: 7000, left: 1 })}`,
    );
    expect(direct.body.incomplete).toBe(3);
    expect(compactPeers(direct.body.peers6, 18).sort()).toEqual([loopbackPeer("::1", 6881), loopbackPeer("::1", 6882)]);
    expect(compactPeers(direct.body.peers, 6)).toEqual([]);
  });

  test("a WSS announce through nginx is answered, and the per-address WebSocket limit counts the client", async () => {
    // --ws-max-sockets-per-ip 1: the client (::1) may hold one connection, and nginx's own address none.
    const browser = await wssOpen(`${tls.replace("https:", "wss:")}/announce`, ca);
    const infoHash = bin20("webtorrent behind nginx");
    const reply = nextMessage(browser);
    browser.send(
      JSON.stringify({
        action: "announce",
        info_hash: infoHash,
        peer_id: webtorrentPeerId(1),
        left: 1,
        numwant: 0,
        offers: [],
      }),
    );
    const m = await reply;
    expect(m["failure reason"]).toBeUndefined();
    expect(m).toMatchObject({ action: "announce", info_hash: infoHash, incomplete: 1 });
    // A second connection from the same client is refused by the tracker, through nginx...
    expect(await handshakeStatus(`${tls}/announce`, ca)).toBe(429);
    // ...while one from 127.0.0.1 (nginx's address to the tracker) is still welcome: the first was not counted
    // against the proxy.
    const local = new WebSocket(`ws://127.0.0.1:${tracker.httpPort}/announce`);
    await new Promise((resolve, reject) => {
      local.onopen = resolve;
      local.onerror = () =>
        reject(new Error("a direct connection from 127.0.0.1 was refused: the proxied one was counted as nginx's"));
    });
    local.close();
    browser.close();
  });
});

// Needs no nginx: the recipe as written.
test("the recipe keeps an idle WebSocket open longer than the tracker's ping interval and the browsers' announces", () => {
  const conf = recipe();
  const longestSilence = Math.max(WS_IDLE_TIMEOUT_S, Math.ceil(DEFAULTS.wsIntervalS * 1.1));
  expect(seconds(conf, "proxy_read_timeout")).toBeGreaterThan(longestSilence);
  expect(seconds(conf, "proxy_send_timeout")).toBeGreaterThan(longestSilence);
});
