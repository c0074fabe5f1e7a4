// Compiles the C helpers (udp-gen.c, trivial.c) on first use with `cc -O2` into a cache directory keyed by
// the source's hash, so an edited source is rebuilt and an unchanged one is not.

import { existsSync, mkdirSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CACHE = join(process.env.XDG_CACHE_HOME ?? tmpdir(), "buntracker-bench");

export async function nativeBinary(name: "udp-gen" | "trivial"): Promise<string> {
  const source = join(import.meta.dir, `${name}.c`);
  const text = await Bun.file(source).text();
  const hash = new Bun.CryptoHasher("sha1").update(text).digest("hex").slice(0, 12);
  const out = join(CACHE, `${name}-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-o", tmp, source], { stdout: "pipe", stderr: "pipe" });
  if (cc.exitCode !== 0) {
    throw new Error(`cc failed for ${source} (is a C compiler installed?):\n${cc.stderr.toString()}`);
  }
  renameSync(tmp, out); // atomic: a concurrent run sees either nothing or the whole binary
  return out;
}

/** A scratch directory for plan files and tracker data, removed by the caller. */
export function scratchDir(label: string): string {
  const dir = join(tmpdir(), `buntracker-bench-${label}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
