// The standard process_* figures of Prometheus client libraries, from what Bun offers: CPU time and resident
// memory everywhere, open and allowed file descriptors where /proc exists (Linux; skipped elsewhere, Windows
// has no such limit). Read at each scrape: a stat (or a directory listing) and one small file.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";

const FD_DIR = "/proc/self/fd";
const HAS_PROC = existsSync(FD_DIR);

/** The process's start, unix seconds (fixed for its life). */
export const PROCESS_START_SECONDS = Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000;

/** User and system CPU time used since start, seconds. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Open file descriptors (sockets included); null without /proc. Linux 6.2 and later give the count as the
 * directory's size, which costs no listing (a tracker with 50,000 WebSocket connections has as many entries);
 * older kernels say 0 there, and the directory is listed.
 */
export function openFds(): number | null {
  if (!HAS_PROC) return null;
  try {
    const size = statSync(FD_DIR).size;
    return size > 0 ? size : readdirSync(FD_DIR).length - 1; // (less the listing's own descriptor)
  } catch {
    return null;
  }
}

/** The soft limit on open file descriptors (what `ulimit -n` says); null without /proc or when unlimited. */
export function maxFds(): number | null {
  if (!HAS_PROC) return null;
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "latin1"));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}
