// Reading a line-oriented file (the access list) without holding it whole: a chunk of whole lines at a time
// through one reused buffer, plus the small stat helpers the list's reload and edits share.

import { open } from "node:fs/promises";
import { errorText } from "./logger.ts";

/** The file is read this much at a time: a big list is never held whole, and reads do not block for long. */
const CHUNK_BYTES = 1 << 20;
const NL = 10;

/** What a missing file reads as in messages. */
export const MISSING = "the file does not exist";

export function whyUnreadable(err: unknown): string {
  return (err as NodeJS.ErrnoException).code === "ENOENT" ? MISSING : errorText(err);
}

/** What changes when a file is replaced or written: compared to notice edits without reading the file. */
export function signatureOf(s: { mtimeMs: number; size: number; ino: number }): string {
  return `${s.mtimeMs}:${s.size}:${s.ino}`;
}

/**
 * Reads `path` CHUNK_BYTES at a time and hands `use` each run of whole lines (the last may lack its newline at
 * the end of the file; a line longer than the buffer is handed over cut, and `continued` marks the chunk that
 * carries its rest). `use` must be done with a chunk before it resolves: the buffer is reused. With `digest`,
 * returns a SHA-256 of the content (a reload compares it; an edit that only copies the file has no use for it,
 * and hashing 40 MB costs tens of milliseconds); else "".
 */
export async function readChunks(
  path: string,
  use: (chunk: Uint8Array, continued: boolean) => Promise<void>,
  digest = true,
): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(CHUNK_BYTES);
    const hasher = digest ? new Bun.CryptoHasher("sha256") : null;
    let have = 0;
    let continued = false;
    for (let eof = false; !eof; ) {
      const { bytesRead } = await fh.read(buf, have, CHUNK_BYTES - have, null);
      eof = bytesRead === 0;
      hasher?.update(buf.subarray(have, have + bytesRead));
      have += bytesRead;
      if (have === 0) break;
      let cut = eof ? have : buf.lastIndexOf(NL, have - 1) + 1;
      if (cut === 0) {
        if (have < CHUNK_BYTES) continue; // no whole line yet: read on
        cut = have; // a line longer than the buffer: hand over its start
      }
      await use(buf.subarray(0, cut), continued);
      continued = buf[cut - 1] !== NL;
      buf.copyWithin(0, cut, have);
      have -= cut;
    }
    return hasher === null ? "" : hasher.digest("hex");
  } finally {
    await fh.close();
  }
}

export function missingAsNull(err: NodeJS.ErrnoException): null {
  if (err.code === "ENOENT") return null;
  throw err;
}

export async function lastByte(path: string, size: number): Promise<number> {
  const fh = await open(path, "r");
  try {
    const b = new Uint8Array(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0];
  } finally {
    await fh.close();
  }
}
