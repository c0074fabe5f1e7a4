// Which BitTorrent client sent a peer id, and which version of it.
//
// Peer ids follow a few conventions (BEP 20 and de-facto practice):
//   Azureus-style  "-XXvvvv-" + 12 random bytes: two letters name the client, four chars hold the version.
//   Shad0w-style   a 6-char header: one letter, 3-5 version digits in Shad0w's base 64 (0-9, A-Z = 10-35,
//                  a-z = 36-61, '.' = 62), padded with '-'; then 3 chars ("---" for a single-torrent client,
//                  "-T-" for a tracker, a base-64 counter for multi-torrent ones). "T03I--" is BitTornado 0.3.18.
//   Mainline-style "M7-10-3-" (BitTorrent), "Q1-0-0--" (Queen Bee): dash-separated decimal numbers.
//   A handful of clients with a fixed prefix of their own ("exbc", "XBT", "OP", "A2-", ...).
//
// Every peer gets a one-byte tag (an index into CLIENT_NAMES) on every announce, so `clientTag` runs on the hot
// path: it reads a few bytes and precomputed tables and allocates nothing. `identifyClient` adds the version
// for tools and the API. Both go through the same `classify`, so their tags cannot disagree.
//
// Tags are process-local (assigned in table order at start-up), never persisted.

/**
 * How the four Azureus-style version chars (positions 3-6) read. Letters count as digits above 9
 * (A = 10, case-insensitive), so "-DE13F0-" is 1.3.15.
 *  - abcd: a.b.c, plus .d when d is not 0 (the common convention; also used for clients whose habit is unknown)
 *  - abc: a.b.c; the fourth char is a build or release-channel flag ("-UT355B-", "-DE211s-")
 *  - hex: a.b.c in hex digits (rakshasa libtorrent: "-lt0D80-" is 0.13.8)
 *  - bitcomet: two-digit major, then the minor as written ("-BC0200-" is 2.00)
 *  - twoByTwo: two-digit major, two-digit minor ("-WW0102-" is 1.2; WebTorrent pads each to two digits)
 *  - transmission: see `transmissionVersion`
 *  - dotted: the version is written out with dots and may be longer than four chars ("-ML2.7.2-");
 *    the id need not have a dash at position 7
 *  - free: no version; the rest of the id is free-form (G3 Torrent puts a nickname there)
 */
type AzVersion = "abcd" | "abc" | "hex" | "bitcomet" | "twoByTwo" | "transmission" | "dotted" | "free";

/** Azureus-style codes. Two codes may share a name (they then share a tag). */
const AZUREUS_STYLE: readonly (readonly [code: string, name: string, version?: AzVersion])[] = [
  ["7T", "aTorrent"],
  ["AB", "AnyEvent::BitTorrent"],
  ["AG", "Ares"],
  ["A~", "Ares"],
  ["AR", "Arctic"],
  ["AT", "Artemis"],
  ["AV", "Avicora"],
  ["AX", "BitPump"],
  ["AZ", "Azureus/Vuze"],
  ["BB", "BitBuddy"],
  ["BC", "BitComet", "bitcomet"],
  ["BE", "Baretorrent"],
  ["BF", "Bitflu"],
  ["BI", "BiglyBT"],
  ["BN", "Baidu Netdisk"],
  ["BP", "BitTorrent Pro"],
  ["BR", "BitRocket"],
  ["BS", "BTSlave"],
  ["BT", "BitTorrent", "abc"],
  ["Bt", "Bt"],
  ["BW", "BitWombat"],
  ["BX", "BitTorrent X"],
  ["CD", "Enhanced CTorrent"],
  ["CT", "CTorrent"],
  ["DE", "Deluge", "abc"],
  ["DP", "Propagate Data Client"],
  ["EB", "EBit"],
  ["ES", "Electric Sheep"],
  ["FC", "FileCroc"],
  ["FD", "Free Download Manager"],
  ["FG", "FlashGet"],
  ["FT", "FoxTorrent"],
  ["FW", "FrostWire"],
  ["FX", "Freebox BitTorrent"],
  ["G3", "G3 Torrent", "free"],
  ["GR", "GetRight"],
  ["GS", "GSTorrent"],
  ["HK", "Hekate"],
  ["HL", "Halite"],
  ["HM", "hMule"],
  ["HN", "Hydranode"],
  ["IL", "iLivid"],
  ["JS", "Justseed.it"],
  ["JT", "JavaTorrent"],
  ["KG", "KGet"],
  ["KT", "KTorrent", "abc"],
  ["LC", "LeechCraft"],
  ["LH", "LH-ABC"],
  ["LP", "Lphant"],
  ["LT", "libtorrent (Rasterbar)", "abc"],
  ["lt", "libtorrent (rakshasa)", "hex"],
  ["LW", "LimeWire"],
  ["MG", "MediaGet"],
  ["MK", "Meerkat"],
  ["ML", "MLDonkey", "dotted"],
  ["MO", "MonoTorrent"],
  ["MP", "MooPolice"],
  ["MR", "Miro"],
  ["MT", "MoonlightTorrent"],
  ["NB", "Net::BitTorrent"],
  ["NX", "Net Transport"],
  ["OS", "OneSwarm"],
  ["OT", "OmegaTorrent"],
  ["PB", "Protocol::BitTorrent"],
  ["PD", "Pando"],
  ["PI", "PicoTorrent", "abc"],
  ["qB", "qBittorrent", "abc"],
  ["QD", "QQDownload"],
  ["QT", "Qt 4 Torrent example"],
  ["RT", "Retriever"],
  ["RZ", "RezTorrent"],
  ["SB", "SwiftBit"],
  ["SD", "Xunlei"], // sold as "Thunder"
  ["SM", "SoMud"],
  ["SP", "BitSpirit"],
  ["SS", "SwarmScope"],
  ["ST", "SymTorrent"],
  ["st", "SharkTorrent"],
  ["SZ", "Shareaza"],
  ["S~", "Shareaza"], // alpha and beta builds
  ["TB", "Torch"],
  ["TE", "Terasaur Seed Bank"],
  ["TL", "Tribler"],
  ["TN", "TorrentDotNET"],
  ["TR", "Transmission", "transmission"],
  ["TS", "TorrentStorm"],
  ["TT", "TuoTu"],
  ["UL", "uLeecher!"],
  ["UM", "µTorrent Mac", "abc"],
  ["UT", "µTorrent", "abc"],
  ["UW", "µTorrent Web", "abc"],
  ["VG", "Vagaa"],
  ["WD", "WebTorrent Desktop", "twoByTwo"],
  ["WT", "BitLet"],
  ["WW", "WebTorrent", "twoByTwo"],
  ["WY", "FireTorrent"],
  ["XF", "Xfplay"],
  ["XL", "Xunlei"],
  ["XS", "XSwifter"],
  ["XT", "XanTorrent"],
  ["XX", "Xtorrent"],
  ["ZT", "ZipTorrent"],
];

/** Shad0w-style first letters. */
const SHADOW_STYLE: readonly (readonly [letter: string, name: string])[] = [
  ["A", "ABC"],
  ["O", "Osprey Permaseed"],
  ["Q", "BTQueue"],
  ["R", "Tribler"],
  ["S", "Shad0w"],
  ["T", "BitTornado"],
  ["U", "UPnP NAT Bit Torrent"],
];

/** Mainline-style first letters ("M7-10-3-"). */
const MAINLINE_STYLE: readonly (readonly [letter: string, name: string])[] = [
  ["M", "BitTorrent"],
  ["Q", "Queen Bee"],
];

// Clients recognised by a prefix of their own; the matching is in `classify`.
const ARIA2 = "aria2"; // "A2-1-36-0-" (1.x), "-aria2-" (older)
const BITCOMET = "BitComet"; // "exbc" + major byte + minor byte
const BITLORD = "BitLord"; // BitComet's id with "LORD" at 6
const OPERA = "Opera"; // "OP" + four-digit build
const XBT = "XBT Client"; // "XBT" + three digits
const PLUS = "Plus!"; // "Plus"
const TURBOBT = "turbobt"; // "turbobt" + version
const DNA = "BitTorrent DNA"; // "DNA"
const BITTYRANT = "BitTyrant"; // "AZ2500BT": an Azureus 2.5 fork that never changed its id

// ---- tags ----

const names: string[] = ["Unknown"];
const tagByName = new Map<string, number>();
function tagOf(name: string): number {
  let tag = tagByName.get(name);
  if (tag === undefined) {
    tag = names.length;
    names.push(name);
    tagByName.set(name, tag);
  }
  return tag;
}

const AZ_VERSIONS: readonly AzVersion[] = ["abcd", "abc", "hex", "bitcomet", "twoByTwo", "transmission", "dotted", "free"];
/** Tag by the two letters after the dash ((b1 << 8) | b2); 0 = not a known code. */
const AZ_TAG = new Uint8Array(65536);
/** Index into AZ_VERSIONS by the same key. */
const AZ_STYLE = new Uint8Array(65536);
for (const [code, name, version = "abcd"] of AZUREUS_STYLE) {
  const key = (code.charCodeAt(0) << 8) | code.charCodeAt(1);
  if (code.length !== 2 || key > 0xffff || AZ_TAG[key] !== 0) throw new Error(`bad or repeated code ${code}`);
  AZ_TAG[key] = tagOf(name);
  AZ_STYLE[key] = AZ_VERSIONS.indexOf(version);
}
const LOOSE_FROM = AZ_VERSIONS.indexOf("dotted"); // styles from here on need no dash at position 7

const SHADOW_TAG = new Uint8Array(256);
for (const [letter, name] of SHADOW_STYLE) SHADOW_TAG[letter.charCodeAt(0)] = tagOf(name);
const MAINLINE_TAG = new Uint8Array(256);
for (const [letter, name] of MAINLINE_STYLE) MAINLINE_TAG[letter.charCodeAt(0)] = tagOf(name);

const TAG_ARIA2 = tagOf(ARIA2);
const TAG_BITCOMET = tagOf(BITCOMET);
const TAG_BITLORD = tagOf(BITLORD);
const TAG_OPERA = tagOf(OPERA);
const TAG_XBT = tagOf(XBT);
const TAG_PLUS = tagOf(PLUS);
const TAG_TURBOBT = tagOf(TURBOBT);
const TAG_DNA = tagOf(DNA);
const TAG_BITTYRANT = tagOf(BITTYRANT);

/** Client names by tag; tag 0 is "Unknown". At most 128 entries (the tag is stored in 7 bits per peer). */
export const CLIENT_NAMES: readonly string[] = Object.freeze(names);
if (names.length > 128) throw new Error("too many client tags for the 7 bits a peer record has for them");

// ---- classification (shared by both entry points) ----

// How the version is encoded; `classify` returns (kind << 8) | tag, kind 0 meaning "no version in the id".
const K_AZUREUS = 1;
const K_SHADOW = 2;
const K_MAINLINE = 3; // dashed numbers from position 1
const K_ARIA2 = 4; // dashed numbers from position 3
const K_EXBC = 5;
const K_OPERA = 6;
const K_XBT = 7;
const K_TURBOBT = 8;

const DASH = 0x2d;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

/** Whether bytes[off..] start with the ASCII `prefix`. */
function startsWith(b: Uint8Array, off: number, prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[off + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Index (relative to off) just past three dash-terminated runs of 1-3 digits starting at `i`, or -1. */
function dashedEnd(b: Uint8Array, off: number, i: number): number {
  for (let group = 0; group < 3; group++) {
    let n = 0;
    while (n < 3 && isDigit(b[off + i])) {
      i++;
      n++;
    }
    if (n === 0 || b[off + i] !== DASH) return -1;
    i++;
  }
  return i;
}

/** Mainline style: "M7-4-0--", "M7-10-3-". Short versions are padded with dashes to 8 chars. */
function isMainline(b: Uint8Array, off: number): boolean {
  const end = dashedEnd(b, off, 1);
  if (end < 0) return false;
  for (let i = end; i < 8; i++) if (b[off + i] !== DASH) return false;
  return true;
}

function isBase64(c: number): boolean {
  return isAlnum(c) || c === 0x2e || c === DASH;
}

/** Shad0w style: after the letter, 3-5 version digits padded with '-' to 6 chars, then 3 base-64 chars. */
function isShadow(b: Uint8Array, off: number): boolean {
  let i = 1;
  while (i < 6 && b[off + i] !== DASH && isBase64(b[off + i])) i++;
  if (i < 4) return false;
  for (let j = i; j < 6; j++) if (b[off + j] !== DASH) return false;
  if (!isBase64(b[off + 6]) || !isBase64(b[off + 7]) || !isBase64(b[off + 8])) return false;
  // A full 5-digit header has no padding, so demand the single-client or tracker marker: without it any
  // alphanumeric prefix (Tixati's "TIX0193-") would pass.
  return i < 6 || (b[off + 6] === DASH && b[off + 8] === DASH);
}

/** (kind << 8) | tag for the id at b[off..off+20). The id must lie inside b (callers pad short input). */
function classify(b: Uint8Array, off: number): number {
  const c0 = b[off];
  if (c0 === DASH) {
    const key = (b[off + 1] << 8) | b[off + 2];
    const tag = AZ_TAG[key];
    if (tag !== 0 && (b[off + 7] === DASH || AZ_STYLE[key] >= LOOSE_FROM)) return (K_AZUREUS << 8) | tag;
    if (startsWith(b, off + 1, "aria2-")) return TAG_ARIA2;
    return 0;
  }
  if (c0 === 0x41 /* A */) {
    if (b[off + 1] === 0x32 && b[off + 2] === DASH && dashedEnd(b, off, 3) > 0) return (K_ARIA2 << 8) | TAG_ARIA2;
    if (startsWith(b, off, "AZ2500BT")) return TAG_BITTYRANT;
  }
  // Before Shad0w style: 'Q' is both Queen Bee (mainline) and BTQueue (Shad0w).
  if (MAINLINE_TAG[c0] !== 0 && isMainline(b, off)) return (K_MAINLINE << 8) | MAINLINE_TAG[c0];
  if (startsWith(b, off, "exbc")) {
    return (K_EXBC << 8) | (startsWith(b, off + 6, "LORD") ? TAG_BITLORD : TAG_BITCOMET);
  }
  if (startsWith(b, off, "OP") && isDigit(b[off + 2]) && isDigit(b[off + 3]) && isDigit(b[off + 4]) && isDigit(b[off + 5])) {
    return (K_OPERA << 8) | TAG_OPERA;
  }
  if (startsWith(b, off, "XBT") && isDigit(b[off + 3]) && isDigit(b[off + 4]) && isDigit(b[off + 5])) {
    return (K_XBT << 8) | TAG_XBT;
  }
  if (startsWith(b, off, "Plus")) return TAG_PLUS;
  if (startsWith(b, off, "turbobt")) return (K_TURBOBT << 8) | TAG_TURBOBT;
  if (startsWith(b, off, "DNA")) return TAG_DNA;
  if (SHADOW_TAG[c0] !== 0 && isShadow(b, off)) return (K_SHADOW << 8) | SHADOW_TAG[c0];
  return 0;
}

/** For the rare id that does not lie fully inside its buffer: copied here, zero-padded, without allocating. */
const padded = new Uint8Array(20);

function pad(bytes: Uint8Array, off: number, into: Uint8Array): void {
  for (let i = 0; i < 20; i++) {
    const j = off + i;
    into[i] = j >= 0 && j < bytes.length ? bytes[j] : 0;
  }
}

/** Fast path used on every announce: the tag of the client that made peer id bytes[off..off+20). Allocates nothing. */
export function clientTag(bytes: Uint8Array, off: number): number {
  if (off >= 0 && off + 20 <= bytes.length) return classify(bytes, off) & 0xff;
  pad(bytes, off, padded);
  return classify(padded, 0) & 0xff;
}

const peerIdScratch = new Uint8Array(20);

/** `clientTag` of a peer id held as a 20-char latin1 string (HTTP query, WebTorrent JSON). */
export function clientTagOfString(peerId: string): number {
  for (let i = 0; i < 20; i++) peerIdScratch[i] = peerId.charCodeAt(i);
  return clientTag(peerIdScratch, 0);
}

// ---- versions (identifyClient only) ----

/** Full identification with version where the id encodes it (used by tests, tools and the API, not per announce). */
export interface ClientInfo {
  tag: number;
  name: string;
  version: string | null;
}

export function identifyClient(bytes: Uint8Array, off = 0): ClientInfo {
  const id = new Uint8Array(20);
  pad(bytes, off, id);
  const c = classify(id, 0);
  const tag = c & 0xff;
  return { tag, name: CLIENT_NAMES[tag], version: tag === 0 ? null : version(id, c >> 8) };
}

function version(id: Uint8Array, kind: number): string | null {
  switch (kind) {
    case K_AZUREUS:
      return azureusVersion(id, AZ_VERSIONS[AZ_STYLE[(id[1] << 8) | id[2]]]);
    case K_SHADOW:
      return shadowVersion(id);
    case K_MAINLINE:
      return dashedVersion(id, 1);
    case K_ARIA2:
      return dashedVersion(id, 3);
    case K_EXBC: // binary major and minor: 0x00 0x3a is 0.58
      return `${id[4]}.${String(id[5]).padStart(2, "0")}`;
    case K_OPERA: // the build number
      return ascii(id, 2, 6);
    case K_XBT:
      return `${id[3] - 0x30}.${id[4] - 0x30}.${id[5] - 0x30}`;
    case K_TURBOBT: // "turbobt5.0.0": dots and digits, if any
      return dottedVersion(id, 7);
    default:
      return null;
  }
}

function ascii(id: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...id.subarray(from, to));
}

/** Azureus-style version char: 0-9, then letters as digits from 10 (either case); -1 if neither. */
function azDigit(c: number): number {
  if (isDigit(c)) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a ? l - 0x61 + 10 : -1;
}

function azureusVersion(id: Uint8Array, style: AzVersion): string | null {
  const [a, b, c, d] = [azDigit(id[3]), azDigit(id[4]), azDigit(id[5]), azDigit(id[6])];
  const decimal = a < 10 && b < 10 && c < 10 && d < 10 && Math.min(a, b, c, d) >= 0;
  switch (style) {
    case "abcd":
      if (Math.min(a, b, c, d) < 0) return null;
      return d === 0 ? `${a}.${b}.${c}` : `${a}.${b}.${c}.${d}`;
    case "abc":
      return Math.min(a, b, c) < 0 ? null : `${a}.${b}.${c}`;
    case "hex":
      return Math.min(a, b, c) < 0 || Math.max(a, b, c) > 15 ? null : `${a}.${b}.${c}`;
    case "bitcomet":
      return decimal ? `${a * 10 + b}.${c}${d}` : null;
    case "twoByTwo":
      return decimal ? `${a * 10 + b}.${c * 10 + d}` : null;
    case "transmission":
      return transmissionVersion(a, b, c, id[6]);
    case "dotted": {
      // "-ML2.7.2-"; a plain four-char version is read the usual way
      const v = dottedVersion(id, 3);
      if (v !== null && v.includes(".")) return v;
      return id[7] === DASH ? azureusVersion(id, "abcd") : null;
    }
    case "free":
      return null;
  }
}

/**
 * Transmission has used three layouts for "-TRabcd-":
 *   0.x        "-TR0072-" is 0.72 (the minor in c and d)
 *   1.x - 3.x  "-TR2940-" is 2.94, "-TR3000-" is 3.00 (a two-digit minor in b and c)
 *   4.x on     "-TR4060-" is 4.0.6 (major, minor, patch)
 * The last char flags the build: 'Z' a development build (shown "+"), 'B' a beta.
 */
function transmissionVersion(a: number, b: number, c: number, flagChar: number): string | null {
  const d = azDigit(flagChar);
  if (a < 0 || a > 9 || b < 0 || c < 0 || d < 0) return null;
  const flag = flagChar === 0x5a /* Z */ ? "+" : flagChar === 0x42 /* B */ ? " beta" : "";
  if (a === 0) return b === 0 && c < 10 && d < 10 ? `0.${c * 10 + d}` : null;
  if (a <= 3) return b < 10 && c < 10 ? `${a}.${b}${c}${flag}` : null;
  return `${a}.${b}.${c}${flag}`;
}

/** Shad0w-style version: each header char is one number (0-9, A-Z = 10-35, a-z = 36-61, '.' = 62). */
function shadowVersion(id: Uint8Array): string {
  const parts: number[] = [];
  for (let i = 1; i < 6 && id[i] !== DASH; i++) {
    const c = id[i];
    parts.push(isDigit(c) ? c - 0x30 : c >= 0x61 ? c - 0x61 + 36 : c >= 0x41 ? c - 0x41 + 10 : 62);
  }
  return parts.join(".");
}

/** "7-10-3-" from position `from` (already checked by dashedEnd): 7.10.3. */
function dashedVersion(id: Uint8Array, from: number): string {
  return ascii(id, from, dashedEnd(id, 0, from) - 1)
    .split("-")
    .map((n) => String(Number(n)))
    .join(".");
}

/** Digits and dots from `from` up to the first other byte, or null if there are none or it is malformed. */
function dottedVersion(id: Uint8Array, from: number): string | null {
  let to = from;
  while (to < 20 && (isDigit(id[to]) || id[to] === 0x2e)) to++;
  const v = ascii(id, from, to);
  return /^\d+(\.\d+)*$/.test(v) ? v : null;
}
