// The one-time import of Rustracker's trend history (--import-rustracker-trends): its trends.jsonl and the
// top_clients.jsonl beside it (format: stats/rustracker-trends.ts). Statistics calls it at start only when our
// own history is empty, and then writes ours at once, so a restart never imports twice. Rustracker's files are
// only read. A missing or unreadable file is logged and the tracker starts without that history.

import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseRustrackerTrends } from "../stats/rustracker-trends.ts";
import type { TrendStore } from "../stats/trends.ts";
import { errorText, type Logger } from "./logger.ts";

/** Loads the history into `trends` (within its 7 days) and logs what came in; returns the samples kept. */
export async function importRustrackerTrends(
  path: string,
  trends: TrendStore,
  now: number,
  log: Logger,
): Promise<number> {
  const clientsPath = join(dirname(path), "top_clients.jsonl");
  const trendsText = await read(path, log);
  if (trendsText === null) return 0; // (then its client counts have nothing to join)
  const clientsText = await read(clientsPath, log);
  const history = parseRustrackerTrends(trendsText, clientsText);
  trends.load(history.samples, now);
  const kept = trends.all();
  const at = (t: number | undefined) => (t === undefined ? null : new Date(t * 1000).toISOString());
  log.info("trends: imported Rustracker's history", {
    from: path,
    top_clients: clientsText === null ? null : clientsPath,
    lines: history.samples.length,
    // Within the last 7 days, one per 10 minutes: what the charts show.
    samples: kept.length,
    with_clients: kept.filter((s) => Object.keys(s.clients).length > 0).length,
    bad_lines: history.badLines,
    oldest: at(kept[0]?.t),
    newest: at(kept.at(-1)?.t),
  });
  return kept.length;
}

/** The file's text; null (logged) when it is missing or cannot be read. */
async function read(path: string, log: Logger): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    log.warn(missing ? "trends: no Rustracker file to import" : "trends: cannot read a Rustracker file to import", {
      path,
      ...(missing ? {} : { err: errorText(err) }),
    });
    return null;
  }
}
