// Replacing a file so that readers (and a crash) see either the old content or the new, never a mix:
// write a temporary file beside it, fsync, rename over, then fsync the directory.

import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[], mode = 0o644): Promise<void> {
  const chunks = typeof data === "string" ? [new TextEncoder().encode(data)] : data instanceof Uint8Array ? [data] : data;
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
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, "w", mode);
    try {
      await produce(async (chunk) => {
        for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off)).bytesWritten;
      });
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(path));
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
