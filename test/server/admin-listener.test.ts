// --admin-listen: the admin API and /metrics only on the private listener (404 on the public port), the
// dashboard and its JSON on both unless --public-stats off, and the private /healthz that checks the UDP
// socket, the event-loop lag and the state file's folder.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_HEALTHY_LAG_MS } from "../../src/server/health.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";

const TOKEN = "s3cret-admin-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };

let root: string;
const running: TestTracker[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "buntracker-admin-listen-"));
});
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function start(args: string[]): Promise<TestTracker> {
  const t = await startTestTracker(args);
  running.push(t);
  return t;
}

const pub = (t: TestTracker, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${t.httpPort}${path}`, init);
const adm = (t: TestTracker, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${t.adminPort}${path}`, init);

async function health(t: TestTracker): Promise<{ status: number; body: string }> {
  const res = await adm(t, "/healthz");
  return { status: res.status, body: await res.text() };
}

describe("admin listener", () => {
  test("serves the admin API and /metrics; the public port answers 404 for them", async () => {
    const list = join(root, "deny.txt");
    await Bun.write(list, "");
    const t = await start([
      "--admin-listen",
      "127.0.0.1:0",
      "--admin-token",
      TOKEN,
      "--blacklist",
      list,
      "--udp-listen",
      "off",
    ]);
    expect(t.adminPort).toBeGreaterThan(0);
    expect(t.adminPort).not.toBe(t.httpPort);

    const metrics = await adm(t, "/metrics");
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("buntracker_");
    const admin = await adm(t, "/api/blacklist", { headers: AUTH });
    expect(admin.status).toBe(200);
    expect(await admin.json()).toMatchObject({ mode: "deny", total: 0 });

    for (const path of ["/metrics", "/api/blacklist"]) {
      const res = await pub(t, path, { headers: AUTH });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain("buntracker_");
    }
    const post = await pub(t, "/api/blacklist", {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ info_hash: "ab".repeat(20) }),
    });
    expect(post.status).toBe(404);
    expect(await Bun.file(list).text()).toBe("");

    // Tracker traffic stays on the public port.
    expect((await adm(t, "/announce")).status).toBe(404);
    expect((await pub(t, "/announce")).status).toBe(200);
    // The public /healthz stays the cheap liveness check.
    expect(await (await pub(t, "/healthz")).text()).toBe("ok\n");
  });

  test("the dashboard's JSON is on both ports; --public-stats off keeps it off the public one", async () => {
    const on = await start(["--admin-listen", "127.0.0.1:0", "--udp-listen", "off"]);
    expect((await pub(on, "/api/stats")).status).toBe(200);
    expect((await adm(on, "/api/stats")).status).toBe(200);

    const off = await start(["--admin-listen", "127.0.0.1:0", "--udp-listen", "off", "--public-stats", "off"]);
    for (const path of ["/api/stats", "/api/trends", "/", "/metrics"]) expect((await pub(off, path)).status).toBe(404);
    const stats = await adm(off, "/api/stats");
    expect(stats.status).toBe(200);
    expect(await stats.json()).toHaveProperty("torrents");
    const page = await adm(off, "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect((await pub(off, "/announce")).status).toBe(200);
  });

  test("without --admin-listen everything stays on the public port, as before", async () => {
    const t = await start(["--udp-listen", "off"]);
    expect(t.adminPort).toBeNull();
    expect((await pub(t, "/metrics")).status).toBe(200);
    expect((await pub(t, "/api/stats")).status).toBe(200);
    expect((await pub(t, "/api/blacklist", { headers: AUTH })).status).toBe(404); // (no token: the API is off)

    // --public-stats off alone: no dashboard or statistics; /metrics and the admin API stay where they were.
    const off = await start(["--udp-listen", "off", "--public-stats", "off", "--admin-token", TOKEN]);
    expect((await pub(off, "/api/stats")).status).toBe(404);
    expect((await pub(off, "/")).status).toBe(404);
    expect((await pub(off, "/metrics")).status).toBe(200);
    expect((await pub(off, "/api/blacklist", { headers: AUTH })).status).toBe(409); // on, but no access list
  });

  test("/healthz: 200 when healthy; 503 with the reason when the UDP socket is closed", async () => {
    const t = await start(["--admin-listen", "127.0.0.1:0", "--udp-listen", "127.0.0.1:0"]);
    expect(await health(t)).toEqual({ status: 200, body: "ok\n" });
    expect((await adm(t, "/healthz", { method: "HEAD" })).status).toBe(200);
    t.udp!.close();
    expect(await health(t)).toEqual({ status: 503, body: "unhealthy: the UDP socket is not open\n" });
    expect((await adm(t, "/healthz", { method: "HEAD" })).status).toBe(503);
    expect((await pub(t, "/healthz")).status).toBe(200);
  });

  test("/healthz: 503 while the event loop lags over the bound", async () => {
    const t = await start(["--admin-listen", "127.0.0.1:0", "--udp-listen", "off"]);
    t.lag.record(MAX_HEALTHY_LAG_MS - 1);
    expect((await health(t)).status).toBe(200);
    t.lag.record(MAX_HEALTHY_LAG_MS + 500);
    expect(await health(t)).toEqual({
      status: 503,
      body: `unhealthy: event-loop lag ${MAX_HEALTHY_LAG_MS + 500} ms (over ${MAX_HEALTHY_LAG_MS} ms)\n`,
    });
  });

  test("/healthz: 503 with the reason when the state file's folder can no longer be written", async () => {
    const dir = join(root, "state");
    await mkdir(dir);
    const path = join(dir, "state.bin");
    const t = await start(["--admin-listen", "127.0.0.1:0", "--udp-listen", "off", "--state-file", path]);
    expect((await health(t)).status).toBe(200);
    await rm(dir, { recursive: true });
    expect(await health(t)).toEqual({
      status: 503,
      body: `unhealthy: --state-file ${path} cannot be saved: its folder does not exist\n`,
    });
    await mkdir(dir);
    expect((await health(t)).status).toBe(200);
  });

  test("/healthz lists every failing check; other methods get 405", async () => {
    const dir = join(root, "state2");
    await mkdir(dir);
    const t = await start([
      "--admin-listen",
      "127.0.0.1:0",
      "--udp-listen",
      "127.0.0.1:0",
      "--state-file",
      join(dir, "s.bin"),
    ]);
    t.udp!.close();
    await rm(dir, { recursive: true });
    const { status, body } = await health(t);
    expect(status).toBe(503);
    expect(body).toStartWith("unhealthy: the UDP socket is not open; --state-file ");
    expect((await adm(t, "/healthz", { method: "POST" })).status).toBe(405);
  });
});
