// --workers 2 and the admin /healthz: it answers 200 only while every thread serves. It is 503, naming the
// thread, from the admin listener's start until the other threads are ready, and from a thread's death until
// its restart; the public /healthz stays the cheap "this thread answers" check.

import { afterEach, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/clients.ts";
import { announceQuery, getBencode, latin1, pct } from "../helpers/http-client.ts";
import { Health } from "../../src/server/health.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { hashesForBothOwners } from "../helpers/owners.ts";

const running: TestTracker[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function health(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: "close" } });
  return { status: res.status, body: await res.text() };
}

/** Waits (polling the captured logs: the pool logs the death when it sees it) until thread 1's death is logged. */
async function deathLogged(t: TestTracker): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!t.logs.some((l) => l.includes("worker thread ended")) && Date.now() < deadline) await Bun.sleep(2);
}

/** Polls the admin /healthz until it answers 200 (or 10 s pass); each earlier answer must name thread 1. */
async function healthyAgain(admin: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + 10_000;
  let last = await health(admin);
  while (last.status !== 200 && Date.now() < deadline) {
    expect(last.body).toContain("thread 1 restarting");
    await Bun.sleep(20);
    last = await health(admin);
  }
  return last;
}

test("a thread that dies: 503 naming it until it is back, then 200", async () => {
  const t = await startTestTracker(["--workers", "2", "--admin-listen", "127.0.0.1:0"]);
  running.push(t);
  const admin = t.adminPort!;
  expect(await health(admin)).toEqual({ status: 200, body: "ok\n" });

  t.pool!.terminate(1);
  // (the runtime ends the thread asynchronously; the restart is 100 ms after the death at the earliest)
  await deathLogged(t);
  expect(await health(admin)).toEqual({
    status: 503,
    body: "unhealthy: worker threads: 1 of 2 serving (thread 1 restarting)\n",
  });
  // The public port still answers: it says only that the thread that read it serves HTTP.
  expect((await fetch(`http://127.0.0.1:${t.httpPort}/healthz`, { headers: { connection: "close" } })).status).toBe(
    200,
  );

  expect(await healthyAgain(admin)).toEqual({ status: 200, body: "ok\n" });
  expect(t.pool!.running).toBe(2);
  expect(t.logs.some((l) => l.includes("worker thread started again"))).toBe(true);
});

test("at start: 503 naming the thread still starting, 200 once every thread serves", async () => {
  // A fixed port: the admin listener answers while the tracker is still starting its other thread.
  const admin = await freePort();
  let started = false;
  const starting = startTestTracker(["--workers", "2", "--admin-listen", `127.0.0.1:${admin}`]).then((t) => {
    started = true;
    running.push(t);
    return t;
  });
  const seen: { status: number; body: string }[] = [];
  while (!started) {
    const answer = await health(admin).catch(() => null); // (refused until the listener is up)
    if (answer !== null && !started) seen.push(answer);
    await Bun.sleep(2);
  }
  const t = await starting;
  // The admin listener starts before the other thread; its first answers come while that thread starts.
  expect(seen.length).toBeGreaterThan(0);
  expect(seen[0]).toEqual({ status: 503, body: "unhealthy: worker threads: 1 of 2 serving (thread 1 starting)\n" });
  // (A 200 may come just before the start returns: the thread is ready, the main thread sums its restore.)
  expect(await health(admin)).toEqual({ status: 200, body: "ok\n" });
  expect(t.pool!.running).toBe(2);
});

test("a graceful stop: 503 stopping while the threads stop serving, before the admin listener closes", async () => {
  const t = await startTestTracker(["--workers", "2", "--admin-listen", "127.0.0.1:0"]);
  expect(await health(t.adminPort!)).toEqual({ status: 200, body: "ok\n" });
  const stopping = t.stop();
  // Asked until the listener is gone: the threads' stop takes a round trip or two, so usually one or more answers
  // come first, and none of them may say "ok".
  const answers: { status: number; body: string }[] = [];
  for (;;) {
    const answer = await health(t.adminPort!).catch(() => null);
    if (answer === null) break;
    answers.push(answer);
  }
  await stopping;
  for (const answer of answers) expect(answer).toEqual({ status: 503, body: "unhealthy: stopping\n" });
});

test("Health: a stopping tracker is unhealthy, whatever else holds", async () => {
  const health = new Health({ udp: () => null, udpWanted: false, lag: { worstMs: 0 }, stateFile: null });
  expect(await health.problems()).toEqual([]);
  health.stopping = true;
  expect(await health.problems()).toEqual(["stopping"]);
});

test("--state-file: a thread that dies is healthy again only once it has its share of the file back", async () => {
  const root = await mkdtemp(join(tmpdir(), "buntracker-workers-health-"));
  let t: TestTracker | null = null;
  try {
    const file = join(root, "state.bin");
    const [, owned] = hashesForBothOwners(2, "health"); // the second is thread 1's
    const one = await startTestTracker(["--state-file", file, "--rate-limit", "0"]);
    const q = announceQuery({ infoHash: owned, port: 6881, left: 0, event: "completed" });
    expect((await getBencode(`http://127.0.0.1:${one.httpPort}/announce?${q}`)).status).toBe(200);
    await one.stop(); // saves

    t = await startTestTracker(["--workers", "2", "--admin-listen", "127.0.0.1:0", "--state-file", file]);
    const logs = t.logs;
    const restoredBy1 = () => logs.filter((l) => l.includes('"state: share restored"') && l.includes('"worker":1'));
    expect(restoredBy1().length).toBe(1);
    t.pool!.terminate(1);
    await deathLogged(t);
    expect((await health(t.adminPort!)).status).toBe(503);
    expect(await healthyAgain(t.adminPort!)).toEqual({ status: 200, body: "ok\n" });
    // By the first 200 the thread has restored its share again (its log line comes before its "ready").
    expect(restoredBy1().length).toBe(2);
    const scrape = await getBencode(`http://127.0.0.1:${t.httpPort}/scrape?info_hash=${pct(owned)}`);
    expect((scrape.body.files as Record<string, Record<string, number>>)[latin1(owned)]).toMatchObject({ complete: 1 });
  } finally {
    await t?.stop(); // (its final save, before the folder goes)
    await rm(root, { recursive: true, force: true });
  }
});
