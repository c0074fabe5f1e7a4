// `npm run build` (scripts/build.ts) for this machine's Linux target: the executables, the tarball a user
// downloads, the installers and SHA256SUMS; then the unpacked executables run the way a user runs them
// (scripts/smoke.ts). The cross targets (linux-arm64, windows-x64) are built the same way by the same code,
// and checked on their own machines by the release workflow. Under QEMU's user-mode emulator (Debian's
// qemu-user and libc6-arm64-cross) the x64 executable also runs on the oldest CPU model it supports, and the
// arm64 one on an ARMv8.0 core (the whole table: scripts/cpu-matrix.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { nativeTarget } from "../../scripts/build.ts";
import { smoke } from "../../scripts/smoke.ts";
import { gitCommit } from "../../src/version.ts";

const ROOT = join(import.meta.dir, "..", "..");
const target = nativeTarget(); // linux-x64 or linux-arm64
const base = `buntracker-${target}`;
const commit = gitCommit(ROOT) ?? "";
let dir: string;
let out: string;

const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu"; // libc6-arm64-cross: the loader and libc for qemu-aarch64
const emulation =
  target !== "linux-x64"
    ? `the emulated-CPU tests need an x64 host (this is ${target})`
    : Bun.which("qemu-x86_64") === null ||
        Bun.which("qemu-aarch64") === null ||
        !existsSync(join(AARCH64_SYSROOT, "lib", "ld-linux-aarch64.so.1"))
      ? "qemu-user or libc6-arm64-cross is missing (apt-get install qemu-user libc6-arm64-cross; .ci/run does)"
      : null;
if (emulation !== null) console.warn(`build.test.ts: skipping the emulated-CPU tests: ${emulation}`);

function run(cmd: string[], cwd = ROOT) {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

beforeAll(async () => {
  if (!target.startsWith("linux-"))
    throw new Error(`these tests build and unpack the Linux release; this is ${target}`);
  if (Bun.which("file") === null) throw new Error("file is missing: apt-get install file");
  if (commit === "") throw new Error("git is needed: the build records the commit");
  dir = await mkdtemp(join(tmpdir(), "buntracker-build-"));
  out = join(dir, "dist");
  const r = run([process.execPath, join(ROOT, "scripts", "build.ts"), "--target", "native", "--out", out]);
  if (r.code !== 0) throw new Error(`build failed:\n${r.stderr}${r.stdout}`);
}, 180_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("npm run build", () => {
  test("writes both executables, their tarballs, the installers and SHA256SUMS covering all of them", async () => {
    const files = (await readdir(out)).filter((f) => !f.startsWith("."));
    const expected = [
      base,
      `${base}-no-dashboard`,
      `${base}.tar.gz`,
      `${base}-no-dashboard.tar.gz`,
      "install-linux.sh",
      "install-windows.ps1",
      "SHA256SUMS",
    ];
    expect(files.sort()).toEqual(expected.sort());
    const sums = (await readFile(join(out, "SHA256SUMS"), "utf8")).trim().split("\n");
    expect(sums.map((l) => l.split("  ")[1]).sort()).toEqual(expected.filter((f) => f !== "SHA256SUMS").sort());
    const check = run(["sha256sum", "--check", "--strict", "SHA256SUMS"], out);
    expect(check.code).toBe(0);
    expect(check.stdout.trim().split("\n")).toHaveLength(6);

    const machine = target === "linux-x64" ? "x86-64" : "ARM aarch64";
    for (const exe of [base, `${base}-no-dashboard`]) {
      expect(run(["file", "--brief", join(out, exe)]).stdout).toStartWith(`ELF 64-bit LSB executable, ${machine}`);
      expect((await stat(join(out, exe))).mode & 0o111).toBe(0o111);
      // The version and the commit the build came from.
      expect(run([join(out, exe), "--version"], dir).stdout).toBe(`buntracker ${pkg.version} (${commit})\n`);
    }
    expect(await readFile(join(out, "install-linux.sh"), "utf8")).toBe(
      await readFile(join(ROOT, "scripts", "install-linux.sh"), "utf8"),
    );
  });

  test("the tarball holds the binary, installer, README and licence, owned by root with their modes", async () => {
    const listing = run(["tar", "--list", "--verbose", "--numeric-owner", "--file", join(out, `${base}.tar.gz`)]);
    expect(listing.code).toBe(0);
    const entries = listing.stdout
      .trim()
      .split("\n")
      .map((l) => {
        const f = l.split(/\s+/);
        return [f[0], f[1], f[5]];
      });
    expect(entries).toEqual([
      ["drwxr-xr-x", "0/0", `${base}/`],
      ["-rwxr-xr-x", "0/0", `${base}/buntracker`],
      ["-rwxr-xr-x", "0/0", `${base}/install-linux.sh`],
      ["-rw-r--r--", "0/0", `${base}/README.md`],
      ["-rw-r--r--", "0/0", `${base}/LICENSE`],
    ]);
    const unpacked = join(dir, "unpacked");
    await mkdir(unpacked);
    expect(run(["tar", "--extract", "--file", join(out, `${base}.tar.gz`), "--directory", unpacked]).code).toBe(0);
    const inside = join(unpacked, base);
    expect(await readFile(join(inside, "buntracker"))).toEqual(await readFile(join(out, base)));
    expect(await readFile(join(inside, "LICENSE"), "utf8")).toBe(await readFile(join(ROOT, "LICENSE"), "utf8"));
    expect(await readFile(join(inside, "README.md"), "utf8")).toStartWith("# buntracker\n");
    // The installer in the tarball finds the binary beside it (checked in install-linux.test.ts).
    expect(await readFile(join(inside, "install-linux.sh"), "utf8")).toStartWith("#!/usr/bin/env bash\n");
  });

  test("the unpacked executables run from an empty directory with nothing else installed", async () => {
    const unpacked = join(dir, "unpacked-smoke");
    await mkdir(unpacked);
    for (const variant of [base, `${base}-no-dashboard`]) {
      expect(run(["tar", "--extract", "--file", join(out, `${variant}.tar.gz`), "--directory", unpacked]).code).toBe(0);
      await smoke(join(unpacked, variant, "buntracker"), { dashboard: !variant.endsWith("-no-dashboard"), commit });
    }
  }, 60_000);

  test("the no-dashboard executable carries none of the dashboard", async () => {
    const full = await readFile(join(out, base));
    const lite = await readFile(join(out, `${base}-no-dashboard`));
    for (const marker of ["Client distribution", "stat-peers", "_echarts_instance_"]) {
      expect(full.includes(marker)).toBe(true);
      expect(lite.includes(marker)).toBe(false);
    }
  });

  test("the smoke test catches a build that autoloads .env and bunfig.toml from its directory", async () => {
    const loose = join(dir, "loose");
    const r = run([
      process.execPath,
      "build",
      "--compile",
      "--minify",
      "--define",
      `BUILD_COMMIT=${JSON.stringify(commit)}`,
      join(ROOT, "src", "main.ts"),
      "--outfile",
      loose,
    ]);
    expect(r.code).toBe(0);
    const failure = await smoke(loose, { commit }).then(
      () => "passed",
      (e: Error) => e.message,
    );
    expect(failure).toContain("exited with 2 before listening"); // the .env's bad log level was read
    await rm(loose);
  }, 60_000);

  test("refuses to wipe an output directory it did not make", async () => {
    const other = join(dir, "other");
    await mkdir(other);
    await writeFile(join(other, "keep.txt"), "mine");
    const r = run([process.execPath, join(ROOT, "scripts", "build.ts"), "--target", "native", "--out", other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("was not made by this script");
    expect(await readdir(other)).toEqual(["keep.txt"]);
  });

  test("rejects an unknown target before building anything", () => {
    const r = run([
      process.execPath,
      join(ROOT, "scripts", "build.ts"),
      "--target",
      "plan9-mips",
      "--out",
      join(dir, "never"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown target plan9-mips");
  });
});

describe.skipIf(emulation !== null)("on other CPUs, emulated by qemu-user", () => {
  // The installer's list of what the x64 executable needs (one source: scripts/install-linux.sh).
  const flagsLine = Bun.file(join(ROOT, "scripts", "install-linux.sh"))
    .text()
    .then((t) => t.match(/^X64_CPU_FLAGS="([^"]+)"/m)![1].split(" "));
  const qemuName = (cpuinfoFlag: string) => cpuinfoFlag.replace("_", ".");
  const version = (runner: string[], binary: string) =>
    Bun.spawnSync([...runner, binary, "--version"], { cwd: dir, stdout: "pipe", stderr: "pipe" });

  test("the x64 executable runs the whole workload on the oldest CPU model it supports (Nehalem)", async () => {
    await smoke(join(out, base), { commit, runner: ["qemu-x86_64", "-cpu", "Nehalem"] });
  }, 300_000);

  test("the x64 executable needs exactly the CPU features install-linux.sh checks for", async () => {
    const flags = await flagsLine;
    expect(flags.length).toBeGreaterThan(0);
    // QEMU's plain x86-64 model plus those features suffices...
    const enough = version(
      ["qemu-x86_64", "-cpu", `qemu64,${flags.map((f) => `+${qemuName(f)}`).join(",")}`],
      join(out, base),
    );
    expect(enough.stdout.toString()).toBe(`buntracker ${pkg.version} (${commit})\n`);
    // ...and without any one of them it does not start (the README's minimum CPU is still the real one).
    for (const flag of flags) {
      const without = version(["qemu-x86_64", "-cpu", `Nehalem,-${qemuName(flag)}`], join(out, base));
      expect({ flag, started: without.exitCode === 0 || without.stdout.length > 0 }).toEqual({ flag, started: false });
    }
  }, 60_000);

  test("the arm64 executable runs the whole workload on an ARMv8.0 core (Cortex-A53)", async () => {
    const armOut = join(dir, "dist-arm64");
    const r = run([process.execPath, join(ROOT, "scripts", "build.ts"), "--target", "linux-arm64", "--out", armOut]);
    if (r.code !== 0) throw new Error(`build failed:\n${r.stderr}${r.stdout}`);
    await smoke(join(armOut, "buntracker-linux-arm64"), {
      commit,
      runner: ["qemu-aarch64", "-cpu", "cortex-a53", "-L", AARCH64_SYSROOT],
    });
  }, 400_000);
});
