import { describe, expect, test } from "bun:test";
import { CLIENT_NAMES, clientTag, identifyClient } from "../../src/core/clients.ts";
import { xoshiro128 } from "../../src/core/random.ts";

/** A 20-byte id: the given prefix (latin1, so "\xff" is byte 255), then filler up to 20 bytes. */
function id(prefix: string): Uint8Array {
  const filler = "k3Xq9Zr0wTb2Lm7Pc5Vn";
  return new Uint8Array(Buffer.from((prefix + filler).slice(0, 20), "latin1"));
}

/** [id prefix, name, version]: every example must come out exactly so. */
type Example = readonly [prefix: string, name: string, version: string | null];

function check(examples: readonly Example[]) {
  for (const [prefix, name, version] of examples) {
    test(`${JSON.stringify(prefix)} is ${name} ${version ?? "(no version)"}`, () => {
      const b = id(prefix);
      const info = identifyClient(b);
      expect({ name: info.name, version: info.version }).toEqual({ name, version });
      expect(CLIENT_NAMES[info.tag]).toBe(name);
      expect(clientTag(b, 0)).toBe(info.tag);
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
  ["A2-1-36-0-\xc4\xfaM\x9f\x9a\x19\x8a\x8e\xd1\xfe", "aria2", "1.36.0"], // aria2c 1.36.0
  ["-TR3000-bajwq93z10jf", "Transmission", "3.00"], // transmission-cli 3.00
]);

// Clients whose version digits follow their own conventions.
const AZUREUS_VERSIONED: readonly Example[] = examples([
  ["-qB4650-", "qBittorrent", "4.6.5"],
  ["-qB5010-", "qBittorrent", "5.0.1"],
  ["-TR0072-", "Transmission", "0.72"],
  ["-TR1330-", "Transmission", "1.33"],
  ["-TR2940-", "Transmission", "2.94"],
  ["-TR294Z-", "Transmission", "2.94+"],
  ["-TR4060-", "Transmission", "4.0.6"],
  ["-TR400B-", "Transmission", "4.0.0 beta"],
  ["-UT3550-", "µTorrent", "3.5.5"],
  ["-UT355B-", "µTorrent", "3.5.5"],
  ["-UT2210-", "µTorrent", "2.2.1"],
  ["-UM1870-", "µTorrent Mac", "1.8.7"],
  ["-UW1250-", "µTorrent Web", "1.2.5"],
  ["-BT7A50-", "BitTorrent", "7.10.5"],
  ["-lt0D80-", "libtorrent (rakshasa)", "0.13.8"],
  ["-lt0C60-", "libtorrent (rakshasa)", "0.12.6"],
  ["-LT2000-", "libtorrent (Rasterbar)", "2.0.0"],
  ["-LT1280-", "libtorrent (Rasterbar)", "1.2.8"],
  ["-DE13F0-", "Deluge", "1.3.15"],
  ["-DE211s-", "Deluge", "2.1.1"],
  ["-AZ5770-", "Azureus/Vuze", "5.7.7"],
  ["-AZ4703-", "Azureus/Vuze", "4.7.0.3"],
  ["-AZ2060-", "Azureus/Vuze", "2.0.6"],
  ["-BC0200-", "BitComet", "2.00"],
  ["-BC0176-", "BitComet", "1.76"],
  ["-WW0102-", "WebTorrent", "1.2"],
  ["-WW0010-", "WebTorrent", "0.10"],
  ["-WD0007-", "WebTorrent Desktop", "0.7"],
  ["-BI1780-", "BiglyBT", "1.7.8"],
  ["-KT4310-", "KTorrent", "4.3.1"],
  ["-PI0300-", "PicoTorrent", "0.3.0"],
  ["-XL0012-", "Xunlei", "0.0.1.2"],
  ["-SD0100-", "Xunlei", "0.1.0"],
  ["-ML2.7.2-", "MLDonkey", "2.7.2"],
  ["-ML3130-", "MLDonkey", "3.1.3"],
  ["-G3g3rmz-", "G3 Torrent", null],
  ["-FD6\xff\xfe0-", "Free Download Manager", null], // version chars that are not digits: no version
  ["-SZ2210-", "Shareaza", "2.2.1"],
  ["-S~0100-", "Shareaza", "0.1.0"],
  ["-AG2100-", "Ares", "2.1.0"],
  ["-A~0100-", "Ares", "0.1.0"],
]);

// The rest use the common a.b.c[.d] reading; "-XX1230-" must come out as version 1.2.3.
const AZUREUS_PLAIN: readonly (readonly [code: string, name: string])[] = [
  ["7T", "aTorrent"], ["AB", "AnyEvent::BitTorrent"], ["AR", "Arctic"], ["AT", "Artemis"], ["AV", "Avicora"],
  ["AX", "BitPump"], ["BB", "BitBuddy"], ["BE", "Baretorrent"], ["BF", "Bitflu"], ["BN", "Baidu Netdisk"],
  ["BP", "BitTorrent Pro"], ["BR", "BitRocket"], ["BS", "BTSlave"], ["Bt", "Bt"], ["BW", "BitWombat"],
  ["BX", "BitTorrent X"], ["CD", "Enhanced CTorrent"], ["CT", "CTorrent"], ["DP", "Propagate Data Client"],
  ["EB", "EBit"], ["ES", "Electric Sheep"], ["FC", "FileCroc"], ["FD", "Free Download Manager"],
  ["FG", "FlashGet"], ["FT", "FoxTorrent"], ["FW", "FrostWire"], ["FX", "Freebox BitTorrent"], ["GR", "GetRight"],
  ["GS", "GSTorrent"], ["HK", "Hekate"], ["HL", "Halite"], ["HM", "hMule"], ["HN", "Hydranode"], ["IL", "iLivid"],
  ["JS", "Justseed.it"], ["JT", "JavaTorrent"], ["KG", "KGet"], ["LC", "LeechCraft"], ["LH", "LH-ABC"],
  ["LP", "Lphant"], ["LW", "LimeWire"], ["MG", "MediaGet"], ["MK", "Meerkat"], ["MO", "MonoTorrent"],
  ["MP", "MooPolice"], ["MR", "Miro"], ["MT", "MoonlightTorrent"], ["NB", "Net::BitTorrent"],
  ["NX", "Net Transport"], ["OS", "OneSwarm"], ["OT", "OmegaTorrent"], ["PB", "Protocol::BitTorrent"],
  ["PD", "Pando"], ["QD", "QQDownload"], ["QT", "Qt 4 Torrent example"], ["RT", "Retriever"], ["RZ", "RezTorrent"],
  ["SB", "SwiftBit"], ["SM", "SoMud"], ["SP", "BitSpirit"], ["SS", "SwarmScope"], ["ST", "SymTorrent"],
  ["st", "SharkTorrent"], ["TB", "Torch"], ["TE", "Terasaur Seed Bank"], ["TL", "Tribler"], ["TN", "TorrentDotNET"],
  ["TS", "TorrentStorm"], ["TT", "TuoTu"], ["UL", "uLeecher!"], ["VG", "Vagaa"], ["WT", "BitLet"],
  ["WY", "FireTorrent"], ["XF", "Xfplay"], ["XS", "XSwifter"], ["XT", "XanTorrent"], ["XX", "Xtorrent"],
  ["ZT", "ZipTorrent"],
];

const SHADOW: readonly Example[] = examples([
  ["S58B-----", "Shad0w", "5.8.11"],
  ["T03I-----", "BitTornado", "0.3.18"],
  ["T03A0----", "BitTornado", "0.3.10.0"],
  ["T03I---T-", "BitTornado", "0.3.18"], // a tracker fetching peers from another tracker
  ["T03I--000", "BitTornado", "0.3.18"], // a multi-torrent client's counter
  ["T0310A---", "BitTornado", "0.3.1.0.10"], // five digits fill the header
  ["A310-----", "ABC", "3.1.0"],
  ["O100-----", "Osprey Permaseed", "1.0.0"],
  ["Q117-----", "BTQueue", "1.1.7"],
  ["R370-----", "Tribler", "3.7.0"],
  ["U100-----", "UPnP NAT Bit Torrent", "1.0.0"],
  ["Tb1.-----", "BitTornado", "37.1.62"], // lower case and '.' are digits 36-61 and 62
]);

const MAINLINE: readonly Example[] = examples([
  ["M7-4-0--", "BitTorrent", "7.4.0"],
  ["M7-10-3-", "BitTorrent", "7.10.3"],
  ["M4-3-6--", "BitTorrent", "4.3.6"],
  ["M4-20-8-", "BitTorrent", "4.20.8"],
  ["Q1-0-0--", "Queen Bee", "1.0.0"],
  ["Q1-10-0-", "Queen Bee", "1.10.0"],
]);

const SPECIAL: readonly Example[] = examples([
  ["A2-1-18-8-", "aria2", "1.18.8"],
  ["-aria2-", "aria2", null],
  ["exbc\x00\x3a", "BitComet", "0.58"],
  ["exbc\x01\x02", "BitComet", "1.02"],
  ["exbc\x00\x3aLORD", "BitLord", "0.58"],
  ["OP7685", "Opera", "7685"],
  ["XBT054d-", "XBT Client", "0.5.4"],
  ["XBT063--", "XBT Client", "0.6.3"],
  ["Plus---", "Plus!", null],
  ["turbobt5.0.0", "turbobt", "5.0.0"],
  ["turbobt", "turbobt", null],
  ["DNA", "BitTorrent DNA", null],
  ["AZ2500BT", "BitTyrant", null],
]);

const UNKNOWN: readonly Example[] = [
  ["-ZZ1234-", "Unknown", null], // an Azureus-style code nobody has claimed
  ["-qB4650x", "Unknown", null], // no dash after the version
  ["-qB", "Unknown", null],
  ["TIX0193-", "Unknown", null], // five alphanumerics without Shad0w's marker
  ["T03Ixxxxx", "Unknown", null], // no padding after a 4-digit version
  ["T0-------", "Unknown", null], // fewer than 3 version digits
  ["M7-4-0-x", "Unknown", null], // mainline version not padded to 8 chars
  ["M7-4", "Unknown", null],
  ["OP76", "Unknown", null],
  ["XBTabc", "Unknown", null],
  ["A2-1-36", "Unknown", null],
  ["\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "Unknown", null],
  ["\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "Unknown", null],
];

describe("real ids", () => check(REAL));
describe("Azureus style, own version conventions", () => check(AZUREUS_VERSIONED));
describe("Azureus style, a.b.c[.d] versions", () => {
  check(examples(AZUREUS_PLAIN.map(([code, name]) => [`-${code}1230-`, name, "1.2.3"] as const)));
  test("a non-zero fourth digit is kept", () => {
    expect(identifyClient(id("-KG2341-")).version).toBe("2.3.4.1");
  });
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

describe("clientTag agrees with identifyClient", () => {
  const random = xoshiro128(new Uint32Array([1, 2, 3, 4]));
  const byte = () => Math.floor(random() * 256);
  const prefixes = [...REAL, ...AZUREUS_VERSIONED, ...SHADOW, ...MAINLINE, ...SPECIAL, ...UNKNOWN].map(([p]) => p);

  function agree(b: Uint8Array, off: number) {
    const info = identifyClient(b, off);
    expect(clientTag(b, off)).toBe(info.tag);
    expect(info.name).toBe(CLIENT_NAMES[info.tag]);
  }

  test("on random ids", () => {
    const b = new Uint8Array(20);
    for (let n = 0; n < 100_000; n++) {
      for (let i = 0; i < 20; i++) b[i] = byte();
      agree(b, 0);
    }
  });

  test("on known prefixes with random bytes overwritten", () => {
    for (const prefix of prefixes) {
      for (let n = 0; n < 500; n++) {
        const b = id(prefix);
        const changes = 1 + Math.floor(random() * 3);
        for (let k = 0; k < changes; k++) {
          const at = Math.floor(random() * 10);
          // Half the time a byte that matters to the formats: a dash, a digit or a letter.
          b[at] = random() < 0.5 ? byte() : "-09AZaz."[Math.floor(random() * 8)].charCodeAt(0);
        }
        agree(b, 0);
      }
    }
  });

  test("at an offset inside a larger buffer, as in a UDP announce packet", () => {
    const packet = new Uint8Array(98);
    for (const prefix of prefixes) {
      packet.fill(0x2d);
      packet.set(id(prefix), 36);
      const info = identifyClient(packet, 36);
      expect(info).toEqual(identifyClient(id(prefix)));
      expect(clientTag(packet, 36)).toBe(info.tag);
    }
  });

  test("ids cut short or out of range never throw", () => {
    for (const prefix of prefixes) {
      const full = id(prefix);
      for (let len = 0; len <= 20; len++) {
        const b = full.slice(0, len);
        for (const off of [0, 1, len, len + 5, -3]) agree(b, off);
      }
    }
  });
});
