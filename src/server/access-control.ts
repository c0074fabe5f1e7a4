// The deny or allow list file: loaded at start, reloaded when it changes (a directory watch for speed, a poll
// every POLL_MS as the fallback that always works) and on SIGHUP, and edited by the admin API.
//
// - A reload swaps in a whole new list at once; requests see the old list or the new one, never a mix.
// - A file that vanishes or cannot be read keeps the last good list, and says why in the log.
// - Admin edits go to the file first, then to memory, one at a time (so concurrent requests cannot
//   interleave writes). Adding appends a line, first ending the last line if it lacks a newline;
//   removing rewrites the file atomically (temporary file, fsync, rename), keeping comments.
// - Torrents that become denied are dropped from the store at once, so they leave the statistics too.

import { appendFile, readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { AccessList, type AccessMode, keyToHex, lineKey, parseList } from "../core/access.ts";
import type { Store } from "../core/store.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { DirWatch } from "./dir-watch.ts";
import { errorText, type Logger } from "./logger.ts";

const POLL_MS = 2000;
const DEBOUNCE_MS = 100;

export type EditResult = "done" | "unchanged";

export class AccessControl {
  readonly mode: AccessMode;
  readonly path: string | null;
  #list: AccessList;
  readonly #store: Store;
  readonly #log: Logger;
  #text: string | null = null; // the file content behind the current list
  #signature = ""; // mtime/size/inode seen by the poll
  #problem: string | null = null; // last load problem, logged once
  #watcher: DirWatch | null = null;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(mode: AccessMode, path: string | null, store: Store, log: Logger) {
    this.mode = mode;
    this.path = path;
    this.#list = new AccessList(mode);
    this.#store = store;
    this.#log = log;
  }

  /** The front ends' question, asked on every announce and scrape. */
  readonly allows = (infoHash: string): boolean => this.#list.allows(infoHash);

  get list(): AccessList {
    return this.#list;
  }

  async start(): Promise<void> {
    if (this.path === null) return;
    await this.reload("start");
    const path = this.path;
    try {
      this.#watcher = new DirWatch({
        dirs: [dirname(path)],
        names: new Set([basename(path)]),
        quietMs: DEBOUNCE_MS,
        onChange: () => void this.reload("file changed"),
        onError: () => {}, // the poll below still covers changes
      });
    } catch (err) {
      this.#log.warn("access: cannot watch the list's directory; polling only", { path, err: errorText(err) });
    }
    const poll = setInterval(() => void this.#poll(), POLL_MS);
    poll.unref();
    this.#timers.push(poll);
  }

  stop(): void {
    this.#watcher?.close();
    for (const t of this.#timers) clearTimeout(t);
  }

  /** Re-reads the file; keeps the current list if it cannot be read. Serialized with admin edits. */
  reload(reason: string): Promise<void> {
    return this.#serial(async () => {
      if (this.path === null) return;
      let text: string;
      try {
        // Stat first: a change landing between the two is then seen by the next poll, not missed.
        this.#signature = await this.#statSignature();
        text = await readFile(this.path, "utf8");
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "the file does not exist" : errorText(err);
        if (this.#problem !== why) {
          this.#log.warn("access: cannot read the list; keeping the last good one", { path: this.path, reason, why, hashes: this.#list.hashes.size });
        }
        this.#problem = why;
        return;
      }
      this.#problem = null;
      if (text === this.#text) {
        if (reason === "SIGHUP") this.#log.info("access list unchanged", { path: this.path, reason, hashes: this.#list.hashes.size });
        return;
      }
      this.#install(text, reason);
    });
  }

  /** Adds an info hash (20-char key) to the file, then to memory. */
  add(key: string): Promise<EditResult> {
    return this.#serial(async () => {
      const path = this.#requirePath();
      const current = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return null;
        throw err;
      });
      const line = `${keyToHex(key)}\n`;
      if (current === null) {
        // The file is gone: write it again from the list in force, plus the new hash, rather than
        // silently shrinking the list to one entry.
        if (this.#list.hashes.has(key)) return "unchanged";
        const text = [...this.#list.hashes].map((h) => `${keyToHex(h)}\n`).join("") + line;
        await writeFileAtomic(path, text);
        this.#install(text, "admin API");
        return "done";
      }
      // The file decides, not memory: an operator's edit may not have been reloaded yet.
      if (parseList(current).hashes.has(key)) {
        if (current !== this.#text) this.#install(current, "admin API");
        return "unchanged";
      }
      // A last line without its newline would otherwise be glued to ours.
      await appendFile(path, current === "" || current.endsWith("\n") ? line : `\n${line}`);
      this.#install(await readFile(path, "utf8"), "admin API");
      return "done";
    });
  }

  /** Removes an info hash from the file (atomic rewrite), then from memory. */
  remove(key: string): Promise<EditResult> {
    return this.#serial(async () => {
      const path = this.#requirePath();
      const current = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return "";
        throw err;
      });
      const lines = current.split("\n");
      const kept = lines.filter((l) => lineKey(l) !== key);
      if (kept.length === lines.length && !this.#list.hashes.has(key)) return "unchanged";
      const next = kept.join("\n");
      await writeFileAtomic(path, next);
      this.#install(next, "admin API");
      return "done";
    });
  }

  #install(text: string, reason: string): void {
    const parsed = parseList(text);
    for (const bad of parsed.invalid) {
      this.#log.warn("access: skipped a line that is not a 40-hex info hash", { path: this.path, line: bad.line, text: bad.text });
    }
    const before = this.#list;
    const first = this.#text === null;
    this.#list = new AccessList(this.mode, parsed.hashes);
    this.#text = text;
    this.#dropNewlyDenied(before, first);
    this.#log.info("access list loaded", { mode: this.mode, path: this.path, reason, hashes: parsed.hashes.size });
  }

  /**
   * Torrents the new list refuses leave the store now (only the changed hashes are looked at). The first list
   * in allow mode is checked against the whole store instead: torrents restored from a state file were never
   * checked against the (empty) list before it.
   */
  #dropNewlyDenied(before: AccessList, first: boolean): void {
    let dropped = 0;
    if (first && this.mode === "allow") {
      const store = this.#store;
      const refused: string[] = [];
      for (let i = 0; i < store.shardCount; i++) {
        store.forEachTorrent(i, (id) => {
          const h = store.infoHashOf(id);
          if (!this.#list.allows(h)) refused.push(h);
        });
      }
      for (const h of refused) if (store.dropTorrent(h)) dropped++;
    }
    const changed = this.mode === "deny" ? this.#list.hashes : before.hashes;
    const other = this.mode === "deny" ? before.hashes : this.#list.hashes;
    for (const h of changed) if (!other.has(h) && this.#store.dropTorrent(h)) dropped++;
    if (dropped > 0) this.#log.info("access: dropped torrents that are no longer allowed", { torrents: dropped });
  }

  async #poll(): Promise<void> {
    if ((await this.#statSignature()) !== this.#signature) await this.reload("file changed (poll)");
  }

  async #statSignature(): Promise<string> {
    try {
      const s = await stat(this.path!);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return "missing";
    }
  }

  #requirePath(): string {
    if (this.path === null) throw new Error("no access list file"); // the admin API checks this first
    return this.path;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}
