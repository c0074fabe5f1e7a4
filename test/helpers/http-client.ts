// Small HTTP tracker client pieces for integration tests: byte-exact percent-encoding, announce URLs, bencoded
// replies decoded strictly (decodeBencode rejects unsorted keys), compact peer lists, and raw HTTP over TCP
// for requests fetch() cannot send (HTTP/1.0 without Host).

import { type BValue, decodeBencode, latin1Bytes } from "../../src/codec/bencode-decode.ts";

/** A deterministic 20-byte info hash per label (SHA-1, so bytes >= 0x80 are common, as in real hashes). */
export function sha1(label: string): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher("sha1").update(label).digest());
}

/** The latin1 string form of bytes: how the store and decodeBencode represent binary keys. */
export function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** Percent-encodes every byte (%XX), so nothing depends on which characters a URL parser leaves alone. */
export function pct(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  return s;
}

/** "host:port" for a URL: IPv6 literals get brackets. */
export function urlHost(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export const PEER_ID = new TextEncoder().encode("-TE0001-0123456789ab");

export interface AnnounceParams {
  infoHash: Uint8Array;
  port: number;
  peerId?: Uint8Array;
  /** Omitted when undefined. */
  left?: number;
  event?: string;
  compact?: number;
  numwant?: number | string;
  /** Appended verbatim ("&k=v..."). */
  extra?: string;
}

export function announceQuery(p: AnnounceParams): string {
  let q = `info_hash=${pct(p.infoHash)}&peer_id=${pct(p.peerId ?? PEER_ID)}&port=${p.port}&uploaded=0&downloaded=0`;
  if (p.left !== undefined) q += `&left=${p.left}`;
  if (p.event !== undefined) q += `&event=${p.event}`;
  if (p.compact !== undefined) q += `&compact=${p.compact}`;
  if (p.numwant !== undefined) q += `&numwant=${p.numwant}`;
  return q + (p.extra ?? "");
}

export interface BencodeReply {
  status: number;
  headers: Headers;
  /** The decoded body; decoding throws if the keys are not in canonical order. */
  body: Record<string, BValue>;
}

export async function getBencode(url: string, init?: RequestInit): Promise<BencodeReply> {
  const res = await fetch(url, init);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const body = decodeBencode(bytes);
  if (typeof body !== "object" || Array.isArray(body)) throw new Error(`reply is not a dictionary: ${latin1(bytes)}`);
  return { status: res.status, headers: res.headers, body };
}

/** Splits a compact peer string (BEP 23 / BEP 7) into "ip:port" strings; throws on a bad length. */
export function compactPeers(value: BValue | undefined, stride: 6 | 18): string[] {
  if (typeof value !== "string") throw new Error(`compact peers must be a byte string, got ${JSON.stringify(value)}`);
  const b = latin1Bytes(value);
  if (b.length % stride !== 0) throw new Error(`compact peers length ${b.length} is not a multiple of ${stride}`);
  const peers: string[] = [];
  for (let o = 0; o < b.length; o += stride) {
    const port = (b[o + stride - 2] << 8) | b[o + stride - 1];
    peers.push(`${formatAddr(b.subarray(o, o + stride - 2))}:${port}`);
  }
  return peers;
}

/** 4 bytes as dotted quad, 16 bytes as "[h:h:...]" with every group (no "::" shortening). */
export function formatAddr(b: Uint8Array): string {
  if (b.length === 4) return b.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return `[${groups.join(":")}]`;
}

/** The expected "ip:port" form of a loopback peer, matching compactPeers and parseAnnounceReply. */
export function loopbackPeer(host: "127.0.0.1" | "::1", port: number): string {
  return host === "::1" ? `[0:0:0:0:0:0:0:1]:${port}` : `127.0.0.1:${port}`;
}

export interface RawResponse {
  status: number;
  head: string;
  body: Uint8Array;
}

/** Sends `request` as-is over TCP and reads until the server closes the connection. */
export async function rawHttp(host: string, port: number, request: string): Promise<RawResponse> {
  const chunks: Uint8Array[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const timer = setTimeout(() => reject(new Error("no complete raw HTTP response within 5 s")), 5000);
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, d) {
        chunks.push(new Uint8Array(d));
      },
      close() {
        resolve();
      },
      error(_s, err) {
        reject(err);
      },
    },
  });
  socket.write(request);
  try {
    await promise;
  } finally {
    clearTimeout(timer);
    socket.end();
  }
  const all = Buffer.concat(chunks);
  const split = all.indexOf("\r\n\r\n");
  if (split < 0) throw new Error(`no header end in ${JSON.stringify(all.toString("latin1"))}`);
  const head = all.subarray(0, split).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
  return { status, head, body: new Uint8Array(all.subarray(split + 4)) };
}
