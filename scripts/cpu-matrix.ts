// Which CPUs the release executables run on: each executable runs the whole smoke workload (scripts/smoke.ts:
// HTTP, UDP and WebSocket announces, the dashboard, a TLS handshake, a state save) under QEMU's user-mode
// emulator, once per CPU model, and a Markdown table of the outcomes is printed. Run once by hand when Bun
// is upgraded (the minimum CPU in README.md comes from it); the tests run only the lowest supported models.
//
//   bun scripts/cpu-matrix.ts [--models "M M ..."] EXECUTABLE...
//
// x64 executables run under qemu-x86_64 -cpu MODEL, arm64 ones under qemu-aarch64 -cpu MODEL with the loader
// and libc of libc6-arm64-cross (apt-get install qemu-user libc6-arm64-cross). A model may carry QEMU
// feature switches ("Nehalem,-popcnt") to find the exact instruction set extension a build needs.

import { basename, resolve } from "node:path";
import { executableMachine } from "./build.ts";

const MODELS = {
  // qemu64 and kvm64 are still the default CPU type of some virtual machines; then Intel generations.
  x64: [
    "qemu64",
    "core2duo",
    "Nehalem,-ssse3",
    "Nehalem,-sse4.1",
    "Nehalem,-sse4.2",
    "Nehalem,-popcnt",
    "Nehalem",
    "Westmere",
    "SandyBridge",
    "Haswell",
  ],
  // ARMv8.0 (Raspberry Pi 3 and 4 class), ARMv8.2 (Graviton 2, Ampere Altra), everything QEMU knows.
  arm64: ["cortex-a53", "cortex-a72", "neoverse-n1", "max"],
} as const;
const ELF_MACHINE = { 62: "x64", 183: "arm64" } as const;
const AARCH64_SYSROOT = "/usr/aarch64-linux-gnu";

function runnerFor(arch: "x64" | "arm64", model: string): string {
  return arch === "x64" ? `qemu-x86_64 -cpu ${model}` : `qemu-aarch64 -cpu ${model} -L ${AARCH64_SYSROOT}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let models: string[] | null = null;
  const binaries: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--models" && i + 1 < args.length)
      models = args[++i].split(/\s+/).filter((m) => m !== ""); // a model may hold commas
    else if (args[i].startsWith("--")) {
      console.error('usage: bun scripts/cpu-matrix.ts [--models "M M ..."] EXECUTABLE...');
      process.exit(2);
    } else binaries.push(resolve(args[i]));
  }
  if (binaries.length === 0) {
    console.error('usage: bun scripts/cpu-matrix.ts [--models "M M ..."] EXECUTABLE...');
    process.exit(2);
  }

  const rows: string[] = [];
  for (const binary of binaries) {
    const header = await executableMachine(binary);
    const arch = header?.format === "elf" ? ELF_MACHINE[header.machine as keyof typeof ELF_MACHINE] : undefined;
    if (arch === undefined) {
      console.error(`cpu-matrix: ${binary} is not a Linux x64 or arm64 executable`);
      process.exit(2);
    }
    const emulator = arch === "x64" ? "qemu-x86_64" : "qemu-aarch64";
    if (Bun.which(emulator) === null) {
      console.error(
        `cpu-matrix: ${emulator} is missing (apt-get install qemu-user${arch === "arm64" ? " libc6-arm64-cross" : ""})`,
      );
      process.exit(2);
    }
    // --models applies to every executable given.
    for (const model of models ?? MODELS[arch]) {
      const started = performance.now();
      const r = Bun.spawnSync(
        [process.execPath, resolve(import.meta.dir, "smoke.ts"), binary, "--runner", runnerFor(arch, model)],
        { stdout: "pipe", stderr: "pipe" },
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const output = r.stdout.toString() + r.stderr.toString();
      const failure = (
        output.split("\n").find((l) => l.includes("FAILED:")) ??
        output.trim().split("\n").pop() ??
        ""
      ).replace(/^smoke: \S+ FAILED: /, "");
      const outcome =
        r.exitCode === 0
          ? `runs the whole workload (${output.split("\n").filter((l) => l.startsWith("ok ")).length} checks)`
          : failure.startsWith("--version prints the version: killed by SIGILL")
            ? "**dies**: Illegal instruction (SIGILL) before printing its version"
            : `**fails**: ${failure.replace(/^--version prints the version: /, "")}`;
      const row = `| ${basename(binary)} | \`${model}\` | ${outcome} | ${seconds} s |`;
      console.error(row);
      rows.push(row);
    }
  }
  console.log("| executable | `-cpu` | outcome | time |\n|---|---|---|---|");
  for (const row of rows) console.log(row);
}

if (import.meta.main) await main();
