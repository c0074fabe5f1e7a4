// Structured logs: one JSON object per line on stdout, filtered by level. Requests are never logged at
// info; per-request detail, when wanted, goes to debug.

import type { LogLevel } from "../config/config.ts";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogFields = Record<string, unknown>;

export class Logger {
  #max: number;
  #write: (line: string, level: LogLevel) => void;

  /** `write` gets each line without its newline, and its level (see log-output.ts). */
  constructor(
    level: LogLevel,
    write: (line: string, level: LogLevel) => void = (line) => process.stdout.write(line + "\n"),
  ) {
    this.#max = RANK[level];
    this.#write = write;
  }

  /** Changes the level from now on (a SIGHUP re-read of the settings). */
  setLevel(level: LogLevel): void {
    this.#max = RANK[level];
  }

  /** The more verbose of the current level and `level`. */
  static verbose(a: LogLevel, b: LogLevel): LogLevel {
    return RANK[a] >= RANK[b] ? a : b;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= this.#max;
  }

  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] > this.#max) return;
    const entry: LogFields = { ts: new Date().toISOString(), level, msg, ...fields };
    for (const [k, v] of Object.entries(entry)) {
      if (v instanceof Error) entry[k] = v.message;
    }
    this.#write(JSON.stringify(entry), level);
  }
}

/** The message of a caught value, for log fields and one-line errors. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
