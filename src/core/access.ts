// Which torrents this tracker serves: everything (off), everything but a deny list, or only an allow list.
// Pure: the list arrives as text, parsed here; the server reads, watches and writes the file.

export type AccessMode = "off" | "deny" | "allow";

export interface ParsedList {
  /** Info hashes as 20-char latin1 strings (the store's key form). */
  hashes: Set<string>;
  /** Lines that are neither a 40-hex info hash, a comment nor blank (1-based line numbers). */
  invalid: { line: number; text: string }[];
}

/** One 40-hex info hash per line; `#` starts a comment (whole line or after the hash); blank lines are fine. */
export function parseList(text: string): ParsedList {
  const hashes = new Set<string>();
  const invalid: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const content = stripComment(lines[i]);
    if (content === "") continue;
    const key = hexToKey(content);
    if (key === null) invalid.push({ line: i + 1, text: lines[i].slice(0, 80) });
    else hashes.add(key);
  }
  return { hashes, invalid };
}

/** The hash a list line holds (as a key), or null for comments, blanks and junk. */
export function lineKey(line: string): string | null {
  const content = stripComment(line);
  return content === "" ? null : hexToKey(content);
}

function stripComment(line: string): string {
  const hash = line.indexOf("#");
  return (hash < 0 ? line : line.slice(0, hash)).trim();
}

/** 40 hex digits (either case) -> 20-char latin1 key, or null. */
export function hexToKey(hex: string): string | null {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) return null;
  let s = "";
  for (let i = 0; i < 40; i += 2) s += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return s;
}

export function keyToHex(key: string): string {
  let s = "";
  for (let i = 0; i < key.length; i++) s += key.charCodeAt(i).toString(16).padStart(2, "0");
  return s;
}

/** The decision the front ends ask for on every announce and scrape: one Set lookup. */
export class AccessList {
  constructor(
    readonly mode: AccessMode,
    readonly hashes: ReadonlySet<string> = new Set(),
  ) {}

  allows(infoHash: string): boolean {
    if (this.mode === "off") return true;
    return this.hashes.has(infoHash) === (this.mode === "allow");
  }
}
