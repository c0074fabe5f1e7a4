// How many threads --workers means here. Sharing one port between threads needs SO_REUSEPORT with the kernel
// spreading the load (Linux); elsewhere (Windows has no SO_REUSEPORT; macOS and the BSDs do not balance UDP
// across the sockets) the tracker runs one thread, and says so when more were asked for.

import { availableParallelism } from "node:os";
import type { Logger } from "../logger.ts";

export function workerCount(wanted: number | "auto", platform: NodeJS.Platform, log: Logger | null): number {
  const cpus = Math.max(1, availableParallelism());
  const asked = wanted === "auto" ? cpus : wanted;
  if (platform !== "linux") {
    if (asked > 1 && wanted !== "auto") {
      log?.warn("--workers: more than one thread needs SO_REUSEPORT load balancing (Linux); running one", {
        asked,
        platform,
      });
    }
    return 1;
  }
  return asked;
}
