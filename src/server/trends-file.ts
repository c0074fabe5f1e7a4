// Trend history on disk: one JSON sample per line (totals and per-client counts together), appended as
// samples are taken and rewritten atomically (see atomic-file.ts) when it has grown a day past the
// retention window, so it never grows without bound. A torn last line (power loss) or a corrupt line is
// skipped with a warning; a read-only or full disk is logged and the tracker keeps serving. A file in
// Rustracker's format (its --trends-file has our flag's name) is refused, not overwritten.

import { appendFile, readFile } from "node:fs/promises";
import { parseRustrackerTrends } from "../stats/rustracker-trends.ts";
import { TREND_INTERVAL_S, type TrendSample } from "../stats/trends.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { errorText, type Logger } from "./logger.ts";

/** Rewrite the file after this many appended lines (a day of samples). */
const COMPACT_AFTER_APPENDS = 86400 / TREND_INTERVAL_S;

/** The trends file cannot be used without losing what it holds: the start must stop (main.ts: exit 2). */
export class TrendsFileError extends Error {
  override name = "TrendsFileError";
}

export class TrendsFile {
  readonly path: string;
  readonly #log: Logger;
  #appended = 0;
  #failing: string | null = null; // last error code, so a broken disk is logged once, not every sample

  constructor(path: string, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  /** Reads every valid sample. A missing file is an empty history. Throws TrendsFileError for Rustracker's. */
  async load(): Promise<TrendSample[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      this.#log.warn("trends: cannot read the trends file; starting with no history", {
        path: this.path,
        err: errorText(err),
      });
      return [];
    }
    const lines = text.split("\n");
    const torn = lines.pop() ?? ""; // text after the last newline: empty unless the last write was cut short
    if (torn.trim() !== "") this.#log.warn("trends: skipped a torn last line", { path: this.path, bytes: torn.length });
    const samples: TrendSample[] = [];
    const bad: string[] = [];
    for (const line of lines) {
      if (line.trim() === "") continue;
      const sample = parseSample(line);
      if (sample === null) bad.push(line);
      else samples.push(sample);
    }
    // The start rewrites the file with what it could read: Rustracker's lines would be gone for good.
    if (parseRustrackerTrends(bad.join("\n"), null).samples.length > 0) {
      throw new TrendsFileError(
        `the trends file ${this.path} holds Rustracker's history, in its own format: import it with ` +
          "--import-rustracker-trends PATH and give --trends-file another path (or none: it then goes beside it)",
      );
    }
    if (bad.length > 0) this.#log.warn("trends: skipped unreadable lines", { path: this.path, lines: bad.length });
    return samples;
  }

  /** Appends one sample, compacting to `history` (the full in-memory history) when the file has grown. */
  async append(sample: TrendSample, history: readonly TrendSample[]): Promise<void> {
    if (++this.#appended >= COMPACT_AFTER_APPENDS) {
      await this.rewrite(history);
      return;
    }
    await this.#guard("append", () => appendFile(this.path, JSON.stringify(sample) + "\n"));
  }

  /** Atomically replaces the file with exactly `history`. */
  async rewrite(history: readonly TrendSample[]): Promise<void> {
    this.#appended = 0;
    await this.#guard("rewrite", () =>
      writeFileAtomic(this.path, history.map((s) => JSON.stringify(s) + "\n").join("")),
    );
  }

  async #guard(what: string, io: () => Promise<unknown>): Promise<boolean> {
    try {
      await io();
      if (this.#failing !== null) this.#log.info("trends: writing works again", { path: this.path });
      this.#failing = null;
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      if (this.#failing !== code) {
        this.#log.warn(`trends: cannot ${what} the trends file; history stays in memory`, {
          path: this.path,
          err: errorText(err),
        });
      }
      this.#failing = code;
      return false;
    }
  }
}

function parseSample(line: string): TrendSample | null {
  try {
    const v = JSON.parse(line) as Partial<TrendSample>;
    const nums = [v.t, v.torrents, v.peers, v.seeders, v.leechers];
    if (!nums.every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0)) return null;
    const clients: Record<string, number> = {};
    if (v.clients !== null && typeof v.clients === "object") {
      for (const [name, n] of Object.entries(v.clients)) if (typeof n === "number" && n > 0) clients[name] = n;
    }
    return { t: v.t!, torrents: v.torrents!, peers: v.peers!, seeders: v.seeders!, leechers: v.leechers!, clients };
  } catch {
    return null;
  }
}
