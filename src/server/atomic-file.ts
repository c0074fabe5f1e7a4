// Replacing a file so that readers (and a crash) see either the old content or the new, never a mix:
// write a temporary file beside it, fsync, rename over, then fsync the directory.
//
// The replacement keeps what an operator set on the file it replaces: a symlink stays a symlink (the write goes
// to the file it points to, beside it), and the mode and owner carry over (a 0600 list stays 0600). Only a new
// file gets `mode` (less the umask).

import { lstat, open, readlink, realpath, rename, stat, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";

export function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly Uint8Array[],
  mode = 0o644,
): Promise<void> {
  const chunks =
    typeof data === "string" ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
  return writeFileAtomicStream(
    path,
    async (write) => {
      for (const chunk of chunks) await write(chunk);
    },
    mode,
  );
}

/**
 * The same for content produced a piece at a time (large files): `produce` calls `write` for each piece, so the
 * whole content is never held in memory at once.
 */
export async function writeFileAtomicStream(
  path: string,
  produce: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
  mode = 0o644,
): Promise<void> {
  const target = await resolveTarget(path);
  const existing = await stat(target).catch(() => null);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, "w", existing === null ? mode : 0o600);
    try {
      if (existing !== null) {
        // Mode after owner: chown may clear setuid/setgid bits. A different owner needs privileges; without
        // them the file keeps ours, as a plain write by this user would.
        if (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()) {
          await fh.chown(existing.uid, existing.gid).catch(() => {});
        }
        await fh.chmod(existing.mode & 0o7777);
      }
      await produce(async (chunk) => {
        for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off)).bytesWritten;
      });
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(target));
}

/** The file a write to `path` should replace: `path` itself, or what its symlinks lead to (even if missing). */
async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    // Missing: a dangling symlink still names where the file belongs; follow it by hand (a few hops at most).
    let p = path;
    for (let hops = 0; hops < 16; hops++) {
      const s = await lstat(p).catch(() => null);
      if (s === null || !s.isSymbolicLink()) return p;
      p = resolve(dirname(p), await readlink(p));
    }
    return p;
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename itself durable. Not every platform can open a directory (Windows): best effort.
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}
