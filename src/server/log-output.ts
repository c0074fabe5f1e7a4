// Where log lines go. On stdout by default, each line led by its syslog priority ("<3>" error ... "<7>" debug)
// when stdout is the systemd journal, so that `journalctl -p warning` shows warnings and errors only. With
// --log-file (Windows has no journal), to that file instead: capped in size (the full file becomes PATH.1,
// replacing the one before) and reopened on SIGHUP, for logrotate.

import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { LogLevel } from "../config/config.ts";

/** Where the log file starts over; with PATH.1 at most twice this is kept. */
export const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;

const PRIORITY: Record<LogLevel, string> = { error: "<3>", warn: "<4>", info: "<6>", debug: "<7>" };

export interface LogOutput {
  write(line: string, level: LogLevel): void;
  /** Opens the file again (after logrotate moved it); nothing for stdout. */
  reopen(): void;
}

export class LogFileError extends Error {}

/**
 * Whether file descriptor `fd` is the journal's stream: systemd sets JOURNAL_STREAM to its "device:inode",
 * and a child whose output was redirected elsewhere inherits the variable, so the two are compared.
 */
export function isJournalStream(env: Record<string, string | undefined>, fd = 1): boolean {
  const stream = env.JOURNAL_STREAM;
  if (stream === undefined || stream === "") return false;
  try {
    const s = fstatSync(fd, { bigint: true });
    return stream === `${s.dev}:${s.ino}`;
  } catch {
    return false;
  }
}

export function stdoutOutput(env: Record<string, string | undefined>): LogOutput {
  const journal = isJournalStream(env);
  return {
    write: journal
      ? (line, level) => process.stdout.write(`${PRIORITY[level]}${line}\n`)
      : (line) => process.stdout.write(`${line}\n`),
    reopen() {},
  };
}

/** Appends to PATH (its folder is made if missing); throws LogFileError when it cannot be opened. */
export class LogFile implements LogOutput {
  #path: string;
  #max: number;
  #fd = -1;
  #size = 0;

  constructor(path: string, maxBytes = LOG_FILE_MAX_BYTES) {
    this.#path = path;
    this.#max = maxBytes;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#open();
    } catch (err) {
      throw new LogFileError(`cannot open --log-file ${path}: ${err instanceof Error ? err.message : err}`);
    }
  }

  write(line: string): void {
    const text = `${line}\n`;
    try {
      if (this.#size > 0 && this.#size + Buffer.byteLength(text) > this.#max) this.#startOver();
      this.#size += writeSync(this.#fd, text);
    } catch (err) {
      // A full disk must not stop the tracker; the line goes to stderr instead (nowhere, in a Windows task).
      process.stderr.write(
        `buntracker: cannot write --log-file ${this.#path}: ${err instanceof Error ? err.message : err}\n${text}`,
      );
    }
  }

  reopen(): void {
    try {
      const old = this.#fd;
      this.#open();
      closeSync(old);
    } catch {
      // Keep writing to the file already open.
    }
  }

  close(): void {
    closeSync(this.#fd);
  }

  #open(): void {
    this.#fd = openSync(this.#path, "a", 0o640);
    this.#size = fstatSync(this.#fd).size;
  }

  #startOver(): void {
    closeSync(this.#fd);
    this.#fd = -1; // until reopened: a write fails (EBADF) instead of going to whatever reuses the number
    try {
      renameSync(this.#path, `${this.#path}.1`);
    } catch {
      // Windows refuses to rename a file another program holds open (a `logs` window): start it over in place.
      closeSync(openSync(this.#path, "w", 0o640));
    }
    this.#open();
  }
}

export function logOutput(logFile: string | null, env: Record<string, string | undefined>): LogOutput {
  return logFile === null ? stdoutOutput(env) : new LogFile(logFile);
}
