// `npm run build` (scripts/build.ts) for this machine's Linux target: the executables, the tarball a user
// downloads, the installers and SHA256SUMS; then the unpacked executables run the way a user runs them
// (scripts/smoke.ts). The cross targets (linux-arm64, windows-x64) are built the same way by the same code,
// and checked on their own machines by the release workflow.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
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

function run(cmd: string[], cwd = ROOT) {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

beforeAll(async () => {
  if (!target.startsWith("linux-")) throw new Error(`these tests build and unpack the Linux release; this is ${target}`);
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
    expect(await readFile(join(out, "install-linux.sh"), "utf8")).toBe(await readFile(join(ROOT, "scripts", "install-linux.sh"), "utf8"));
  });

  test("the tarball holds the binary, installer, README and licence, owned by root with their modes", async () => {
    const listing = run(["tar", "--list", "--verbose", "--numeric-owner", "--file", join(out, `${base}.tar.gz`)]);
    expect(listing.code).toBe(0);
    const entries = listing.stdout.trim().split("\n").map((l) => {
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
    const r = run([process.execPath, "build", "--compile", "--minify", "--define", `BUILD_COMMIT=${JSON.stringify(commit)}`, join(ROOT, "src", "main.ts"), "--outfile", loose]);
    expect(r.code).toBe(0);
    const failure = await smoke(loose, { commit }).then(() => "passed", (e: Error) => e.message);
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
    const r = run([process.execPath, join(ROOT, "scripts", "build.ts"), "--target", "plan9-mips", "--out", join(dir, "never")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown target plan9-mips");
  });
});
