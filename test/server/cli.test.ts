// The tracker as a user runs it: a real process, real flags, real signals.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { startTracker } from "../helpers/tracker-process.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

function runOnce(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...process.env, ...env } });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe("command line", () => {
  test("--version prints the version and the commit (from git when run from source)", () => {
    const r = runOnce(["--version"]);
    expect(r.code).toBe(0);
    const m = r.stdout.trim().match(/^buntracker (\S+) \(([0-9a-f]{4,40})(-dirty)?\)$/);
    expect(m?.[1]).toBe(pkg.version);
    const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: import.meta.dir })
      .stdout.toString()
      .trim();
    expect(head).toStartWith(m![2]);
  });

  test("--help lists every flag with its environment twin", () => {
    const r = runOnce(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--listen",
      "--udp-listen",
      "--interval-secs",
      "--min-interval-secs",
      "--peer-timeout-secs",
      "--max-numwant",
      "--log-level",
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain("BUNTRACKER_PEER_TIMEOUT_SECS");
  });

  test("a bad value prints one clear line and exits 2", () => {
    for (const [args, env] of [
      [["--interval-secs", "soon"], {}],
      [["--bogus"], {}],
      [[], { BUNTRACKER_LISTEN: "nowhere" }],
    ] as const) {
      const r = runOnce([...args], env);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("buntracker: ");
      expect(r.stdout).toBe("");
    }
  });

  test("a port that is taken exits 1 with a clear line", async () => {
    const first = await startTracker(["--listen", "127.0.0.1:0", "--udp-listen", "off"]);
    try {
      const r = runOnce(["--listen", `127.0.0.1:${first.httpPort}`, "--udp-listen", "off"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `buntracker: cannot listen: HTTP port ${first.httpPort} on 127.0.0.1 is already in use (another tracker running?)\n`,
      );
    } finally {
      await first.stop();
    }
  });

  test("a UDP port that is taken names the protocol, the port and the address", async () => {
    for (const host of ["127.0.0.1", "::"]) {
      const taken = await Bun.udpSocket({ hostname: host, port: 0 });
      try {
        const at = host === "::" ? `[::]:${taken.port}` : `${host}:${taken.port}`;
        const r = runOnce(["--listen", "127.0.0.1:0", "--udp-listen", at]);
        expect(r.code).toBe(1);
        const where = host === "::" ? "[::]" : host;
        expect(r.stderr).toBe(
          `buntracker: cannot listen: UDP port ${taken.port} on ${where} is already in use (another tracker running?)\n`,
        );
      } finally {
        taken.close();
      }
    }
  });

  // Needs an unprivileged user (as root, the test drops to nobody with setpriv) and ports 80 and 81 privileged
  // (containers may lower net.ipv4.ip_unprivileged_port_start).
  const asNobody = process.getuid?.() === 0 && Bun.which("setpriv") !== null;
  const sysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
  const privileged = process.platform === "linux" && (!existsSync(sysctl) || Number(readFileSync(sysctl, "utf8")) > 81);
  test.skipIf(!privileged || (process.getuid?.() === 0 && !asNobody))(
    "a port below 1024 without the right says how to grant it",
    () => {
      const prefix = asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
      const run = (args: string[]) => {
        const p = Bun.spawnSync([...prefix, process.execPath, MAIN, ...args], {
          env: { ...process.env, HOME: "/tmp" },
        });
        return { code: p.exitCode, stderr: p.stderr.toString() };
      };
      const hint = `ports below 1024 need root or CAP_NET_BIND_SERVICE (sudo setcap cap_net_bind_service=+ep ${process.execPath})`;
      const http = run(["--listen", "127.0.0.1:80", "--udp-listen", "off"]);
      expect(http.stderr).toBe(`buntracker: cannot listen: permission denied for HTTP port 80 on 127.0.0.1: ${hint}\n`);
      expect(http.code).toBe(1);
      const udp = run(["--listen", "127.0.0.1:0", "--udp-listen", "[::]:81"]);
      expect(udp.stderr).toBe(`buntracker: cannot listen: permission denied for UDP port 81 on [::]: ${hint}\n`);
      expect(udp.code).toBe(1);
    },
  );
});

describe("running", () => {
  test("logs structured JSON, answers /healthz, and exits 0 on SIGTERM and SIGINT", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const t = await startTracker(["--listen", "127.0.0.1:0"]);
      const res = await fetch(`http://127.0.0.1:${t.httpPort}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("ok\n");
      expect(await t.stop(signal)).toBe(0);
      const lines = t
        .output()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.msg)).toEqual(["listening", "shutting down", "stopped"]);
      expect(lines[0].level).toBe("info");
    }
  });

  test("no per-request logging at info", async () => {
    const t = await startTracker(["--listen", "127.0.0.1:0"]);
    for (let i = 0; i < 5; i++) await (await fetch(`http://127.0.0.1:${t.httpPort}/announce?bad`)).arrayBuffer();
    await t.stop();
    expect(t.output().trim().split("\n")).toHaveLength(3);
  });

  test("finishes a request in flight when told to stop", async () => {
    const t = await startTracker(["--listen", "127.0.0.1:0", "--udp-listen", "off"]);
    // Open a connection and send half a request, then signal, then finish the request.
    const received: Buffer[] = [];
    let closed!: () => void;
    const done = new Promise<void>((r) => (closed = r));
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: t.httpPort,
      socket: { data: (_s, d) => void received.push(Buffer.from(d)), close: () => closed(), error: () => closed() },
    });
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    // A full round trip on another connection: by then the server has read the half request above.
    expect((await fetch(`http://127.0.0.1:${t.httpPort}/healthz`)).status).toBe(200);
    const exit = t.stop("SIGTERM");
    socket.write("Connection: close\r\n\r\n");
    await done;
    expect(Buffer.concat(received).toString()).toContain("200 OK");
    expect(await exit).toBe(0);
  });
});
