// The container image (Containerfile): its instructions checked as text everywhere, and where a container
// engine can build images (podman or docker that answers, with the base images at hand: this machine has no
// registry access) built from dist/ and run: it must answer its HEALTHCHECK as a non-root user and stop on
// SIGTERM with exit 0.
import { describe, expect, test } from "bun:test";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TARGETS } from "../../scripts/build.ts";
import { parseArgs } from "../../src/config/parse-args.ts";
import { startTracker } from "../helpers/tracker-process.ts";

const ROOT = join(import.meta.dir, "..", "..");
const text = readFileSync(join(ROOT, "Containerfile"), "utf8");

/** [instruction, arguments] per line, continuations joined, comments dropped. */
function instructions(source: string): [string, string][] {
  const joined = source.replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const m = l.match(/^(\w+)\s+(.*)$/)!;
      return [m[1].toUpperCase(), m[2].trim()];
    });
}

const all = instructions(text);
// The final stage: what the image is.
const final = all.slice(all.findLastIndex(([i]) => i === "FROM"));
const args = (name: string) => final.filter(([i]) => i === name).map(([, a]) => a);

describe("Containerfile", () => {
  test("a glibc base, a non-root user, the ports, a volume for state, a HEALTHCHECK with buntracker healthcheck", () => {
    const [base] = args("FROM");
    // The Bun runtime needs glibc: distroless/cc has it (static and alpine images do not).
    expect(base).toMatch(/^gcr\.io\/distroless\/cc-debian12(:|@)/);
    const [user] = args("USER");
    expect(user).toBeDefined();
    expect(user.split(":")[0]).not.toMatch(/^(0|root)$/);
    expect(args("EXPOSE").join(" ").split(/\s+/).sort()).toEqual(["6969/tcp", "6969/udp"]);
    const volumes = args("VOLUME").flatMap((v) => (v.startsWith("[") ? (JSON.parse(v) as string[]) : v.split(/\s+/)));
    expect(volumes).toEqual(["/var/lib/buntracker"]);
    const entrypoint = JSON.parse(args("ENTRYPOINT")[0]) as string[];
    const health = args("HEALTHCHECK")[0].match(/CMD\s+(\[.*\])$/);
    expect(health).not.toBeNull();
    expect(JSON.parse(health![1])).toEqual([...entrypoint, "healthcheck"]);
  });

  test("its settings are valid, and keep the state file and trends in the volume", () => {
    const r = parseArgs([], imageEnv());
    if (r.kind !== "run") throw new Error(JSON.stringify(r));
    expect(r.config.listen).toEqual({ host: "::", port: 6969 });
    expect(r.config.stateFile).toStartWith("/var/lib/buntracker/");
    expect(r.config.trendsFile).toStartWith("/var/lib/buntracker/");
  });

  test("copies the release binaries by their build names, and only those reach the builder", () => {
    const copies = all
      .filter(([i]) => i === "COPY")
      .map(([, a]) => a)
      .join(" ");
    const copied = [...copies.matchAll(/(?:^|\s)dist\/(buntracker-[\w-]+)/g)].map((m) => m[1]);
    expect(copied.sort()).toEqual(["buntracker-linux-arm64", "buntracker-linux-x64"]);
    for (const name of copied) expect(Object.keys(TARGETS)).toContain(name.slice("buntracker-".length));
    const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
    for (const name of copied) expect(ignore).toContain(`!dist/${name}\n`);
    // Docker's TARGETARCH names, mapped to ours.
    expect(text).toContain("amd64) arch=x64");
    expect(text).toContain("arm64) arch=arm64");
  });
});

/** The image's ENV. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const a of args("ENV"))
    for (const m of a.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
  return env;
}

// Without an engine, the nearest thing: the tracker from source with the image's settings, as its user (when
// this runs as root and has setpriv), the volume a folder owned by that user. (The listen port becomes a free
// one: 6969 may be taken here.)
const asImageUser = process.getuid?.() === 0 && Bun.which("setpriv") !== null;
describe.skipIf(process.platform === "win32")("the image's settings, without an image", () => {
  test("as its user: the healthcheck passes, SIGTERM saves the state into the volume and exits 0", async () => {
    const volume = mkdtempSync(join(tmpdir(), "buntracker-volume-"));
    try {
      if (asImageUser) chownSync(volume, 65532, 65532);
      const env = Object.fromEntries(
        Object.entries(imageEnv()).map(([k, v]) => [k, v.replace("/var/lib/buntracker", volume)]),
      );
      const prefix = asImageUser ? ["setpriv", "--reuid=65532", "--regid=65532", "--clear-groups"] : [];
      const t = await startTracker(["--listen", "127.0.0.1:0"], { ...env, HOME: volume }, prefix);
      const main = join(import.meta.dir, "..", "..", "src", "main.ts");
      const health = Bun.spawnSync(
        [...prefix, process.execPath, main, "healthcheck", "--listen", `127.0.0.1:${t.httpPort}`],
        {
          env: { ...process.env, ...env, HOME: volume },
        },
      );
      expect(health.exitCode).toBe(0);
      expect(await t.stop("SIGTERM")).toBe(0);
      expect(existsSync(join(volume, "state.bin"))).toBe(true);
      if (asImageUser) expect(statSync(join(volume, "state.bin")).uid).toBe(65532);
    } finally {
      rmSync(volume, { recursive: true, force: true });
    }
  });
});

/** An engine that can build here, or why not. */
function engine(): { cmd: string } | { skip: string } {
  const cmd = ["podman", "docker"].find((c) => Bun.which(c) !== null);
  if (cmd === undefined) return { skip: "no podman or docker" };
  if (Bun.spawnSync([cmd, "info"], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0)
    return { skip: `${cmd} info fails (no daemon?)` };
  for (const image of ["docker.io/library/debian:12-slim", "gcr.io/distroless/cc-debian12:nonroot"]) {
    const has = Bun.spawnSync([cmd, "image", "inspect", image], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
    if (!has && Bun.spawnSync([cmd, "pull", image], { stdout: "ignore", stderr: "ignore" }).exitCode !== 0) {
      return { skip: `${cmd} cannot pull ${image}` };
    }
  }
  for (const t of ["linux-x64", "linux-arm64"]) {
    if (!existsSync(join(ROOT, "dist", `buntracker-${t}`)))
      return { skip: `dist/buntracker-${t} is missing (npm run build)` };
  }
  return { cmd };
}
const found = engine();
if ("skip" in found) console.warn(`containerfile.test.ts: not building the image: ${found.skip}`);

describe.skipIf("skip" in found)("the image", () => {
  test("builds, runs as non-root, turns healthy and stops on SIGTERM with exit 0", async () => {
    const cmd = (found as { cmd: string }).cmd;
    const run = (...a: string[]) => {
      const p = Bun.spawnSync([cmd, ...a], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
      if (p.exitCode !== 0) throw new Error(`${cmd} ${a.join(" ")}: ${p.stderr.toString()}`);
      return p.stdout.toString().trim();
    };
    const tag = `buntracker-test:${process.pid}`;
    run("build", "-f", "Containerfile", "-t", tag, ".");
    const id = run("run", "-d", "--health-interval", "1s", tag);
    try {
      expect(run("inspect", "--format", "{{.Config.User}}", id)).toBe("65532:65532");
      // Podman runs health checks from systemd timers, absent in a CI container: there the test runs it.
      const healthy = () =>
        cmd === "podman"
          ? Bun.spawnSync([cmd, "healthcheck", "run", id], { stdout: "ignore", stderr: "ignore" }).exitCode === 0
          : run("inspect", "--format", "{{.State.Health.Status}}", id) === "healthy";
      const deadline = Date.now() + 30_000;
      let ok = healthy();
      while (!ok && Date.now() < deadline) {
        await Bun.sleep(500);
        ok = healthy();
      }
      expect(ok).toBe(true);
      run("stop", "-t", "10", id);
      expect(run("inspect", "--format", "{{.State.ExitCode}}", id)).toBe("0");
    } finally {
      Bun.spawnSync([cmd, "rm", "-f", id]);
      Bun.spawnSync([cmd, "rmi", "-f", tag]);
    }
  }, 180_000);
});
