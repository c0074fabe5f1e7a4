// `npm run build`: the release artifacts in dist/.
//
//   buntracker-<target>[.exe]                  the tracker with the dashboard, one self-contained executable
//   buntracker-<target>-no-dashboard[.exe]     the same without any of the dashboard (404 at /)
//   buntracker-linux-<arch>[-no-dashboard].tar.gz   binary (as `buntracker`), install-linux.sh, README.md, LICENSE
//   install-linux.sh, install-windows.ps1      the installers on their own
//   SHA256SUMS                                 `sha256sum -c SHA256SUMS` checks everything above
//
// Targets: linux-x64, linux-arm64, windows-x64 (cross-compiled: Bun fetches each target's runtime from the npm
// registry once). The x64 ones need an x86-64-v2 CPU and arm64 ARMv8.0 (README: "Which CPUs", measured with
// scripts/cpu-matrix.ts); Bun 1.4.4's "-baseline" x64 runtimes are byte for byte the default ones, so none is
// built. Options: `--target NAME` (repeatable; `native` is this machine's), `--out DIR` (default
// dist). The output directory is replaced, but only if it is empty or was made by this script.
// Every executable carries the commit it was built from (`--version`); one this machine can run is run once.

import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { gitCommit } from "../src/version.ts";
import { tarGz } from "./tar.ts";
import { entryPoints } from "./lib/entry-points.ts";

const ROOT = resolve(import.meta.dir, "..");
const MARKER = ".buntracker-dist"; // marks a directory this script may wipe

interface Target {
  bun: string; // bun build --target
  os: "linux" | "windows";
  /** ELF e_machine or PE machine of the executable, checked after building. */
  machine: number;
}

export const TARGETS: Record<string, Target> = {
  "linux-x64": { bun: "bun-linux-x64", os: "linux", machine: 0x3e },
  "linux-arm64": { bun: "bun-linux-arm64", os: "linux", machine: 0xb7 },
  "windows-x64": { bun: "bun-windows-x64", os: "windows", machine: 0x8664 },
};

export function nativeTarget(): string {
  return `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
}

function fail(message: string): never {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

function parseOptions(argv: string[]): { targets: string[]; out: string } {
  const targets: string[] = [];
  let out = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] =
      argv[i].startsWith("--") && argv[i].includes("=") ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--target") targets.push(...value().split(","));
    else if (flag === "--out") out = resolve(value());
    else fail(`unknown option ${argv[i]} (options: --target NAME, --out DIR)`);
  }
  const chosen = (targets.length === 0 ? Object.keys(TARGETS) : targets).map((t) =>
    t === "native" ? nativeTarget() : t,
  );
  for (const t of chosen)
    if (!(t in TARGETS)) fail(`unknown target ${t} (known: ${Object.keys(TARGETS).join(", ")}, native)`);
  return { targets: [...new Set(chosen)], out };
}

async function prepareOut(out: string): Promise<void> {
  const entries = await readdir(out).catch(() => null);
  if (entries !== null && entries.length > 0 && !entries.includes(MARKER)) {
    fail(`${out} is not empty and was not made by this script; choose another --out or empty it`);
  }
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, MARKER), "made by scripts/build.ts; wiped on the next build\n");
}

function compile(target: Target, dashboard: boolean, commit: string, outfile: string): void {
  const args = [
    "build",
    "--compile",
    "--minify",
    "--sourcemap",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    `--target=${target.bun}`,
    "--define",
    `BUILD_COMMIT=${JSON.stringify(commit)}`,
    ...(dashboard ? [] : ["--define", "WITH_DASHBOARD=false"]),
    ...entryPoints(ROOT),
    "--outfile",
    outfile,
  ];
  const r = Bun.spawnSync([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`bun ${args.join(" ")} failed:\n${r.stderr.toString()}${r.stdout.toString()}`);
}

/** `--sourcemap` embeds the map in the executable and also leaves copies beside it, which are not shipped. */
async function removeMaps(out: string): Promise<void> {
  for (const f of await readdir(out)) if (f.endsWith(".map")) await rm(join(out, f));
}

/** Reads the machine field of an ELF or PE header: a cross-compiled file is checked without running it. */
export async function executableMachine(path: string): Promise<{ format: "elf" | "pe"; machine: number } | null> {
  const b = new Uint8Array(await Bun.file(path).slice(0, 4096).arrayBuffer());
  const v = new DataView(b.buffer);
  if (b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46)
    return { format: "elf", machine: v.getUint16(18, true) };
  if (b[0] === 0x4d && b[1] === 0x5a && b.length >= 64) {
    const pe = v.getUint32(60, true);
    if (pe + 6 <= b.length && v.getUint32(pe, true) === 0x00004550)
      return { format: "pe", machine: v.getUint16(pe + 4, true) };
  }
  return null;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

function sourceDateEpoch(): number {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  const r = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  const fromGit = Number(r.stdout.toString().trim());
  return r.exitCode === 0 && fromGit > 0 ? fromGit : Math.floor(Date.now() / 1000);
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const { targets, out } = parseOptions(process.argv.slice(2));
  const commit = process.env.BUNTRACKER_BUILD_COMMIT || gitCommit(ROOT) || "unknown";
  await prepareOut(out);
  const mtime = sourceDateEpoch();
  const installLinux = await readFile(join(ROOT, "scripts", "install-linux.sh"));
  const docs = { "README.md": await readFile(join(ROOT, "README.md")), LICENSE: await readFile(join(ROOT, "LICENSE")) };
  const artifacts: string[] = [];
  const expectedVersion = `buntracker ${pkg.version} (${commit})`;

  for (const name of targets) {
    const target = TARGETS[name];
    for (const dashboard of [true, false]) {
      const base = `buntracker-${name}${dashboard ? "" : "-no-dashboard"}`;
      const file = base + (target.os === "windows" ? ".exe" : "");
      const path = join(out, file);
      const started = performance.now();
      compile(target, dashboard, commit, path);
      await removeMaps(out);
      const header = await executableMachine(path);
      const format = target.os === "windows" ? "pe" : "elf";
      if (header?.format !== format || header.machine !== target.machine) {
        fail(`${file} is not a ${format} executable for ${name} (got ${JSON.stringify(header)})`);
      }
      if (name === nativeTarget()) {
        const r = Bun.spawnSync([path, "--version"], { cwd: out, stdout: "pipe", stderr: "pipe" });
        if (r.stdout.toString().trim() !== expectedVersion) {
          fail(`${file} --version printed "${r.stdout.toString().trim()}", expected "${expectedVersion}"`);
        }
      }
      artifacts.push(file);
      console.log(`${file}  ${mb((await stat(path)).size)}  (${((performance.now() - started) / 1000).toFixed(1)} s)`);

      if (target.os === "linux") {
        const tarName = `${base}.tar.gz`;
        await writeFile(
          join(out, tarName),
          tarGz(
            [
              { path: `${base}/`, mode: 0o755 },
              { path: `${base}/buntracker`, mode: 0o755, data: await readFile(path) },
              { path: `${base}/install-linux.sh`, mode: 0o755, data: installLinux },
              { path: `${base}/README.md`, mode: 0o644, data: docs["README.md"] },
              { path: `${base}/LICENSE`, mode: 0o644, data: docs.LICENSE },
            ],
            mtime,
          ),
        );
        artifacts.push(tarName);
        console.log(`${tarName}  ${mb((await stat(join(out, tarName))).size)}`);
      }
    }
  }
  for (const script of ["install-linux.sh", "install-windows.ps1"]) {
    await writeFile(join(out, script), await readFile(join(ROOT, "scripts", script)));
    if (script.endsWith(".sh")) await chmod(join(out, script), 0o755);
    artifacts.push(script);
  }
  const sums = [];
  for (const a of artifacts.sort()) sums.push(`${await sha256(join(out, a))}  ${a}\n`);
  await writeFile(join(out, "SHA256SUMS"), sums.join(""));
  console.log(`SHA256SUMS  (${artifacts.length} files)\nbuilt ${expectedVersion} into ${out}`);
}

if (import.meta.main) await main();
