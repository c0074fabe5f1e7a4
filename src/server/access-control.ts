// The deny or allow list file: loaded at start, reloaded when it changes (a directory watch for speed, a poll
// every POLL_MS as the fallback that always works) and on SIGHUP, and edited by the admin API.
//
// - At start the file must be readable: a missing or unreadable list throws AccessListError (main.ts: one
//   line, exit 2). A deny list that cannot be read would serve every torrent, an allow list none.
// - At run time a file that vanishes or cannot be read keeps the last good list, and says why in the log.
// - A file is loaded only once it is stable: unchanged for STABLE_MS and not changed while it was read, so an
//   editor's truncate-then-write is normally seen whole.
// - A reload reads the file, parses it a slice at a time (sliced.ts: then the event loop runs) into a new
//   packed table, sorts it the same way, and swaps it in at once; requests see the old list or the new one.
// - A torrent the list newly refuses is hidden, not forgotten: refused on announce, left out of scrapes and
//   rankings, but its peers and completion count stay until it has been refused for one peer timeout. So a
//   list that was briefly empty or short (an editor caught mid-save) loses nothing once the full list is back.
// - Admin edits go to the file first, then to memory, one at a time (so concurrent requests cannot interleave
//   writes), and never re-parse the file: adding appends a line (first ending the last line if it lacks a
//   newline) without reading the file; removing reads it once and comments the hash's lines out in place (a
//   "#" over their first byte, then fsync). A file the operator changed since the last load is loaded first. If the file is
//   gone, an edit writes it again from the list in force (plus or minus the hash), never an empty list.

import { appendFile, open, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { AccessList, type AccessMode, findKeyLines, keyToHex, ListParser, ParseReport } from "../core/access.ts";
import { HashList } from "../core/hash-list.ts";
import type { Store } from "../core/store.ts";
import type { FrozenTable } from "../core/torrent-table.ts";
import { writeFileAtomicStream } from "./atomic-file.ts";
import { DirWatch } from "./dir-watch.ts";
import { Faults } from "./faults.ts";
import { errorText, type Logger } from "./logger.ts";
import { lastByte, MISSING, missingAsNull, readChunks, signatureOf, whyUnreadable } from "./line-file.ts";
import { sliced } from "./sliced.ts";

const POLL_MS = 2000;
const DEBOUNCE_MS = 100;
/** A file whose mtime is younger than this is still being written: wait before loading it. */
const STABLE_MS = 200;
/** Give up on a file that keeps changing after this many tries (the next change or poll tries again). */
const STABLE_TRIES = 25;
/** Bytes per line of a list of bare hashes: sizes the table's reservation. */
const BYTES_PER_LINE = 41;
const NL = 10;
/** What DELETE writes over the first byte of a hash's line. */
const COMMENT_MARK = new Uint8Array([0x23]); // "#"

export type EditResult = "done" | "unchanged";

/** An admin edit as the other threads apply it (--workers): the hash, and whether it is now listed. */
export interface AccessEdit {
  key: string;
  listed: boolean;
}

/** A list that cannot be used at start (main.ts: one line, exit 2). */
export class AccessListError extends Error {}

/** A file read and parsed (not yet in force), or why it could not be. */
type ReadResult =
  | { hashes: HashList; report: ParseReport; digest: string; signature: string }
  | { why: string; signature: string };

export class AccessControl {
  readonly mode: AccessMode;
  readonly path: string | null;
  #list: AccessList;
  readonly #store: Store;
  readonly #faults: Faults;
  readonly #info: Logger["info"];
  readonly #warn: Logger["warn"];
  #signature = ""; // mtime/size/inode of the file behind the current list (the poll compares)
  #digest: string | null = null; // hash of the bytes behind the current list; null after an admin edit
  #cases = { mixedCase: false, upperCase: false }; // how the file writes hashes: how removals search it
  #sorted: Promise<void> = Promise.resolve(); // the current list's sorted order, built after it is swapped in
  #problem: string | null = null; // last load problem, logged once
  #version = 0;
  /** Torrents in the store the list refuses: key -> when to forget them (ms), in that order. */
  readonly #hidden = new Map<string, number>();
  #forgetting = false;
  #watcher: DirWatch | null = null;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * Awaited after each admin edit, before the edit's answer (app.ts, --workers: every other thread applies it
   * too, so the admin API's answer means every thread has the edit).
   */
  onEdit: ((edit: AccessEdit) => Promise<unknown>) | null = null;
  /** Called with each list put in force (app.ts, --workers: the main thread shares it with the others). */
  onInstall: ((hashes: HashList) => Promise<unknown>) | null = null;
  /**
   * --workers, in a thread other than the main one: the list the main thread shares (HashList.share), which
   * this thread follows instead of reading the file (one copy of a million-line list, not one per thread).
   */
  readonly #follow: { initial: FrozenTable | null } | null;

  /**
   * `faults`: the boundary the poll and the watch run behind (app.ts passes the tracker's). `follow`: a thread
   * other than the main one (--workers): it takes the main thread's list (`initial`, then `adopt` and
   * `applyEdit`) rather than reading the file, and its info and warning lines go to debug (the main thread's
   * copy says them once).
   */
  constructor(
    mode: AccessMode,
    path: string | null,
    store: Store,
    log: Logger,
    faults: Faults = new Faults(log),
    follow: { initial: FrozenTable | null } | null = null,
  ) {
    this.mode = mode;
    this.path = path;
    this.#list = new AccessList(mode);
    this.#store = store;
    this.#faults = faults;
    this.#follow = follow;
    this.#info = follow !== null ? log.debug.bind(log) : log.info.bind(log);
    this.#warn = follow !== null ? log.debug.bind(log) : log.warn.bind(log);
  }

  /** The front ends' question, asked on every announce and scrape. */
  readonly allows = (infoHash: string): boolean => this.#list.allows(infoHash);
  /** The same for the info hash at b[off, off + 20) (UDP packets), without making a string. */
  readonly allowsBytes = (b: Uint8Array, off: number): boolean => this.#list.allowsBytes(b, off);

  get list(): AccessList {
    return this.#list;
  }

  /** Changes whenever the list does (a load or an admin edit): caches of what it allows compare this. */
  get version(): number {
    return this.#version;
  }

  /** Resolves once the current list's sorted order (keyAt) is ready: the admin API's listing waits for it. */
  sorted(): Promise<void> {
    return this.#sorted;
  }

  /** Loads the list (throws AccessListError if it cannot), then follows the file. */
  async start(): Promise<void> {
    if (this.path === null) return;
    if (this.#follow !== null) {
      const initial = this.#follow.initial;
      if (initial !== null) await this.#install({ hashes: HashList.fromShared(initial), digest: "" }, "start");
      this.#timers.push(this.#faults.every("access list forget", POLL_MS, () => this.#forgetDue()));
      return;
    }
    const path = this.path;
    const r = await this.#readStable();
    if ("why" in r) {
      const hint = r.why === MISSING ? " (create it, empty if need be, before starting)" : "";
      throw new AccessListError(`cannot read the ${this.mode} list ${path}: ${r.why}${hint}`);
    }
    this.#signature = r.signature;
    await this.#install(r, "start");
    try {
      this.#watcher = new DirWatch({
        dirs: [dirname(path)],
        names: new Set([basename(path)]),
        quietMs: DEBOUNCE_MS,
        onChange: this.#faults.guard("access list reload", () => this.reload("file changed")),
        onError: () => {}, // the poll below still covers changes
      });
    } catch (err) {
      this.#warn("access: cannot watch the list's directory; polling only", { path, err: errorText(err) });
    }
    this.#timers.push(
      this.#faults.every("access list poll", POLL_MS, () => Promise.all([this.#poll(), this.#forgetDue()])),
    );
  }

  stop(): void {
    this.#watcher?.close();
    for (const t of this.#timers) clearTimeout(t);
  }

  /** Re-reads the file if it changed (SIGHUP: in any case); keeps the current list if it cannot be read. */
  reload(reason: string): Promise<void> {
    return this.#serial(async () => {
      if (this.path === null || this.#follow !== null) return; // (a follower: the main thread shares its reload)
      if (reason !== "SIGHUP" && (await this.#statSignature()) === this.#signature) return;
      const r = await this.#readStable();
      this.#signature = r.signature;
      if ("why" in r) {
        if (this.#problem !== r.why) {
          this.#warn("access: cannot read the list; keeping the last good one", {
            path: this.path,
            reason,
            why: r.why,
            hashes: this.#list.hashes.size,
          });
        }
        this.#problem = r.why;
        return;
      }
      this.#problem = null;
      if (r.digest === this.#digest) {
        if (reason === "SIGHUP")
          this.#info("access list unchanged", { path: this.path, reason, hashes: this.#list.hashes.size });
        return;
      }
      await this.#install(r, reason);
    });
  }

  /** Adds an info hash (20-char key) to the file, then to memory. */
  add(key: string): Promise<EditResult> {
    return this.#serial(async () => {
      const path = this.#requirePath();
      const size = await this.#catchUp();
      await this.#sorted;
      if (this.#list.hashes.has(key)) return "unchanged";
      const line = `${keyToHex(key)}\n`;
      if (size === null) {
        // The file is gone: write it again from the list in force plus the new hash, rather than shrinking
        // the list to one entry.
        await this.#writeFromMemory(key, null);
      } else {
        // A last line without its newline would otherwise be glued to ours.
        await appendFile(path, size === 0 || (await lastByte(path, size)) === 10 ? line : `\n${line}`);
      }
      this.#list.hashes.add(key);
      await this.#edited(key);
      await this.onEdit?.({ key, listed: true });
      return "done";
    });
  }

  /** Removes an info hash from the file (its lines commented out in place), then from memory. */
  remove(key: string): Promise<EditResult> {
    return this.#serial(async () => {
      const path = this.#requirePath();
      const size = await this.#catchUp();
      await this.#sorted;
      if (!this.#list.hashes.has(key)) return "unchanged";
      if (size === null) {
        // The file is gone: write the list in force without the hash (never an empty list in its place).
        await this.#writeFromMemory(null, key);
      } else {
        // In place: a "#" over the first byte of each of the hash's lines makes them comments. One read of the
        // file to find them and a byte written per line, then fsync: no rewrite of a list that may run to
        // 40 MB (its write and fsync alone took 50-60 ms). The file keeps its inode, mode, owner and links,
        // and a one-byte write is all or nothing.
        const offsets: number[] = [];
        let base = 0;
        await readChunks(
          path,
          async (chunk, continued) => {
            // The rest of a cut over-long line (never a hash line) is not looked at.
            const nl = continued ? chunk.indexOf(NL) : -1;
            const skip = continued ? (nl < 0 ? chunk.length : nl + 1) : 0;
            for (const [start] of findKeyLines(chunk.subarray(skip), key, this.#cases))
              offsets.push(base + skip + start);
            base += chunk.length;
          },
          false,
        );
        const fh = await open(path, "r+");
        try {
          for (const at of offsets) await fh.write(COMMENT_MARK, 0, 1, at);
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      this.#list.hashes.delete(key);
      await this.#edited(key);
      await this.onEdit?.({ key, listed: false });
      return "done";
    });
  }

  /**
   * A follower (see the constructor): the main thread's admin edit, applied beside the shared list. (The main
   * thread loads the file first if it changed, and shares that list before the edit.)
   */
  applyEdit(edit: AccessEdit): Promise<void> {
    return this.#serial(async () => {
      if (this.#follow === null) throw new Error("applyEdit is for a thread that follows the main thread's list");
      if (edit.listed) this.#list.hashes.add(edit.key);
      else this.#list.hashes.delete(edit.key);
      await this.#edited(edit.key);
    });
  }

  /**
   * Before an edit: loads the file first if it changed since the last load (an operator's edit not yet
   * reloaded: the file decides, not memory). Returns the file's size, or null if it is gone.
   */
  async #catchUp(): Promise<number | null> {
    const s = await stat(this.path!).catch(missingAsNull);
    if (s === null) return null;
    if (signatureOf(s) === this.#signature) return s.size;
    const r = await this.#readStable();
    this.#signature = r.signature;
    if ("why" in r) throw new Error(`cannot read the list: ${r.why}`);
    if (r.digest !== this.#digest) await this.#install(r, "admin API (the file had changed)");
    return (await stat(this.path!)).size;
  }

  /** After an edit of file and memory: the file is ours again, and the edited torrent is hidden or shown. */
  async #edited(key: string): Promise<void> {
    this.#version++;
    this.#digest = null; // not read back: a SIGHUP re-reads rather than trust a stale digest
    // (The file is ours again; a follower never reads it, so has no signature to keep.)
    if (this.#follow === null) this.#signature = await this.#statSignature();
    if (this.allows(key)) this.#hidden.delete(key);
    else if (this.#store.idOf(key) >= 0) this.#hide(key, Date.now());
  }

  async #writeFromMemory(plus: string | null, minus: string | null): Promise<void> {
    const list = this.#list.hashes;
    await writeFileAtomicStream(this.path!, async (write) => {
      const enc = new TextEncoder();
      let text = plus === null ? "" : `${keyToHex(plus)}\n`;
      for (let i = 0; i < list.size; i++) {
        const k = list.keyAt(i);
        if (k !== minus) text += `${keyToHex(k)}\n`;
        if (text.length > 1 << 16) {
          await write(enc.encode(text));
          text = "";
        }
      }
      await write(enc.encode(text));
    });
  }

  /** A follower (see the constructor): the main thread's list, newly loaded or shared again. */
  adopt(shared: FrozenTable, reason: string): Promise<void> {
    return this.#serial(() => this.#install({ hashes: HashList.fromShared(shared), digest: "" }, reason));
  }

  /** Swaps in a list read by #readStable (or shared by the main thread), then hides what it newly refuses. */
  async #install(r: { hashes: HashList; report?: ParseReport; digest: string }, reason: string): Promise<void> {
    const { hashes, report = new ParseReport() } = r;
    if (report.invalidCount > 0) {
      this.#warn("access: skipped lines that are not a 40-hex info hash", {
        path: this.path,
        reason,
        lines: report.invalidCount,
        first: report.invalid,
      });
    }
    this.#list = new AccessList(this.mode, hashes);
    this.#digest = r.digest;
    this.#cases = report;
    this.#version++;
    this.#info("access list loaded", { mode: this.mode, path: this.path, reason, hashes: hashes.size });
    // The sorted order only serves the admin API's listing and edits (which wait for it), not the front ends:
    // built after the swap, so a start or reload is not held up by it. A follower lists nothing.
    if (this.#follow === null) this.#sorted = sliced(hashes.sortSteps(), () => this.#list.hashes === hashes);
    await this.onInstall?.(hashes);
    await this.#hideRefused(reason === "start");
  }

  /**
   * A slice at a time: hidden torrents the list serves again are kept for good, and every torrent in the store
   * it refuses is hidden (new ones only get a time). At start they are forgotten at once instead: they come from
   * a state file written before this list.
   */
  async #hideRefused(atStart: boolean): Promise<void> {
    const store = this.#store;
    const now = atStart ? -Infinity : Date.now();
    const before = this.#hidden.size;
    await sliced(
      (function* (self: AccessControl) {
        let n = 0;
        for (const k of self.#hidden.keys()) {
          if (self.allows(k)) self.#hidden.delete(k);
          if ((++n & 4095) === 0) yield;
        }
        for (let from = 0; from < store.idLimit; from += 4096) {
          store.forEachTorrentIn(from, from + 4096, (id) => {
            const k = store.infoHashOf(id);
            if (!self.allows(k)) self.#hide(k, now);
          });
          yield;
        }
      })(this),
    );
    if (atStart) await this.#forgetDue();
    else if (this.#hidden.size > before) {
      this.#info("access: hiding torrents the list refuses; forgotten if still refused after the peer timeout", {
        torrents: this.#hidden.size - before,
        peerTimeoutS: store.peerTimeoutS,
      });
    }
  }

  #hide(key: string, now: number): void {
    if (!this.#hidden.has(key)) this.#hidden.set(key, now + this.#store.peerTimeoutS * 1000);
  }

  /**
   * Forgets hidden torrents whose time is up (peers and completion count), unless served again. The map is in
   * the order of those times (each is its insertion time plus one peer timeout), so only the due ones are
   * visited, a slice at a time: an emptied allow list on a big tracker must not stall requests either.
   */
  async #forgetDue(): Promise<void> {
    if (this.#forgetting || this.#hidden.size === 0) return;
    this.#forgetting = true;
    let forgotten = 0;
    try {
      await sliced(
        (function* (self: AccessControl) {
          const now = Date.now();
          let n = 0;
          for (const [k, at] of self.#hidden) {
            if (at > now) return;
            self.#hidden.delete(k);
            if (!self.allows(k) && self.#store.dropTorrent(k)) forgotten++;
            if ((++n & 1023) === 0) yield;
          }
        })(this),
      );
    } finally {
      this.#forgetting = false;
    }
    if (forgotten > 0)
      this.#info("access: forgot torrents the list refuses (hidden for a peer timeout, or restored at start)", {
        torrents: forgotten,
      });
  }

  /**
   * Reads and parses the file once it is stable: its mtime at least STABLE_MS old and the same before and after
   * the read. An editor that truncates and then writes is so normally seen only once it is done. The parse runs
   * a slice at a time into a new list, which is not in force yet.
   */
  async #readStable(): Promise<ReadResult> {
    const path = this.path!;
    for (let tries = 1; ; tries++) {
      let before;
      try {
        before = await stat(path);
      } catch (err) {
        return { why: whyUnreadable(err), signature: "missing" };
      }
      const age = Date.now() - before.mtimeMs;
      if (age >= 0 && age < STABLE_MS && tries < STABLE_TRIES) {
        await Bun.sleep(STABLE_MS - age);
        continue;
      }
      const hashes = new HashList(randomU32(), randomU32(), Math.ceil(before.size / BYTES_PER_LINE));
      const report = new ParseReport();
      const parser = new ListParser(hashes, report);
      let digest: string;
      try {
        digest = await readChunks(path, (chunk, continued) => sliced(parser.steps(chunk, continued)));
      } catch (err) {
        return { why: whyUnreadable(err), signature: signatureOf(before) };
      }
      const after = await this.#statSignature();
      if (after === signatureOf(before)) return { hashes, report, digest, signature: after };
      if (tries >= STABLE_TRIES) return { why: "the file kept changing while it was read", signature: after };
    }
  }

  async #poll(): Promise<void> {
    if ((await this.#statSignature()) !== this.#signature) await this.reload("file changed (poll)");
  }

  async #statSignature(): Promise<string> {
    const s = await stat(this.path!).catch(() => null);
    return s === null ? "missing" : signatureOf(s);
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

function randomU32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
