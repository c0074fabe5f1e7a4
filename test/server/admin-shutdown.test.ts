// POST /admin/shutdown on the operators' listener: the graceful stop the Windows installer asks for (its
// scheduled task has no SIGTERM). With the admin token it saves the state file and exits 0, as SIGTERM does;
// without it, it is refused and counted like any failed admin login; the public port does not have it.
import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { announceQuery, getBencode, sha1 } from "../helpers/http-client.ts";
import { startTracker, type TrackerProcess } from "../helpers/tracker-process.ts";

const TOKEN = "shutdown-test-token-0123456789";
let dir = "";
let tracker: TrackerProcess | null = null;
afterEach(async () => {
  await tracker?.stop("SIGKILL");
  tracker = null;
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

test("with the admin token the tracker saves its state and exits 0; without it, 401 and it keeps running", async () => {
  dir = await mkdtemp(join(tmpdir(), "admin-shutdown-"));
  const state = join(dir, "state.bin");
  tracker = await startTracker(
    ["--listen", "127.0.0.1:0", "--udp-listen", "off", "--admin-listen", "127.0.0.1:0", "--state-file", state],
    { BUNTRACKER_ADMIN_TOKEN: TOKEN },
  );
  const adminPort = Number(/"adminPort":(\d+)/.exec(tracker.output())![1]);
  const announced = await getBencode(
    `http://127.0.0.1:${tracker.httpPort}/announce?${announceQuery({ infoHash: sha1("shutdown"), port: 7000, left: 0 })}`,
  );
  expect(announced.body.complete).toBe(1);

  const url = `http://127.0.0.1:${adminPort}/admin/shutdown`;
  expect((await fetch(url, { method: "POST" })).status).toBe(401);
  expect(
    (await fetch(url, { method: "POST", headers: { authorization: "Bearer wrong-token-wrong-token" } })).status,
  ).toBe(401);
  expect((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405); // GET
  expect(
    (
      await fetch(`http://127.0.0.1:${tracker.httpPort}/admin/shutdown`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).status,
  ).toBe(404);
  expect(tracker.proc.exitCode).toBeNull();

  const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ ok: true, stopping: true });
  expect(await tracker.proc.exited).toBe(0);
  expect(tracker.output()).toContain('"signal":"admin request"');
  expect(tracker.output()).toContain('"msg":"stopped"');
  expect((await stat(state)).size).toBeGreaterThan(0);
  tracker = null;
});
