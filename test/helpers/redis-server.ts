// A throwaway redis-server for cluster tests: its own free port, no persistence (unless asked), stopped by
// the test. Tests that need one skip with a clear message when the binary is missing (Debian: redis-server).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./clients.ts";

export const REDIS_SERVER = Bun.which("redis-server");
export const NO_REDIS_MESSAGE =
  "redis-server is not installed (Debian: apt-get install redis-server): cluster tests skipped";

export class RedisServer {
  #proc: Subprocess | null = null;
  readonly port: number;
  readonly dir: string;
  readonly args: string[];

  private constructor(port: number, dir: string, args: string[]) {
    this.port = port;
    this.dir = dir;
    this.args = args;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts one on a free port; `args` are extra redis-server options (e.g. ["--requirepass", "x"]). */
  static async start(args: string[] = []): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), "buntracker-redis-"));
    const s = new RedisServer(await freePort(), dir, args);
    await s.restart();
    return s;
  }

  /** Starts (again, after kill) on the same port; an empty engine unless it persists to its folder. */
  async restart(): Promise<void> {
    const proc = Bun.spawn(
      [
        REDIS_SERVER!,
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.dir,
        ...this.args,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    this.#proc = proc;
    // Ready once it says so on stdout.
    const reader = proc.stdout.getReader();
    const dec = new TextDecoder();
    let seen = "";
    const deadline = Date.now() + 10_000;
    while (!/Ready to accept connections/.test(seen)) {
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${seen}`);
      const { value, done } = await reader.read();
      if (done) throw new Error(`redis-server exited: ${seen}`);
      seen += dec.decode(value);
    }
    reader.releaseLock();
    void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  }

  /** SIGKILL: the engine vanishes at once, as in a crash. */
  async kill(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (p === null) return;
    p.kill(9);
    await p.exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
