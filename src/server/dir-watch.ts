// Noticing that a file was replaced. Editors, `mv`, ACME clients and Kubernetes all replace files by rename,
// which a watch on the file itself loses after the first time, so the folders holding the files are watched.
// Changes come in bursts (a temporary file and its rename, a certificate and then its key): the callback runs
// once the folders have been quiet for a moment.

import { type FSWatcher, watch } from "node:fs";

export interface DirWatchOptions {
  dirs: Iterable<string>;
  /** The entries that matter; others are ignored. Default: any change counts. */
  names?: ReadonlySet<string>;
  /** Quiet time after the last change before `onChange` runs, ms. */
  quietMs: number;
  /** Run `onChange` anyway once changes have gone on this long, ms. Default: wait for quiet however long. */
  maxWaitMs?: number;
  onChange: () => void;
  /** A watch that failed after it started (the folder was removed, say); it stops reporting changes. */
  onError: (err: Error, dir: string) => void;
}

export class DirWatch {
  readonly #o: DirWatchOptions;
  readonly #watchers: FSWatcher[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstChangeAt = 0;

  /** Throws if a folder cannot be watched (after closing the watches already made). */
  constructor(o: DirWatchOptions) {
    this.#o = o;
    try {
      for (const dir of o.dirs) {
        // persistent: false: the listeners keep the process alive, never a watch on a configuration file.
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (o.names === undefined || name === null || o.names.has(String(name))) this.#changed();
        });
        w.on("error", (err) => o.onError(err, dir));
        this.#watchers.push(w);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Drops a pending `onChange` (the caller just looked at the files itself). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.cancel();
    for (const w of this.#watchers.splice(0)) w.close();
  }

  #changed(): void {
    const now = Date.now();
    if (this.#timer === undefined) this.#firstChangeAt = now;
    clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#o.quietMs, this.#firstChangeAt + (this.#o.maxWaitMs ?? Infinity) - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#o.onChange();
    }, wait);
  }
}
