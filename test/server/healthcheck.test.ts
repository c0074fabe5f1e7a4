// `buntracker healthcheck [URL]` as a container HEALTHCHECK runs it: a real process, exit 0 or 1, one line.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

let root: string;
const running: TestTracker[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "buntracker-healthcheck-"));
});
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the subcommand (asynchronously: the tracker under test answers from this process). */
async function healthcheck(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BUNTRACKER_")));
  const p = Bun.spawn([process.execPath, MAIN, "healthcheck", ...args], {
    env: { ...clean, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    p.exited,
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
  ]);
  return { code, out: stdout + stderr, stdout, stderr };
}

function oneLine(out: string): string {
  const lines = out.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("buntracker: ");
  return lines[0];
}

describe("buntracker healthcheck", () => {
  test("defaults to the admin listener's /healthz from the same settings: 0 when healthy, 1 with the reason", async () => {
    const dir = join(root, "state");
    await mkdir(dir);
    const t = await startTestTracker([
      "--admin-listen",
      "127.0.0.1:0",
      "--udp-listen",
      "off",
      "--state-file",
      join(dir, "s.bin"),
    ]);
    running.push(t);
    const env = { BUNTRACKER_ADMIN_LISTEN: `127.0.0.1:${t.adminPort}` };
    const ok = await healthcheck([], env);
    expect(ok.code).toBe(0);
    expect(oneLine(ok.stdout)).toBe(`buntracker: healthy: http://127.0.0.1:${t.adminPort}/healthz answered 200 (ok)`);
    await rm(dir, { recursive: true });
    const bad = await healthcheck(["--admin-listen", `127.0.0.1:${t.adminPort}`]);
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toContain(
      `answered 503: unhealthy: --state-file ${join(dir, "s.bin")} cannot be saved`,
    );
  });

  test("without --admin-listen: the public /healthz; with a URL: that URL", async () => {
    const t = await startTestTracker(["--udp-listen", "off"]);
    running.push(t);
    const viaListen = await healthcheck(["--listen", `[::]:${t.httpPort}`]);
    expect(viaListen.code).toBe(0);
    expect(oneLine(viaListen.out)).toContain(`http://127.0.0.1:${t.httpPort}/healthz answered 200`);
    const viaUrl = await healthcheck([`http://127.0.0.1:${t.httpPort}/healthz`]);
    expect(viaUrl.code).toBe(0);
    const notFound = await healthcheck([`http://127.0.0.1:${t.httpPort}/nothing`]);
    expect(notFound.code).toBe(1);
    expect(oneLine(notFound.out)).toContain("answered 404");
  });

  test("exits 1 with one line when nothing answers or the arguments are bad", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const refused = await healthcheck([`http://127.0.0.1:${port}/healthz`]);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.out)).toBe(
      `buntracker: unhealthy: cannot reach http://127.0.0.1:${port}/healthz: connection refused (is the tracker running?)`,
    );
    for (const args of [["ftp://x/healthz"], ["--bogus"], ["--listen", "127.0.0.1:0"]]) {
      const r = await healthcheck(args);
      expect(r.code).toBe(1);
      oneLine(r.out);
    }
  });
});
