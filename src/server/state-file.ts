// --state-file: the store snapshotted to disk every SAVE_EVERY_MS and on graceful shutdown, restored at
// start (docs/files.md says what is promised). A slice of torrents is encoded and written at a time
// (announces go on in between, and only one slice's bytes are in memory); the file is replaced atomically.
//
// A restore reads the file twice in READ_CHUNK pieces through one open handle: a first pass checks the
// SHA-256 and the structure and counts, a second loads straight into the store, sized from the counts. So
// the file is never in memory whole, and a file that is bad anywhere (even at its very end) loads nothing.
// A damaged or partial file is moved aside (PATH.corrupt-<time>) with a warning and the tracker starts
// empty. A file that cannot be read at all (permissions, a directory, an I/O error), or a folder the
// tracker cannot write its saves into, stops the start (StateFileError; main.ts exits 2): starting empty
// would overwrite the swarms at the first save.
//
// --workers N: one file for every thread. Each thread restores the torrents it owns (it reads the file itself,
// skipping the others' records); the main thread writes the file, asking each other thread for its torrents a
// slice at a time (encodeShareSlice). A save a thread does not answer (it died and is starting again) fails,
// and the file stays the previous one. A thread started again after dying restores its share from the file.

import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { CLIENT_NAMES } from "../core/clients.ts";
import { type Ownership, ownerAt, SOLE_OWNER } from "../core/owner.ts";
import { encodeHeader, encodeTorrents, encodeTrailer, SnapshotReader } from "../core/snapshot.ts";
import type { Store } from "../core/store.ts";
import { writeFileAtomicStream } from "./atomic-file.ts";
import { Faults } from "./faults.ts";
import { errorText, type Logger } from "./logger.ts";

/** Torrent ids per written piece: a few milliseconds of encoding even when torrents are large. */
const SAVE_SLICE_IDS = 4096;

export const SAVE_EVERY_MS = 5 * 60_000;
/** Bytes read per piece during a restore (one buffer, reused). */
const READ_CHUNK = 1 << 20;
/** A restore that runs longer than this says how far it is, at this interval. */
const PROGRESS_EVERY_MS = 1000;

/** One slice of a thread's torrents, encoded (snapshot.ts `encodeTorrents`), for the main thread's save. */
export interface ShareSlice {
  bytes: Uint8Array;
  torrents: number;
  /** Where the next slice starts, and where the thread's ids end now. */
  next: number;
  idLimit: number;
}

/** Thread's side of a save (--workers): its torrents with ids from `from`, a slice of them. */
export function encodeShareSlice(store: Store, from: number, now: number): ShareSlice {
  const { bytes, torrents } = encodeTorrents(store, from, from + SAVE_SLICE_IDS, now);
  return { bytes, torrents, next: from + SAVE_SLICE_IDS, idLimit: store.idLimit };
}

/** --workers, on the main thread: how a save gets the other threads' torrents. */
export interface OtherShares {
  /** Threads 1 .. count - 1 are the others. */
  count: number;
  /** Thread `thread`'s slice from id `from`; null if it did not answer. */
  slice(thread: number, from: number, now: number): Promise<ShareSlice | null>;
}

/** What one thread's restore loaded. */
export interface RestoredShare {
  savedAt: number;
  torrents: number;
  dormant: number;
  peers: number;
}

/** The state file cannot be used at all: the start must stop (main.ts: one line, exit 2). */
export class StateFileError extends Error {
  override name = "StateFileError";
}

export class StateFile {
  readonly path: string;
  readonly #store: Store;
  readonly #faults: Faults;
  readonly #log: Logger;
  readonly #owners: Ownership;
  readonly #others: OtherShares | null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #saving: Promise<void> | null = null;
  /** For /metrics: snapshots written and failed since start, the last written one's unix time and duration. */
  saves = 0;
  saveFailures = 0;
  /** 0 until the first save (the first periodic one comes SAVE_EVERY_MS after the start). */
  lastSaveAt = 0;
  lastSaveSeconds = 0;
  /** What this thread's restore loaded; null when nothing was (no file, or an unusable one). */
  restored: RestoredShare | null = null;

  /**
   * `faults`: the boundary the periodic save runs behind (app.ts passes the tracker's). `owners`: this
   * thread's place (--workers: it restores what it owns); `others`: on the main thread of several, the others'
   * shares for a save.
   */
  constructor(
    path: string,
    store: Store,
    log: Logger,
    faults: Faults = new Faults(log),
    owners: Ownership = SOLE_OWNER,
    others: OtherShares | null = null,
  ) {
    this.path = path;
    this.#store = store;
    this.#log = log;
    this.#faults = faults;
    this.#owners = owners;
    this.#others = others;
  }

  /** Loads the snapshot (if any) into the empty store and starts periodic saves. */
  async start(now: number): Promise<void> {
    await this.#restore(now);
    this.#timer = this.#faults.every("state save", SAVE_EVERY_MS, () => this.save());
  }

  /**
   * A Worker thread's start (--workers): loads the torrents it owns from the file the main thread writes, and
   * nothing more (it never writes the file, nor moves it aside: the main thread does). A file it cannot use
   * is logged and the thread starts empty.
   */
  async restoreShare(now: number): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        this.#log.warn("state: cannot read the state file; this thread starts empty", {
          path: this.path,
          err: errorText(err),
        });
      return;
    }
    try {
      const why = await this.#load(fh, (await fh.stat()).size, now);
      if (why !== null)
        this.#log.warn("state: the state file is unusable; this thread starts empty", { path: this.path, why });
    } catch (err) {
      this.#log.warn("state: cannot read the state file; this thread starts empty", {
        path: this.path,
        err: errorText(err),
      });
    } finally {
      await fh.close();
    }
  }

  /** Stops the timer and writes a final snapshot. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.save();
  }

  /** Writes a snapshot; a save already running is awaited instead of starting another. */
  save(): Promise<void> {
    this.#saving ??= this.#write().finally(() => {
      this.#saving = null;
    });
    return this.#saving;
  }

  async #write(): Promise<void> {
    const started = performance.now();
    let torrents = 0;
    try {
      // A slice of torrents at a time: memory holds one slice's bytes, not the whole snapshot.
      await writeFileAtomicStream(
        this.path,
        async (write) => {
          const hasher = new Bun.CryptoHasher("sha256");
          const put = async (bytes: Uint8Array) => {
            hasher.update(bytes);
            await write(bytes);
          };
          const now = Math.floor(Date.now() / 1000);
          await put(encodeHeader(now, CLIENT_NAMES));
          for (let from = 0; from < this.#store.idLimit; from += SAVE_SLICE_IDS) {
            const { bytes, torrents: n } = encodeTorrents(this.#store, from, from + SAVE_SLICE_IDS, now);
            torrents += n;
            await put(bytes); // the write yields to the event loop: requests go on between shards
          }
          const others = this.#others;
          for (let thread = 1; others !== null && thread < others.count; thread++) {
            for (let from = 0, end = 1; from < end; ) {
              const slice = await others.slice(thread, from, now);
              // Without its share the file would lose its swarms for good: keep the previous file instead.
              if (slice === null) throw new Error(`worker thread ${thread} did not hand over its swarms`);
              torrents += slice.torrents;
              await put(slice.bytes);
              from = slice.next;
              end = slice.idLimit;
            }
          }
          const count = encodeTrailer(torrents, new Uint8Array(32)).subarray(0, 4);
          hasher.update(count);
          await write(encodeTrailer(torrents, new Uint8Array(hasher.digest())));
        },
        0o600,
      );
      this.saves++;
      this.lastSaveAt = Math.floor(Date.now() / 1000);
      this.lastSaveSeconds = (performance.now() - started) / 1000;
      this.#log.debug("state saved", { path: this.path, torrents, ms: Math.round(this.lastSaveSeconds * 1000) });
    } catch (err) {
      this.saveFailures++;
      this.#log.warn("state: cannot write the state file; swarms will not survive a restart", {
        path: this.path,
        err: errorText(err),
      });
    }
  }

  async #restore(now: number): Promise<void> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw this.#unreadable(err);
      await this.#checkWritable();
      return; // the first start
    }
    let unusable: string | null = null;
    try {
      const info = await fh.stat();
      if (info.isDirectory()) throw new StateFileError(`--state-file ${this.path} is a directory, not a file`);
      if (!info.isFile()) throw new StateFileError(`--state-file ${this.path} is not a regular file`);
      await this.#checkWritable();
      unusable = await this.#load(fh, info.size, now);
    } catch (err) {
      throw err instanceof StateFileError ? err : this.#unreadable(err);
    } finally {
      await fh.close();
    }
    if (unusable !== null) {
      const aside = `${this.path}.corrupt-${now}`;
      await rename(this.path, aside).catch(() => {});
      this.#log.warn("state: the state file is unusable; moved it aside and starting empty", {
        path: this.path,
        why: unusable,
        movedTo: aside,
      });
    }
  }

  /** Both passes over the open file. Returns why the file is unusable (nothing loaded then), or null. */
  async #load(fh: FileHandle, size: number, now: number): Promise<string | null> {
    const started = performance.now();
    const hasher = new Bun.CryptoHasher("sha256");
    const { self, count } = this.#owners;
    const owns = count === 1 ? null : (b: Uint8Array, off: number) => ownerAt(b, off, count) === self;
    const check = new SnapshotReader(
      size,
      { update: (b) => hasher.update(b), digest: () => new Uint8Array(hasher.digest()) },
      null,
      owns,
    );
    const buffer = new Uint8Array(Math.min(READ_CHUNK, Math.max(size, 1)));
    const progress = { next: started + PROGRESS_EVERY_MS, said: false };
    await this.#pass(fh, buffer, check, "checking", progress);
    const checked = check.finish();
    if (typeof checked === "string") return checked;
    const s = this.#store;
    s.reserveTorrents(check.ownedTorrents);
    const load = new SnapshotReader(size, null, { store: s, clientNames: CLIENT_NAMES, now }, owns);
    await this.#pass(fh, buffer, load, "loading", progress);
    const loaded = load.finish();
    if (typeof loaded === "string") {
      // The same open file checked out a moment ago: something rewrote it in place meanwhile. Load nothing.
      this.#dropAll();
      return `${loaded} (changed while it was read)`;
    }
    const ms = Math.round(performance.now() - started);
    this.restored = { savedAt: loaded.savedAt, torrents: s.torrents, dormant: s.dormant, peers: s.peers };
    // With several threads each logs its share; the main thread then logs the sum as "state restored" (app.ts).
    this.#log.info(this.#owners.count === 1 ? "state restored" : "state: share restored", {
      path: this.path,
      ...this.restored,
      ms,
    });
    if (load.torrentsOverLimit > 0 || load.peersOverLimit > 0) {
      this.#log.warn("state: the limits left part of the state file out", {
        torrents: load.torrentsOverLimit,
        peers: load.peersOverLimit,
        maxTorrents: s.maxTorrents,
        maxPeers: s.maxPeers,
        maxPeersPerTorrent: s.maxPeersPerTorrent,
      });
    }
    return null;
  }

  /** Feeds the whole file to `reader` from the start; stops early when it says the file is unusable. */
  async #pass(
    fh: FileHandle,
    buffer: Uint8Array,
    reader: SnapshotReader,
    phase: string,
    progress: { next: number; said: boolean },
  ): Promise<void> {
    for (let at = 0; at < reader.size; ) {
      const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, reader.size - at), at);
      if (bytesRead === 0) break; // shorter than it was: finish() says so
      if (reader.push(buffer.subarray(0, bytesRead)) !== null) return;
      at += bytesRead;
      const t = performance.now();
      if (t >= progress.next) {
        // A large restore: the tracker answers nothing until it is done, so say what it is doing.
        progress.next = t + PROGRESS_EVERY_MS;
        this.#log.info("state: restoring", {
          path: this.path,
          phase,
          percent: Math.floor((at / reader.size) * 100),
          peers: this.#store.peers,
        });
      }
    }
  }

  /** Undoes a partial load: the store was empty before it. */
  #dropAll(): void {
    this.#store.undoRestore();
  }

  /**
   * Fails the start now, not at the first save minutes later, if saves cannot work: the temporary file a save
   * writes beside the state file must be creatable (the folder exists and is writable).
   */
  async #checkWritable(): Promise<void> {
    const why = await this.#probe(`${this.path}.tmp-${process.pid}`);
    if (why !== null) throw new StateFileError(`--state-file ${this.path} cannot be saved: ${why}`);
  }

  /**
   * Why a save would fail now (the same check as at start, for the admin /healthz), or null. The probe file
   * has a name of its own: a save may be writing its temporary file meanwhile.
   */
  saveProblem(): Promise<string | null> {
    return this.#probe(`${this.path}.probe-${process.pid}`);
  }

  /** Creates and removes `probe` beside the state file: null, or why it cannot be created. */
  async #probe(probe: string): Promise<string | null> {
    try {
      await (await open(probe, "w", 0o600)).close();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === "ENOENT"
        ? "its folder does not exist"
        : code === "EACCES" || code === "EPERM"
          ? "its folder is not writable (permission denied)"
          : code === "EROFS"
            ? "its folder is on a read-only file system"
            : `its folder cannot be written (${code ?? errorText(err)})`;
    }
    await unlink(probe).catch(() => {});
    return null;
  }

  #unreadable(err: unknown): StateFileError {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "EACCES" || code === "EPERM"
        ? "cannot be read (permission denied)"
        : code === "EISDIR"
          ? "is a directory, not a file"
          : `cannot be read (${code ?? errorText(err)})`;
    return new StateFileError(`--state-file ${this.path} ${why}; it is left as it is`);
  }
}
