// Runs the real tracker (`bun src/main.ts ...`) as a child process, as a user would, and waits for its
// "listening" log line instead of sleeping.

import type { Subprocess } from "bun";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

export interface TrackerProcess {
  host: string;
  httpPort: number;
  udpPort: number | null;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Sends `signal` (default SIGTERM) and resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
  /** Everything the process has written to stdout and stderr so far. */
  output(): string;
}

/** Every tracker started here that has not exited yet. */
const alive = new Set<Subprocess>();

/**
 * Kills what is still running: a test that fails between a tracker's start and its stop (an expect that
 * throws, with no finally) would otherwise leave the process running after `bun test` exits (Bun gives its
 * children no signal then, and fires no "exit" event). Registered by test/setup.ts as an afterAll hook.
 */
export function killLeftoverTrackers(): void {
  for (const proc of alive) proc.kill("SIGKILL");
}

/**
 * Spawns the tracker; env adds to (does not replace) the current environment. `prefix` runs it through another
 * command, e.g. ["ip", "netns", "exec", NAME] to put it in a network namespace. `executable` runs a compiled
 * binary instead of the sources, from `cwd`.
 */
export async function startTracker(
  args: string[],
  env: Record<string, string> = {},
  prefix: string[] = [],
  executable?: string,
  cwd = ROOT,
): Promise<TrackerProcess> {
  const command = executable === undefined ? [process.execPath, join(ROOT, "src", "main.ts")] : [executable];
  const proc = Bun.spawn([...prefix, ...command, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  alive.add(proc);
  void proc.exited.then(() => alive.delete(proc));
  let out = "";
  const collect = async (stream: ReadableStream<Uint8Array>, onText?: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      out += decoder.decode(chunk, { stream: true });
      onText?.(out);
    }
  };
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    void collect(proc.stdout, (text) => {
      for (const line of text.split("\n")) {
        if (line.includes('"msg":"listening"')) resolve(JSON.parse(line));
      }
    });
    void collect(proc.stderr);
    void proc.exited.then((code) => reject(new Error(`tracker exited with ${code} before listening:\n${out}`)));
  });
  const info = await ready;
  const http = String(info.http);
  return {
    host: http.startsWith("[") ? http.slice(1, http.indexOf("]")) : http.slice(0, http.lastIndexOf(":")),
    httpPort: Number(info.httpPort),
    udpPort: info.udpPort === null ? null : Number(info.udpPort),
    proc,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(signal);
      return proc.exited;
    },
    output: () => out,
  };
}
