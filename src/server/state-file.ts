// --state-file: the store snapshotted to disk every SAVE_EVERY_MS and on graceful shutdown, restored at
// start. Each shard is encoded and written in turn (announces go on in between, and only one shard's bytes
// are in memory); the file is replaced atomically. A damaged or partial file is moved aside (PATH.corrupt-<time>) with a warning and
// the tracker starts empty: never a crash.

import { readFile, rename } from "node:fs/promises";
import { CLIENT_NAMES } from "../core/clients.ts";
import { encodeHeader, encodeTorrents, encodeTrailer, restoreSnapshot } from "../core/snapshot.ts";
import type { Store } from "../core/store.ts";
import { writeFileAtomicStream } from "./atomic-file.ts";
import { errorText, type Logger } from "./logger.ts";

/** Torrent ids per written piece: a few milliseconds of encoding even when torrents are large. */
const SAVE_SLICE_IDS = 4096;

export const SAVE_EVERY_MS = 5 * 60_000;

export class StateFile {
  readonly path: string;
  readonly #store: Store;
  readonly #log: Logger;
  #timer: ReturnType<typeof setInterval> | null = null;
  #saving: Promise<void> | null = null;
  /** Snapshots written since start, and the duration of the last one (for /metrics). */
  saves = 0;
  lastSaveSeconds = 0;

  constructor(path: string, store: Store, log: Logger) {
    this.path = path;
    this.#store = store;
    this.#log = log;
  }

  /** Loads the snapshot (if any) into the empty store and starts periodic saves. */
  async start(now: number): Promise<void> {
    await this.#restore(now);
    this.#timer = setInterval(() => void this.save(), SAVE_EVERY_MS);
    this.#timer.unref();
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
          const count = encodeTrailer(torrents, new Uint8Array(32)).subarray(0, 4);
          hasher.update(count);
          await write(encodeTrailer(torrents, new Uint8Array(hasher.digest())));
        },
        0o600,
      );
      this.saves++;
      this.lastSaveSeconds = (performance.now() - started) / 1000;
      this.#log.debug("state saved", { path: this.path, torrents, ms: Math.round(this.lastSaveSeconds * 1000) });
    } catch (err) {
      this.#log.warn("state: cannot write the state file; swarms will not survive a restart", {
        path: this.path,
        err: errorText(err),
      });
    }
  }

  async #restore(now: number): Promise<void> {
    let data: Uint8Array;
    try {
      data = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.#log.warn("state: cannot read the state file; starting empty", { path: this.path, err: errorText(err) });
      }
      return;
    }
    const sha256 = (b: Uint8Array) => new Uint8Array(new Bun.CryptoHasher("sha256").update(b).digest());
    const result = restoreSnapshot(data, this.#store, CLIENT_NAMES, sha256, now);
    if (typeof result === "string") {
      const aside = `${this.path}.corrupt-${now}`;
      await rename(this.path, aside).catch(() => {});
      this.#log.warn("state: the state file is unusable; moved it aside and starting empty", { path: this.path, why: result, movedTo: aside });
      return;
    }
    const s = this.#store;
    this.#log.info("state restored", { path: this.path, savedAt: result.savedAt, torrents: s.torrents, dormant: s.dormant, peers: s.peers });
  }
}
