// Which BitTorrent client sent a peer id.
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
// path: it reads a few bytes and precomputed tables and allocates nothing.
//
// Tags are process-local (assigned in table order at start-up), never persisted.

/**
 * Most Azureus-style ids have a dash at position 7 after four version chars; a few clients write their version
 * out with dots ("-ML2.7.2-") or put free-form text there (G3 Torrent), and are recognised without it.
 */
type AzStyle = "loose";

/** Azureus-style codes. Two codes may share a name (they then share a tag). */
const AZUREUS_STYLE: readonly (readonly [code: string, name: string, style?: AzStyle])[] = [
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
  ["BC", "BitComet"],
  ["BE", "Baretorrent"],
  ["BF", "Bitflu"],
  ["BI", "BiglyBT"],
  ["BN", "Baidu Netdisk"],
  ["BP", "BitTorrent Pro"],
  ["BR", "BitRocket"],
  ["BS", "BTSlave"],
  ["BT", "BitTorrent"],
  ["Bt", "Bt"],
  ["BW", "BitWombat"],
  ["BX", "BitTorrent X"],
  ["CD", "Enhanced CTorrent"],
  ["CT", "CTorrent"],
  ["DE", "Deluge"],
  ["DP", "Propagate Data Client"],
  ["EB", "EBit"],
  ["ES", "Electric Sheep"],
  ["FC", "FileCroc"],
  ["FD", "Free Download Manager"],
  ["FG", "FlashGet"],
  ["FT", "FoxTorrent"],
  ["FW", "FrostWire"],
  ["FX", "Freebox BitTorrent"],
  ["G3", "G3 Torrent", "loose"],
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
  ["KT", "KTorrent"],
  ["LC", "LeechCraft"],
  ["LH", "LH-ABC"],
  ["LP", "Lphant"],
  ["LT", "libtorrent (Rasterbar)"],
  ["lt", "libtorrent (rakshasa)"],
  ["LW", "LimeWire"],
  ["MG", "MediaGet"],
  ["MK", "Meerkat"],
  ["ML", "MLDonkey", "loose"],
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
  ["PI", "PicoTorrent"],
  ["qB", "qBittorrent"],
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
  ["TR", "Transmission"],
  ["TS", "TorrentStorm"],
  ["TT", "TuoTu"],
  ["UL", "uLeecher!"],
  ["UM", "µTorrent Mac"],
  ["UT", "µTorrent"],
  ["UW", "µTorrent Web"],
  ["VG", "Vagaa"],
  ["WD", "WebTorrent Desktop"],
  ["WT", "BitLet"],
  ["WW", "WebTorrent"],
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

/** Tag by the two letters after the dash ((b1 << 8) | b2); 0 = not a known code. */
const AZ_TAG = new Uint8Array(65536);
/** 1 where the code's ids need no dash at position 7 (see AzStyle), by the same key. */
const AZ_LOOSE = new Uint8Array(65536);
for (const [code, name, style] of AZUREUS_STYLE) {
  const key = (code.charCodeAt(0) << 8) | code.charCodeAt(1);
  if (code.length !== 2 || key > 0xffff || AZ_TAG[key] !== 0) throw new Error(`bad or repeated code ${code}`);
  AZ_TAG[key] = tagOf(name);
  AZ_LOOSE[key] = style === "loose" ? 1 : 0;
}

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

/** The tag of the id at b[off..off+20). The id must lie inside b (callers pad short input). */
function classify(b: Uint8Array, off: number): number {
  const c0 = b[off];
  if (c0 === DASH) {
    const key = (b[off + 1] << 8) | b[off + 2];
    const tag = AZ_TAG[key];
    if (tag !== 0 && (b[off + 7] === DASH || AZ_LOOSE[key] === 1)) return tag;
    if (startsWith(b, off + 1, "aria2-")) return TAG_ARIA2;
    return 0;
  }
  if (c0 === 0x41 /* A */) {
    if (b[off + 1] === 0x32 && b[off + 2] === DASH && dashedEnd(b, off, 3) > 0) return TAG_ARIA2;
    if (startsWith(b, off, "AZ2500BT")) return TAG_BITTYRANT;
  }
  // Before Shad0w style: 'Q' is both Queen Bee (mainline) and BTQueue (Shad0w).
  if (MAINLINE_TAG[c0] !== 0 && isMainline(b, off)) return MAINLINE_TAG[c0];
  if (startsWith(b, off, "exbc")) {
    return startsWith(b, off + 6, "LORD") ? TAG_BITLORD : TAG_BITCOMET;
  }
  if (
    startsWith(b, off, "OP") &&
    isDigit(b[off + 2]) &&
    isDigit(b[off + 3]) &&
    isDigit(b[off + 4]) &&
    isDigit(b[off + 5])
  ) {
    return TAG_OPERA;
  }
  if (startsWith(b, off, "XBT") && isDigit(b[off + 3]) && isDigit(b[off + 4]) && isDigit(b[off + 5])) {
    return TAG_XBT;
  }
  if (startsWith(b, off, "Plus")) return TAG_PLUS;
  if (startsWith(b, off, "turbobt")) return TAG_TURBOBT;
  if (startsWith(b, off, "DNA")) return TAG_DNA;
  if (SHADOW_TAG[c0] !== 0 && isShadow(b, off)) return SHADOW_TAG[c0];
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
  if (off >= 0 && off + 20 <= bytes.length) return classify(bytes, off);
  pad(bytes, off, padded);
  return classify(padded, 0);
}

const peerIdScratch = new Uint8Array(20);

/** `clientTag` of a peer id held as a 20-char latin1 string (HTTP query, WebTorrent JSON). */
export function clientTagOfString(peerId: string): number {
  for (let i = 0; i < 20; i++) peerIdScratch[i] = peerId.charCodeAt(i);
  return clientTag(peerIdScratch, 0);
}
