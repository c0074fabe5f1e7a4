// --state-file: the store snapshotted to disk every SAVE_EVERY_MS and on graceful shutdown, restored at
// start. Encoding runs one shard per event-loop turn, so announces keep flowing during a save; the file is
// replaced atomically. A damaged or partial file is moved aside (PATH.corrupt-<time>) with a warning and
// the tracker starts empty: never a crash.

import { readFile, rename } from "node:fs/promises";
import { CLIENT_NAMES } from "../core/clients.ts";
import { encodeHeader, encodeShard, encodeTrailer, restoreSnapshot } from "../core/snapshot.ts";
import type { Store } from "../core/store.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import type { Logger } from "./logger.ts";

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
    const hasher = new Bun.CryptoHasher("sha256");
    const chunks: Uint8Array[] = [encodeHeader(Math.floor(Date.now() / 1000), CLIENT_NAMES)];
    hasher.update(chunks[0]);
    let torrents = 0;
    for (const shard of this.#store.shards) {
      const { bytes, torrents: n } = encodeShard(shard);
      chunks.push(bytes);
      hasher.update(bytes);
      torrents += n;
      await new Promise((resolve) => setImmediate(resolve)); // let requests in between shards
    }
    const countBytes = encodeTrailer(torrents, new Uint8Array(32)).subarray(0, 4);
    hasher.update(countBytes);
    chunks.push(encodeTrailer(torrents, new Uint8Array(hasher.digest())));
    try {
      await writeFileAtomic(this.path, chunks, 0o600);
      this.saves++;
      this.lastSaveSeconds = (performance.now() - started) / 1000;
      this.#log.debug("state saved", { path: this.path, torrents, ms: Math.round(this.lastSaveSeconds * 1000) });
    } catch (err) {
      this.#log.warn("state: cannot write the state file; swarms will not survive a restart", {
        path: this.path,
        err: err instanceof Error ? err.message : String(err),
      });
    }
  }

  async #restore(now: number): Promise<void> {
    let data: Uint8Array;
    try {
      data = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.#log.warn("state: cannot read the state file; starting empty", { path: this.path, err: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    const sha256 = (b: Uint8Array) => new Uint8Array(new Bun.CryptoHasher("sha256").update(b).digest());
    const result = restoreSnapshot(data, this.#store, CLIENT_NAMES, sha256);
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
