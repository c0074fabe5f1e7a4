// BEP 15 messages as objects, in both directions: every request and reply parsed from bytes and written to
// bytes, on the layout in udp.ts (the one source for offsets, shared with the tracker's in-place codec). For
// clients, tools and tests: these allocate, so the tracker's hot path does not use them.
//
// Parsers are strict (a wrong length or action throws), so a test or tool learns exactly what was wrong.
// parse(write(m)) equals m, and write(parse(b)) equals b for every datagram the parsers accept, except bytes
// after a BEP 41 end-of-options (the spec says to ignore them) and IPv4-mapped addresses in an IPv6 peer
// list (parseIp folds them to IPv4, so writing them back throws).

import { readU32, writeU32 } from "../core/bytes.ts";
import { formatIp, parseIp } from "./ip.ts";
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_ERROR,
  ACTION_SCRAPE,
  ANNOUNCE_MIN_LEN,
  ANNOUNCE_REPLY_HEADER_LEN,
  CONNECT_REPLY_LEN,
  CONNECT_REQUEST_LEN,
  CONNECTION_ID_LEN,
  INFO_HASH_LEN,
  OFF_ACTION,
  OFF_CONNECTION_ID,
  OFF_DOWNLOADED,
  OFF_ENTRY_COMPLETED,
  OFF_ENTRY_LEECHERS,
  OFF_ENTRY_SEEDERS,
  OFF_ERROR_MESSAGE,
  OFF_EVENT,
  OFF_INFO_HASH,
  OFF_INTERVAL,
  OFF_IP,
  OFF_KEY,
  OFF_LEECHERS,
  OFF_LEFT,
  OFF_NUM_WANT,
  OFF_OPTIONS,
  OFF_PEER_ID,
  OFF_PORT,
  OFF_REPLY_ACTION,
  OFF_REPLY_CONNECTION_ID,
  OFF_REPLY_TRANSACTION_ID,
  OFF_SCRAPE_ENTRIES,
  OFF_SCRAPE_HASHES,
  OFF_SEEDERS,
  OFF_TRANSACTION_ID,
  OFF_UPLOADED,
  OPTION_END,
  OPTION_NOP,
  OPTION_URL_DATA,
  PEER_ID_LEN,
  PEER_LEN_V4,
  PEER_LEN_V6,
  PROTOCOL_ID_HI,
  PROTOCOL_ID_LO,
  REQUEST_HEADER_LEN,
  SCRAPE_ENTRY_LEN,
} from "./udp.ts";

export interface UdpConnectRequest {
  action: "connect";
  transactionId: number;
}

/** BEP 41: END and NOP carry no data; every other type (URLData and unknown ones) carries `data`. */
export interface AnnounceOption {
  type: number;
  data?: Uint8Array;
}

export interface UdpAnnounceRequest {
  action: "announce";
  connectionId: Uint8Array;
  transactionId: number;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  downloaded: bigint;
  left: bigint;
  uploaded: bigint;
  /** 0 none, 1 completed, 2 started, 3 stopped */
  event: number;
  /** IPv4 address as a u32; 0 = the sender's (trackers ignore it) */
  ip: number;
  key: number;
  /** Signed: -1 is "the tracker's default". */
  numWant: number;
  port: number;
  options: AnnounceOption[];
}

export interface UdpScrapeRequest {
  action: "scrape";
  connectionId: Uint8Array;
  transactionId: number;
  infoHashes: Uint8Array[];
}

export type UdpRequest = UdpConnectRequest | UdpAnnounceRequest | UdpScrapeRequest;

export interface UdpConnectReply {
  action: "connect";
  transactionId: number;
  connectionId: Uint8Array;
}

export interface Peer {
  ip: string;
  port: number;
}

export interface UdpAnnounceReply {
  action: "announce";
  transactionId: number;
  interval: number;
  leechers: number;
  seeders: number;
  /** The reply does not say; it follows the family of the address the request came from. */
  family: 4 | 6;
  peers: Peer[];
}

export interface ScrapeEntry {
  seeders: number;
  completed: number;
  leechers: number;
}

export interface UdpScrapeReply {
  action: "scrape";
  transactionId: number;
  entries: ScrapeEntry[];
}

export interface UdpErrorReply {
  action: "error";
  transactionId: number;
  message: string;
}

export type UdpReply = UdpConnectReply | UdpAnnounceReply | UdpScrapeReply | UdpErrorReply;

// ---------------------------------------------------------------------------------------------------------
// Requests

export function writeRequest(m: UdpRequest): Uint8Array {
  if (m.action === "connect") {
    const b = new Uint8Array(CONNECT_REQUEST_LEN);
    writeU32(b, OFF_CONNECTION_ID, PROTOCOL_ID_HI);
    writeU32(b, OFF_CONNECTION_ID + 4, PROTOCOL_ID_LO);
    writeHeader(b, ACTION_CONNECT, m.transactionId);
    return b;
  }
  if (m.action === "scrape") {
    const b = new Uint8Array(OFF_SCRAPE_HASHES + INFO_HASH_LEN * m.infoHashes.length);
    b.set(exact(m.connectionId, CONNECTION_ID_LEN, "connection id"), OFF_CONNECTION_ID);
    writeHeader(b, ACTION_SCRAPE, m.transactionId);
    m.infoHashes.forEach((h, i) => b.set(exact(h, INFO_HASH_LEN, "info hash"), OFF_SCRAPE_HASHES + i * INFO_HASH_LEN));
    return b;
  }
  const options = writeOptions(m.options);
  const b = new Uint8Array(OFF_OPTIONS + options.length);
  const v = view(b);
  b.set(exact(m.connectionId, CONNECTION_ID_LEN, "connection id"), OFF_CONNECTION_ID);
  writeHeader(b, ACTION_ANNOUNCE, m.transactionId);
  b.set(exact(m.infoHash, INFO_HASH_LEN, "info hash"), OFF_INFO_HASH);
  b.set(exact(m.peerId, PEER_ID_LEN, "peer id"), OFF_PEER_ID);
  v.setBigUint64(OFF_DOWNLOADED, m.downloaded);
  v.setBigUint64(OFF_LEFT, m.left);
  v.setBigUint64(OFF_UPLOADED, m.uploaded);
  writeU32(b, OFF_EVENT, m.event);
  writeU32(b, OFF_IP, m.ip);
  writeU32(b, OFF_KEY, m.key);
  v.setInt32(OFF_NUM_WANT, m.numWant);
  v.setUint16(OFF_PORT, m.port);
  b.set(options, OFF_OPTIONS);
  return b;
}

export function parseRequest(b: Uint8Array): UdpRequest {
  if (b.length < REQUEST_HEADER_LEN)
    throw new Error(`request of ${b.length} bytes: at least ${REQUEST_HEADER_LEN} needed`);
  const action = readU32(b, OFF_ACTION);
  const transactionId = readU32(b, OFF_TRANSACTION_ID);
  const connectionId = b.slice(OFF_CONNECTION_ID, OFF_CONNECTION_ID + CONNECTION_ID_LEN);
  if (action === ACTION_CONNECT) {
    if (readU32(b, OFF_CONNECTION_ID) !== PROTOCOL_ID_HI || readU32(b, OFF_CONNECTION_ID + 4) !== PROTOCOL_ID_LO) {
      throw new Error("connect request without the protocol id");
    }
    if (b.length !== CONNECT_REQUEST_LEN)
      throw new Error(`connect request of ${b.length} bytes, not ${CONNECT_REQUEST_LEN}`);
    return { action: "connect", transactionId };
  }
  if (action === ACTION_SCRAPE) {
    const n = (b.length - OFF_SCRAPE_HASHES) / INFO_HASH_LEN;
    if (!Number.isInteger(n))
      throw new Error(`scrape request of ${b.length} bytes is not ${OFF_SCRAPE_HASHES} + ${INFO_HASH_LEN}n`);
    const infoHashes: Uint8Array[] = [];
    for (let i = 0; i < n; i++)
      infoHashes.push(b.slice(OFF_SCRAPE_HASHES + i * INFO_HASH_LEN, OFF_SCRAPE_HASHES + (i + 1) * INFO_HASH_LEN));
    return { action: "scrape", connectionId, transactionId, infoHashes };
  }
  if (action !== ACTION_ANNOUNCE) throw new Error(`unknown request action ${action}`);
  if (b.length < ANNOUNCE_MIN_LEN)
    throw new Error(`announce request of ${b.length} bytes: at least ${ANNOUNCE_MIN_LEN} needed`);
  const v = view(b);
  return {
    action: "announce",
    connectionId,
    transactionId,
    infoHash: b.slice(OFF_INFO_HASH, OFF_INFO_HASH + INFO_HASH_LEN),
    peerId: b.slice(OFF_PEER_ID, OFF_PEER_ID + PEER_ID_LEN),
    downloaded: v.getBigUint64(OFF_DOWNLOADED),
    left: v.getBigUint64(OFF_LEFT),
    uploaded: v.getBigUint64(OFF_UPLOADED),
    event: readU32(b, OFF_EVENT),
    ip: readU32(b, OFF_IP),
    key: readU32(b, OFF_KEY),
    numWant: v.getInt32(OFF_NUM_WANT),
    port: v.getUint16(OFF_PORT),
    options: parseOptions(b, OFF_OPTIONS),
  };
}

// ---------------------------------------------------------------------------------------------------------
// BEP 41 options

/** URLData options carrying `path` (path and query of the announce URL), split into 255-byte pieces. */
export function urlDataOptions(path: string): AnnounceOption[] {
  const bytes = new TextEncoder().encode(path);
  const out: AnnounceOption[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push({ type: OPTION_URL_DATA, data: bytes.slice(i, i + 255) });
  return out;
}

/** The URLData options' bytes, concatenated, as text ("" when there are none). */
export function urlData(options: AnnounceOption[]): string {
  const parts = options.filter((o) => o.type === OPTION_URL_DATA).map((o) => o.data ?? new Uint8Array(0));
  return new TextDecoder().decode(Buffer.concat(parts));
}

function writeOptions(options: AnnounceOption[]): Uint8Array {
  const out: number[] = [];
  for (const o of options) {
    out.push(o.type);
    if (o.type === OPTION_END || o.type === OPTION_NOP) continue;
    const data = o.data ?? new Uint8Array(0);
    if (data.length > 255) throw new Error(`option ${o.type} carries ${data.length} bytes: at most 255`);
    out.push(data.length, ...data);
  }
  return new Uint8Array(out);
}

function parseOptions(b: Uint8Array, from: number): AnnounceOption[] {
  const out: AnnounceOption[] = [];
  for (let o = from; o < b.length; ) {
    const type = b[o++];
    out.push({ type });
    if (type === OPTION_END) break;
    if (type === OPTION_NOP) continue;
    if (o >= b.length || o + 1 + b[o] > b.length) throw new Error(`option ${type} at byte ${o - 1} runs past the end`);
    out[out.length - 1].data = b.slice(o + 1, o + 1 + b[o]);
    o += 1 + b[o];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Replies

export function writeReply(m: UdpReply): Uint8Array {
  let b: Uint8Array;
  let action: number;
  if (m.action === "connect") {
    b = new Uint8Array(CONNECT_REPLY_LEN);
    action = ACTION_CONNECT;
    b.set(exact(m.connectionId, CONNECTION_ID_LEN, "connection id"), OFF_REPLY_CONNECTION_ID);
  } else if (m.action === "announce") {
    const stride = m.family === 4 ? PEER_LEN_V4 : PEER_LEN_V6;
    b = new Uint8Array(ANNOUNCE_REPLY_HEADER_LEN + stride * m.peers.length);
    action = ACTION_ANNOUNCE;
    writeU32(b, OFF_INTERVAL, m.interval);
    writeU32(b, OFF_LEECHERS, m.leechers);
    writeU32(b, OFF_SEEDERS, m.seeders);
    const ip = new Uint8Array(16);
    m.peers.forEach((p, i) => {
      const at = ANNOUNCE_REPLY_HEADER_LEN + i * stride;
      if (parseIp(p.ip, ip) !== stride - 2) throw new Error(`peer ${p.ip} is not an IPv${m.family} address`);
      b.set(ip.subarray(0, stride - 2), at);
      view(b).setUint16(at + stride - 2, p.port);
    });
  } else if (m.action === "scrape") {
    b = new Uint8Array(OFF_SCRAPE_ENTRIES + SCRAPE_ENTRY_LEN * m.entries.length);
    action = ACTION_SCRAPE;
    m.entries.forEach((e, i) => {
      const at = OFF_SCRAPE_ENTRIES + i * SCRAPE_ENTRY_LEN;
      writeU32(b, at + OFF_ENTRY_SEEDERS, e.seeders);
      writeU32(b, at + OFF_ENTRY_COMPLETED, e.completed);
      writeU32(b, at + OFF_ENTRY_LEECHERS, e.leechers);
    });
  } else {
    const text = new TextEncoder().encode(m.message);
    b = new Uint8Array(OFF_ERROR_MESSAGE + text.length);
    action = ACTION_ERROR;
    b.set(text, OFF_ERROR_MESSAGE);
  }
  writeU32(b, OFF_REPLY_ACTION, action);
  writeU32(b, OFF_REPLY_TRANSACTION_ID, m.transactionId);
  return b;
}

/** `family`: the address family the request was sent from, which decides the announce reply's peer size. */
export function parseReply(b: Uint8Array, family: 4 | 6 = 4): UdpReply {
  if (b.length < OFF_REPLY_TRANSACTION_ID + 4) throw new Error(`reply of ${b.length} bytes: at least 8 needed`);
  const action = readU32(b, OFF_REPLY_ACTION);
  const transactionId = readU32(b, OFF_REPLY_TRANSACTION_ID);
  if (action === ACTION_ERROR) {
    return { action: "error", transactionId, message: new TextDecoder().decode(b.subarray(OFF_ERROR_MESSAGE)) };
  }
  if (action === ACTION_CONNECT) {
    if (b.length !== CONNECT_REPLY_LEN) throw new Error(`connect reply of ${b.length} bytes, not ${CONNECT_REPLY_LEN}`);
    return {
      action: "connect",
      transactionId,
      connectionId: b.slice(OFF_REPLY_CONNECTION_ID, OFF_REPLY_CONNECTION_ID + CONNECTION_ID_LEN),
    };
  }
  if (action === ACTION_SCRAPE) {
    const n = (b.length - OFF_SCRAPE_ENTRIES) / SCRAPE_ENTRY_LEN;
    if (!Number.isInteger(n))
      throw new Error(`scrape reply of ${b.length} bytes is not ${OFF_SCRAPE_ENTRIES} + ${SCRAPE_ENTRY_LEN}n`);
    const entries: ScrapeEntry[] = [];
    for (let i = 0; i < n; i++) {
      const at = OFF_SCRAPE_ENTRIES + i * SCRAPE_ENTRY_LEN;
      entries.push({
        seeders: readU32(b, at + OFF_ENTRY_SEEDERS),
        completed: readU32(b, at + OFF_ENTRY_COMPLETED),
        leechers: readU32(b, at + OFF_ENTRY_LEECHERS),
      });
    }
    return { action: "scrape", transactionId, entries };
  }
  if (action !== ACTION_ANNOUNCE) throw new Error(`unknown reply action ${action}`);
  const stride = family === 4 ? PEER_LEN_V4 : PEER_LEN_V6;
  const n = (b.length - ANNOUNCE_REPLY_HEADER_LEN) / stride;
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`announce reply of ${b.length} bytes is not ${ANNOUNCE_REPLY_HEADER_LEN} + ${stride}n`);
  const peers: Peer[] = [];
  for (let i = 0; i < n; i++) {
    const at = ANNOUNCE_REPLY_HEADER_LEN + i * stride;
    peers.push({ ip: formatIp(b, at, family === 4 ? 4 : 16), port: (b[at + stride - 2] << 8) | b[at + stride - 1] });
  }
  return {
    action: "announce",
    transactionId,
    interval: readU32(b, OFF_INTERVAL),
    leechers: readU32(b, OFF_LEECHERS),
    seeders: readU32(b, OFF_SEEDERS),
    family,
    peers,
  };
}

// ---------------------------------------------------------------------------------------------------------

function writeHeader(b: Uint8Array, action: number, transactionId: number): void {
  writeU32(b, OFF_ACTION, action);
  writeU32(b, OFF_TRANSACTION_ID, transactionId);
}

function exact(b: Uint8Array, len: number, what: string): Uint8Array {
  if (b.length !== len) throw new Error(`${what} of ${b.length} bytes, not ${len}`);
  return b;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
