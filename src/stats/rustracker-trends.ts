// Rustracker's trend history, read into our samples for a one-time import (server/rustracker-import.ts reads
// the files). Its two JSONL files, one object per line, both written every 10 minutes:
//   trends.jsonl        {"leechers":40,"peers":120,"seeders":80,"timestamp":1715800000,"torrents":40}
//   top_clients.jsonl   {"clients":[[1,300],[2,120],[0,40]],"timestamp":1715800000}   ([client tag, peers])
// They are append-only and never compacted: lines may be older than 7 days, repeat a bucket, or be torn. A
// client line joins the totals line of the same 10-minute bucket. Pure.

import { TREND_INTERVAL_S, type TrendSample } from "./trends.ts";

/** Rustracker's client names by tag (its src/protocol/client_id.rs constants 0-102). */
// biome-ignore format: eight tags a row
const RUSTRACKER_CLIENTS: readonly string[] = [
  "Unknown", "qBittorrent", "Transmission", "uTorrent", "BitTorrent", "libtorrent", "BitComet", "Deluge",
  "Vuze", "BiglyBT", "Xunlei", "Xunlei Fast", "Aria2", "FDM", "Mainline", "Tixati",
  "WebTorrent", "DanDanPlay", "KTorrent", "rTorrent", "Ares", "Shareaza", "TorrentStorm", "Halite",
  "EBit", "BitBuddy", "BitLord", "BitWombat", "CTorrent", "FileCroc", "FrostWire", "GetRight",
  "GSTorrent", "Gopeed", "JSTorrent", "KGet", "LeechCraft", "LH-ABC", "linkage", "Lphant",
  "LimeWire", "MonoTorrent", "MediaGet", "picotorrent", "Bitpirit", "pHoeniX", "Torrentvilla", "MC",
  "BT Next", "OneSwarm", "OmegaTorrent", "CacheLogic", "Popcorn Time", "Pando", "PeerProject", "QQ旋风",
  "Rain", "rQ", "RUM Torrent", "Retriever", "RezTorrent", "SwiftBit", "GS Torrent", "ShareNET",
  "StellarPlayer", "Torrent GO", "Torrent.NET", "TorrentStorm (2)", "TuoTu", "tTorrent", "Torrex Pro", "uLeecher",
  "Bitlet", "FireTorrent", "Vagaa", "Xfplay", "XanTorrent", "XTorrent", "ZipTorrent", "aTorrent",
  "Zona", "BitSpirit", "Avicora", "BitPump", "ADM", "AzTorrent", "Enhanced CTorrent", "DTorrent",
  "Propagate", "Electric Sheep", "Freebox", "FoxTorrent", "folx", "netdisk", "Miro", "BT SDK",
  "BitsOnWheels", "LIII", "MLDonkey", "BitMagnet", "AllPeers", "QVOD", "Animeko",
];

/** Its names that we spell otherwise (core/clients.ts), so an imported series joins ours. */
const OUR_NAME: Readonly<Record<string, string>> = {
  uTorrent: "µTorrent",
  libtorrent: "libtorrent (Rasterbar)",
  Vuze: "Azureus/Vuze",
  "Xunlei Fast": "Xunlei",
  Aria2: "aria2",
  FDM: "Free Download Manager",
  Mainline: "BitTorrent",
  // Rustracker files the -RT- peer ids (Retriever) under "rTorrent"; real rTorrent ids are Unknown there.
  rTorrent: "Retriever",
  picotorrent: "PicoTorrent",
  QQ旋风: "QQDownload",
  "Torrent.NET": "TorrentDotNET",
  "TorrentStorm (2)": "TorrentStorm",
  uLeecher: "uLeecher!",
  Bitlet: "BitLet",
  XTorrent: "Xtorrent",
  Propagate: "Propagate Data Client",
  Freebox: "Freebox BitTorrent",
  netdisk: "Baidu Netdisk",
};

/** The name we show for Rustracker's client tag (tags it never had count as Unknown). */
export function clientNameOfTag(tag: number): string {
  const name = RUSTRACKER_CLIENTS[tag] ?? "Unknown";
  return OUR_NAME[name] ?? name;
}

export interface RustrackerHistory {
  /** One per trends line that could be read, with the client counts of its bucket ({} if none). */
  samples: TrendSample[];
  /** Lines of either file that could not be read (torn, corrupt, negative numbers). */
  badLines: number;
}

/** `clientsText`: top_clients.jsonl, or null when there is none. */
export function parseRustrackerTrends(trendsText: string, clientsText: string | null): RustrackerHistory {
  let badLines = 0;
  const clientsByBucket = new Map<number, Record<string, number>>();
  for (const line of lines(clientsText ?? "")) {
    const parsed = parseClientLine(line);
    if (parsed === null) badLines++;
    else clientsByBucket.set(Math.floor(parsed.timestamp / TREND_INTERVAL_S), parsed.clients);
  }
  const samples: TrendSample[] = [];
  for (const line of lines(trendsText)) {
    const v = parseJson(line);
    const t = v?.timestamp;
    const nums = [t, v?.torrents, v?.peers, v?.seeders, v?.leechers];
    if (!nums.every(isCount)) {
      badLines++;
      continue;
    }
    const { torrents, peers, seeders, leechers } = v as Record<string, number>;
    const clients = clientsByBucket.get(Math.floor((t as number) / TREND_INTERVAL_S));
    samples.push({ t: t as number, torrents, peers, seeders, leechers, clients: { ...clients } });
  }
  return { samples, badLines };
}

function parseClientLine(line: string): { timestamp: number; clients: Record<string, number> } | null {
  const v = parseJson(line);
  if (v === null || !isCount(v.timestamp) || !Array.isArray(v.clients)) return null;
  const clients: Record<string, number> = {};
  // A malformed pair is skipped, as Rustracker itself does, not the whole line.
  for (const pair of v.clients as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2 || !isCount(pair[0]) || !isCount(pair[1]) || pair[1] === 0) continue;
    const name = clientNameOfTag(pair[0]);
    clients[name] = (clients[name] ?? 0) + pair[1];
  }
  return { timestamp: v.timestamp, clients };
}

function* lines(text: string): Generator<string> {
  for (const line of text.split("\n")) if (line.trim() !== "") yield line;
}

function parseJson(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}
