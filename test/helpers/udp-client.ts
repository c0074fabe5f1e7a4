// A small BEP 15 client over a real UDP socket, for integration tests. Replies are queued and awaited; to
// prove a packet got no reply, send it and then a connect: the connect's reply must be the next datagram
// (loopback keeps order, and the tracker answers in arrival order).

import type { udp } from "bun";
import { parseIp } from "../../src/codec/ip.ts";
import { ACTION_ANNOUNCE, ACTION_ERROR, CONNECT_REPLY_LEN } from "../../src/codec/udp.ts";
import { parseReply, type UdpReply, writeRequest } from "../../src/codec/udp-messages.ts";

export class UdpClient {
  #socket!: udp.Socket<"buffer">;
  #queue: Uint8Array[] = [];
  #waiters: ((b: Uint8Array) => void)[] = [];
  readonly host: string;
  readonly port: number;

  private constructor(host: string, port: number) {
    this.host = host;
    this.port = port;
  }

  /** A client bound to `localHost` (use "::1" for IPv6, "127.0.0.1" for IPv4) talking to host:port. */
  static async open(host: string, port: number, localHost = host): Promise<UdpClient> {
    const c = new UdpClient(host, port);
    c.#socket = await Bun.udpSocket({
      hostname: localHost,
      socket: {
        data: (_s, buf) => {
          const w = c.#waiters.shift();
          if (w) w(new Uint8Array(buf));
          else c.#queue.push(new Uint8Array(buf));
        },
        error() {},
      },
    });
    return c;
  }

  get localPort(): number {
    return this.#socket.port;
  }

  send(packet: Uint8Array): void {
    this.#socket.send(packet, this.port, this.host);
  }

  /** The next datagram, or an error after `timeoutMs` (a lost reply is a failure, not a hang). */
  next(timeoutMs = 2000): Promise<Uint8Array> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(done), 1);
        reject(new Error("no UDP reply within " + timeoutMs + " ms"));
      }, timeoutMs);
      const done = (b: Uint8Array) => {
        clearTimeout(timer);
        resolve(b);
      };
      this.#waiters.push(done);
    });
  }

  async request(packet: Uint8Array): Promise<Uint8Array> {
    this.send(packet);
    return this.next();
  }

  /** Runs connect and returns the 8-byte connection id. */
  async connect(txid = 0x01020304): Promise<Uint8Array> {
    const reply = await this.request(connectPacket(txid));
    const r = parseReply(reply);
    if (r.action !== "connect") throw new Error(`expected a connect reply, got ${describe(r)}`);
    return r.connectionId;
  }

  /** Asserts (by throwing) that `packet` gets no reply: a connect sent after it must be answered first. */
  async expectNoReply(packet: Uint8Array): Promise<void> {
    this.send(packet);
    const reply = await this.request(connectPacket(0x7e57ab1e));
    const r = reply.length === CONNECT_REPLY_LEN ? parseReply(reply) : null;
    if (r?.action !== "connect" || r.transactionId !== 0x7e57ab1e) {
      throw new Error(`expected no reply, got ${Buffer.from(reply).toString("hex")}`);
    }
  }

  close(): void {
    this.#socket.close();
  }
}

export function connectPacket(txid: number): Uint8Array {
  return writeRequest({ action: "connect", transactionId: txid });
}

/** The protocol id as the 8 bytes a connect request starts with. */
export const PROTOCOL_ID_BYTES = connectPacket(0).slice(0, 8);

export interface AnnounceFields {
  connectionId: Uint8Array;
  txid?: number;
  infoHash: Uint8Array;
  peerId?: Uint8Array;
  downloaded?: bigint;
  left?: bigint;
  uploaded?: bigint;
  event?: number;
  ip?: number;
  key?: number;
  numWant?: number;
  port: number;
  /** Raw bytes after offset 98 (BEP 41 options, well-formed or not). */
  options?: Uint8Array;
}

export function announcePacket(f: AnnounceFields): Uint8Array {
  const fixed = writeRequest({
    action: "announce",
    connectionId: f.connectionId,
    transactionId: f.txid ?? 0x0a0b0c0d,
    infoHash: f.infoHash,
    peerId: f.peerId ?? new TextEncoder().encode("-TE0001-abcdefghijkl"),
    downloaded: f.downloaded ?? 0n,
    left: f.left ?? 1000n,
    uploaded: f.uploaded ?? 0n,
    event: f.event ?? 0,
    ip: f.ip ?? 0,
    key: f.key ?? 0,
    numWant: f.numWant ?? -1,
    port: f.port,
    options: [],
  });
  return f.options === undefined ? fixed : new Uint8Array([...fixed, ...f.options]);
}

export function scrapePacket(connectionId: Uint8Array, hashes: Uint8Array[], txid = 0x05060708): Uint8Array {
  return writeRequest({ action: "scrape", connectionId, transactionId: txid, infoHashes: hashes });
}

export interface AnnounceReply {
  action: number;
  txid: number;
  interval: number;
  leechers: number;
  seeders: number;
  /** "ip:port" strings; IPv6 as "[0:0:0:0:0:0:0:1]:port" (all eight groups, as http-client.ts's formatAddr). */
  peers: string[];
}

/** An announce reply, decoded with the peer size of the given family; throws on anything else. */
export function parseAnnounceReply(b: Uint8Array, family: 4 | 6): AnnounceReply {
  const r = parseReply(b, family);
  if (r.action !== "announce") throw new Error(`expected an announce reply, got ${describe(r)}`);
  const ip = new Uint8Array(16);
  const peers = r.peers.map((p) => {
    if (family === 4) return `${p.ip}:${p.port}`;
    parseIp(p.ip, ip);
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(((ip[i * 2] << 8) | ip[i * 2 + 1]).toString(16));
    return `[${groups.join(":")}]:${p.port}`;
  });
  return {
    action: ACTION_ANNOUNCE,
    txid: r.transactionId,
    interval: r.interval,
    leechers: r.leechers,
    seeders: r.seeders,
    peers,
  };
}

/** An error reply's transaction id and text; throws on anything else. */
export function parseError(b: Uint8Array): { action: number; txid: number; message: string } {
  const r = parseReply(b);
  if (r.action !== "error") throw new Error(`expected an error reply, got ${describe(r)}`);
  return { action: ACTION_ERROR, txid: r.transactionId, message: r.message };
}

function describe(r: UdpReply): string {
  return r.action === "error" ? `error "${r.message}"` : `a ${r.action} reply`;
}

/** A deterministic 20-byte hash for tests, with bytes >= 0x80 so binary handling is exercised. */
export function testHash(n: number): Uint8Array {
  const h = new Uint8Array(20);
  for (let i = 0; i < 20; i++) h[i] = (n * 31 + i * 17 + 0x80) & 0xff;
  return h;
}
