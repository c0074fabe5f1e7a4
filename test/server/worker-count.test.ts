// What --workers means on each platform: Linux spreads a shared port over the threads (SO_REUSEPORT); elsewhere
// one thread runs, and an explicit request for more is named in the log.

import { expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { Logger } from "../../src/server/logger.ts";
import { workerCount } from "../../src/server/workers/worker-count.ts";

function logged(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger("info", (l) => lines.push(l)), lines };
}

test("Linux: auto is the CPUs this process may use; a number is taken as given", () => {
  expect(workerCount("auto", "linux", null)).toBe(availableParallelism());
  expect(workerCount(3, "linux", null)).toBe(3);
});

test("Windows and macOS run one thread; asking for more says so once, auto says nothing", () => {
  for (const platform of ["win32", "darwin"] as const) {
    const a = logged();
    expect(workerCount("auto", platform, a.log)).toBe(1);
    expect(a.lines).toEqual([]);
    const b = logged();
    expect(workerCount(4, platform, b.log)).toBe(1);
    expect(b.lines.length).toBe(1);
    expect(b.lines[0]).toContain("running one");
  }
});
