// A .tar.gz writer for release archives: POSIX ustar entries with explicit modes, owner root (0/0) and one fixed
// timestamp, so the archive unpacks the same everywhere and is byte-for-byte reproducible from the same inputs.
// (Bun.Archive cannot set file modes, and the system's tar differs between GNU, BSD and Windows.)

import { gzipSync } from "bun";

export interface TarEntry {
  /** Path inside the archive, "/"-separated; a directory ends with "/". */
  path: string;
  /** Permission bits, e.g. 0o755. */
  mode: number;
  /** File content; absent for a directory. */
  data?: Uint8Array;
}

const BLOCK = 512;

export function tarGz(entries: readonly TarEntry[], mtimeS: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const isDir = e.path.endsWith("/");
    const data = isDir ? new Uint8Array(0) : (e.data ?? new Uint8Array(0));
    parts.push(header(e.path, e.mode, data.length, mtimeS, isDir));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(2 * BLOCK)); // end of archive
  let total = 0;
  for (const p of parts) total += p.length;
  const tar = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    tar.set(p, at);
    at += p.length;
  }
  return gzipSync(tar, { level: 9 });
}

function header(path: string, mode: number, size: number, mtimeS: number, isDir: boolean): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const enc = new TextEncoder();
  const name = enc.encode(path);
  if (name.length > 100) throw new Error(`tar: path too long for ustar: ${path}`);
  const put = (offset: number, bytes: Uint8Array) => h.set(bytes, offset);
  const octal = (offset: number, width: number, n: number) => {
    const text = n.toString(8).padStart(width - 1, "0");
    if (text.length > width - 1) throw new Error(`tar: ${n} does not fit in ${width} bytes`);
    put(offset, enc.encode(text + "\0"));
  };
  put(0, name);
  octal(100, 8, mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, size);
  octal(136, 12, Math.floor(mtimeS));
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h[156] = isDir ? 0x35 : 0x30; // '5' directory, '0' regular file
  put(257, enc.encode("ustar\0"));
  put(263, enc.encode("00"));
  put(265, enc.encode("root"));
  put(297, enc.encode("root"));
  let sum = 0;
  for (const b of h) sum += b;
  put(148, enc.encode(sum.toString(8).padStart(6, "0") + "\0 "));
  return h;
}
