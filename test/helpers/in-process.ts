// Starts the tracker inside the test process on ephemeral ports (real sockets), with logs captured.

import { parseArgs } from "../../src/config/parse-args.ts";
import { type RunningTracker, startTracker } from "../../src/server/app.ts";
import { Logger } from "../../src/server/logger.ts";

export interface TestTracker extends RunningTracker {
  logs: string[];
}

/** `args` are command-line flags as a user would pass them; the default listens on 127.0.0.1, port 0. */
export async function startTestTracker(args: string[] = []): Promise<TestTracker> {
  const env = { BUNTRACKER_WORKERS: process.env.BUNTRACKER_WORKERS ?? "1" }; // (see test/setup.ts)
  const parsed = parseArgs(["--listen", "127.0.0.1:0", "--log-level", "debug", ...args], env);
  if (parsed.kind !== "run") throw new Error(`bad test arguments: ${JSON.stringify(parsed)}`);
  const logs: string[] = [];
  const write = (line: string) => logs.push(line);
  const tracker = await startTracker(
    parsed.config,
    new Logger(parsed.config.logLevel, write),
    undefined,
    undefined,
    write,
  );
  return Object.assign(tracker, { logs });
}
