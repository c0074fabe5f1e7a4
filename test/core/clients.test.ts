import { describe, expect, test } from "bun:test";
import { CLIENT_NAMES, clientTag } from "../../src/core/clients.ts";
import { xoshiro128 } from "../../src/core/random.ts";

/** A 20-byte id: the given prefix (latin1, so "\xff" is byte 255), then filler up to 20 bytes. */
function id(prefix: string): Uint8Array {
  const filler = "k3Xq9Zr0wTb2Lm7Pc5Vn";
  return new Uint8Array(Buffer.from((prefix + filler).slice(0, 20), "latin1"));
}

/** [id prefix, name]: every example must come out exactly so. */
type Example = readonly [prefix: string, name: string];

function check(examples: readonly Example[]) {
  for (const [prefix, name] of examples) {
    test(`${JSON.stringify(prefix)} is ${name}`, () => {
      expect(CLIENT_NAMES[clientTag(id(prefix), 0)]).toBe(name);
    });
  }
}

const seen = new Set<string>();
function examples(list: readonly Example[]): readonly Example[] {
  for (const [, name] of list) seen.add(name);
  return list;
}

// Ids captured from the clients installed here (announces to a local HTTP listener).
const REAL: readonly Example[] = examples([
  ["A2-1-36-0-\xc4\xfaM\x9f\x9a\x19\x8a\x8e\xd1\xfe", "aria2"], // aria2c 1.36.0
  ["-TR3000-bajwq93z10jf", "Transmission"], // transmission-cli 3.00
]);

// Clients whose version chars follow their own conventions (they still identify the client).
const AZUREUS_VERSIONED: readonly Example[] = examples([
  ["-qB4650-", "qBittorrent"],
  ["-qB5010-", "qBittorrent"],
  ["-TR0072-", "Transmission"],
  ["-TR1330-", "Transmission"],
  ["-TR2940-", "Transmission"],
  ["-TR294Z-", "Transmission"],
  ["-TR4060-", "Transmission"],
  ["-TR400B-", "Transmission"],
  ["-UT3550-", "µTorrent"],
  ["-UT355B-", "µTorrent"],
  ["-UT2210-", "µTorrent"],
  ["-UM1870-", "µTorrent Mac"],
  ["-UW1250-", "µTorrent Web"],
  ["-BT7A50-", "BitTorrent"],
  ["-lt0D80-", "libtorrent (rakshasa)"],
  ["-lt0C60-", "libtorrent (rakshasa)"],
  ["-LT2000-", "libtorrent (Rasterbar)"],
  ["-LT1280-", "libtorrent (Rasterbar)"],
  ["-DE13F0-", "Deluge"],
  ["-DE211s-", "Deluge"],
  ["-AZ5770-", "Azureus/Vuze"],
  ["-AZ4703-", "Azureus/Vuze"],
  ["-AZ2060-", "Azureus/Vuze"],
  ["-BC0200-", "BitComet"],
  ["-BC0176-", "BitComet"],
  ["-WW0102-", "WebTorrent"],
  ["-WW0010-", "WebTorrent"],
  ["-WD0007-", "WebTorrent Desktop"],
  ["-BI1780-", "BiglyBT"],
  ["-KT4310-", "KTorrent"],
  ["-PI0300-", "PicoTorrent"],
  ["-XL0012-", "Xunlei"],
  ["-SD0100-", "Xunlei"],
  ["-ML2.7.2-", "MLDonkey"],
  ["-ML3130-", "MLDonkey"],
  ["-G3g3rmz-", "G3 Torrent"],
  ["-FD6\xff\xfe0-", "Free Download Manager"], // version chars that are not digits: no version
  ["-SZ2210-", "Shareaza"],
  ["-S~0100-", "Shareaza"],
  ["-AG2100-", "Ares"],
  ["-A~0100-", "Ares"],
]);

// The rest use the common a.b.c[.d] version form ("-XX1230-").
const AZUREUS_PLAIN: readonly (readonly [code: string, name: string])[] = [
  ["7T", "aTorrent"],
  ["AB", "AnyEvent::BitTorrent"],
  ["AR", "Arctic"],
  ["AT", "Artemis"],
  ["AV", "Avicora"],
  ["AX", "BitPump"],
  ["BB", "BitBuddy"],
  ["BE", "Baretorrent"],
  ["BF", "Bitflu"],
  ["BN", "Baidu Netdisk"],
  ["BP", "BitTorrent Pro"],
  ["BR", "BitRocket"],
  ["BS", "BTSlave"],
  ["Bt", "Bt"],
  ["BW", "BitWombat"],
  ["BX", "BitTorrent X"],
  ["CD", "Enhanced CTorrent"],
  ["CT", "CTorrent"],
  ["DP", "Propagate Data Client"],
  ["EB", "EBit"],
  ["ES", "Electric Sheep"],
  ["FC", "FileCroc"],
  ["FD", "Free Download Manager"],
  ["FG", "FlashGet"],
  ["FT", "FoxTorrent"],
  ["FW", "FrostWire"],
  ["FX", "Freebox BitTorrent"],
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
  ["LC", "LeechCraft"],
  ["LH", "LH-ABC"],
  ["LP", "Lphant"],
  ["LW", "LimeWire"],
  ["MG", "MediaGet"],
  ["MK", "Meerkat"],
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
  ["QD", "QQDownload"],
  ["QT", "Qt 4 Torrent example"],
  ["RT", "Retriever"],
  ["RZ", "RezTorrent"],
  ["SB", "SwiftBit"],
  ["SM", "SoMud"],
  ["SP", "BitSpirit"],
  ["SS", "SwarmScope"],
  ["ST", "SymTorrent"],
  ["st", "SharkTorrent"],
  ["TB", "Torch"],
  ["TE", "Terasaur Seed Bank"],
  ["TL", "Tribler"],
  ["TN", "TorrentDotNET"],
  ["TS", "TorrentStorm"],
  ["TT", "TuoTu"],
  ["UL", "uLeecher!"],
  ["VG", "Vagaa"],
  ["WT", "BitLet"],
  ["WY", "FireTorrent"],
  ["XF", "Xfplay"],
  ["XS", "XSwifter"],
  ["XT", "XanTorrent"],
  ["XX", "Xtorrent"],
  ["ZT", "ZipTorrent"],
];

const SHADOW: readonly Example[] = examples([
  ["S58B-----", "Shad0w"],
  ["T03I-----", "BitTornado"],
  ["T03A0----", "BitTornado"],
  ["T03I---T-", "BitTornado"], // a tracker fetching peers from another tracker
  ["T03I--000", "BitTornado"], // a multi-torrent client's counter
  ["T0310A---", "BitTornado"], // five digits fill the header
  ["A310-----", "ABC"],
  ["O100-----", "Osprey Permaseed"],
  ["Q117-----", "BTQueue"],
  ["R370-----", "Tribler"],
  ["U100-----", "UPnP NAT Bit Torrent"],
  ["Tb1.-----", "BitTornado"], // lower case and '.' are digits 36-61 and 62
]);

const MAINLINE: readonly Example[] = examples([
  ["M7-4-0--", "BitTorrent"],
  ["M7-10-3-", "BitTorrent"],
  ["M4-3-6--", "BitTorrent"],
  ["M4-20-8-", "BitTorrent"],
  ["Q1-0-0--", "Queen Bee"],
  ["Q1-10-0-", "Queen Bee"],
]);

const SPECIAL: readonly Example[] = examples([
  ["A2-1-18-8-", "aria2"],
  ["-aria2-", "aria2"],
  ["exbc\x00\x3a", "BitComet"],
  ["exbc\x01\x02", "BitComet"],
  ["exbc\x00\x3aLORD", "BitLord"],
  ["OP7685", "Opera"],
  ["XBT054d-", "XBT Client"],
  ["XBT063--", "XBT Client"],
  ["Plus---", "Plus!"],
  ["turbobt5.0.0", "turbobt"],
  ["turbobt", "turbobt"],
  ["DNA", "BitTorrent DNA"],
  ["AZ2500BT", "BitTyrant"],
]);

const UNKNOWN: readonly Example[] = [
  ["-ZZ1234-", "Unknown"], // an Azureus-style code nobody has claimed
  ["-qB4650x", "Unknown"], // no dash after the version
  ["-qB", "Unknown"],
  ["TIX0193-", "Unknown"], // five alphanumerics without Shad0w's marker
  ["T03Ixxxxx", "Unknown"], // no padding after a 4-digit version
  ["T0-------", "Unknown"], // fewer than 3 version digits
  ["M7-4-0-x", "Unknown"], // mainline version not padded to 8 chars
  ["M7-4", "Unknown"],
  ["OP76", "Unknown"],
  ["XBTabc", "Unknown"],
  ["A2-1-36", "Unknown"],
  ["\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "Unknown"],
  ["\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "Unknown"],
];

describe("real ids", () => check(REAL));
describe("Azureus style, own version conventions", () => check(AZUREUS_VERSIONED));
describe("Azureus style, a.b.c[.d] versions", () => {
  check(examples(AZUREUS_PLAIN.map(([code, name]) => [`-${code}1230-`, name] as const)));
});
describe("Shad0w style", () => check(SHADOW));
describe("mainline style", () => check(MAINLINE));
describe("clients with their own prefix", () => check(SPECIAL));
describe("unidentified ids", () => check(UNKNOWN));

describe("CLIENT_NAMES", () => {
  test("tag 0 is Unknown", () => {
    expect(CLIENT_NAMES[0]).toBe("Unknown");
  });
  test("names are unique", () => {
    expect(new Set(CLIENT_NAMES).size).toBe(CLIENT_NAMES.length);
  });
  test("more than 100 clients, and every tag fits in the 7 bits a peer record keeps for it", () => {
    expect(CLIENT_NAMES.length).toBeGreaterThanOrEqual(101);
    expect(CLIENT_NAMES.length).toBeLessThanOrEqual(128);
  });
  test("every client is exercised by an example above", () => {
    expect(CLIENT_NAMES.slice(1).filter((name) => !seen.has(name))).toEqual([]);
  });
});

describe("clientTag reads the id wherever it lies", () => {
  const random = xoshiro128(new Uint32Array([1, 2, 3, 4]));
  const byte = () => Math.floor(random() * 256);
  const prefixes = [...REAL, ...AZUREUS_VERSIONED, ...SHADOW, ...MAINLINE, ...SPECIAL, ...UNKNOWN].map(([p]) => p);

  /** The tag of bytes[off, off + 20), zero-padded where that range leaves the buffer. */
  function expected(b: Uint8Array, off: number): number {
    const copy = new Uint8Array(20);
    for (let i = 0; i < 20; i++) copy[i] = off + i >= 0 && off + i < b.length ? b[off + i] : 0;
    return clientTag(copy, 0);
  }

  test("at an offset inside a larger buffer, as in a UDP announce packet", () => {
    const packet = new Uint8Array(98);
    for (const prefix of prefixes) {
      packet.fill(0x2d);
      packet.set(id(prefix), 36);
      expect(clientTag(packet, 36)).toBe(clientTag(id(prefix), 0));
    }
  });

  test("random ids, and known prefixes with random bytes overwritten, always give a tag in range", () => {
    const b = new Uint8Array(20);
    for (let n = 0; n < 100_000; n++) {
      for (let i = 0; i < 20; i++) b[i] = byte();
      const tag = clientTag(b, 0);
      expect(tag >= 0 && tag < CLIENT_NAMES.length).toBe(true);
    }
    for (const prefix of prefixes) {
      for (let n = 0; n < 500; n++) {
        const c = id(prefix);
        const changes = 1 + Math.floor(random() * 3);
        for (let k = 0; k < changes; k++) {
          const at = Math.floor(random() * 10);
          // Half the time a byte that matters to the formats: a dash, a digit or a letter.
          c[at] = random() < 0.5 ? byte() : "-09AZaz."[Math.floor(random() * 8)].charCodeAt(0);
        }
        const tag = clientTag(c, 0);
        expect(tag >= 0 && tag < CLIENT_NAMES.length).toBe(true);
      }
    }
  });

  test("ids cut short or out of range read as zero-padded and never throw", () => {
    for (const prefix of prefixes) {
      const full = id(prefix);
      for (let len = 0; len <= 20; len++) {
        const b = full.slice(0, len);
        for (const off of [0, 1, len, len + 5, -3]) expect(clientTag(b, off)).toBe(expected(b, off));
      }
    }
  });
});
