// A small BEP 15 client over a real UDP socket, for integration tests. Replies are queued and awaited; to
// prove a packet got no reply, send it and then a connect: the connect's reply must be the next datagram
// (loopback keeps order, and the tracker answers in arrival order).

import type { udp } from "bun";

export const PROTOCOL_ID = [0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80];

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
    return reply.slice(8, 16);
  }

  /** Asserts (by throwing) that `packet` gets no reply: a connect sent after it must be answered first. */
  async expectNoReply(packet: Uint8Array): Promise<void> {
    this.send(packet);
    const reply = await this.request(connectPacket(0x7e57ab1e));
    const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    if (reply.length !== 16 || view.getUint32(0) !== 0 || view.getUint32(4) !== 0x7e57ab1e) {
      throw new Error(`expected no reply, got ${Buffer.from(reply).toString("hex")}`);
    }
  }

  close(): void {
    this.#socket.close();
  }
}

export function connectPacket(txid: number): Uint8Array {
  const b = new Uint8Array(16);
  b.set(PROTOCOL_ID, 0);
  new DataView(b.buffer).setUint32(12, txid);
  return b;
}

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
  /** Extra bytes after offset 98 (BEP 41 options). */
  options?: Uint8Array;
}

export function announcePacket(f: AnnounceFields): Uint8Array {
  const b = new Uint8Array(98 + (f.options?.length ?? 0));
  const v = new DataView(b.buffer);
  b.set(f.connectionId, 0);
  v.setUint32(8, 1);
  v.setUint32(12, f.txid ?? 0x0a0b0c0d);
  b.set(f.infoHash, 16);
  b.set(f.peerId ?? new TextEncoder().encode("-TE0001-abcdefghijkl"), 36);
  v.setBigUint64(56, f.downloaded ?? 0n);
  v.setBigUint64(64, f.left ?? 1000n);
  v.setBigUint64(72, f.uploaded ?? 0n);
  v.setUint32(80, f.event ?? 0);
  v.setUint32(84, f.ip ?? 0);
  v.setUint32(88, f.key ?? 0);
  v.setInt32(92, f.numWant ?? -1);
  v.setUint16(96, f.port);
  if (f.options) b.set(f.options, 98);
  return b;
}

export function scrapePacket(connectionId: Uint8Array, hashes: Uint8Array[], txid = 0x05060708): Uint8Array {
  const b = new Uint8Array(16 + 20 * hashes.length);
  b.set(connectionId, 0);
  new DataView(b.buffer).setUint32(8, 2);
  new DataView(b.buffer).setUint32(12, txid);
  hashes.forEach((h, i) => b.set(h, 16 + i * 20));
  return b;
}

export interface AnnounceReply {
  action: number;
  txid: number;
  interval: number;
  leechers: number;
  seeders: number;
  /** "ip:port" strings, decoded with the stride of the given family. */
  peers: string[];
}

export function parseAnnounceReply(b: Uint8Array, family: 4 | 6): AnnounceReply {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stride = family === 4 ? 6 : 18;
  if ((b.length - 20) % stride !== 0) throw new Error(`reply length ${b.length} is not 20 + ${stride}n`);
  const peers: string[] = [];
  for (let o = 20; o < b.length; o += stride) {
    const port = v.getUint16(o + stride - 2);
    if (family === 4) peers.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}:${port}`);
    else {
      const groups: string[] = [];
      for (let i = 0; i < 8; i++) groups.push(v.getUint16(o + i * 2).toString(16));
      peers.push(`[${groups.join(":")}]:${port}`);
    }
  }
  return { action: v.getUint32(0), txid: v.getUint32(4), interval: v.getUint32(8), leechers: v.getUint32(12), seeders: v.getUint32(16), peers };
}

export function parseError(b: Uint8Array): { action: number; txid: number; message: string } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { action: v.getUint32(0), txid: v.getUint32(4), message: new TextDecoder().decode(b.subarray(8)) };
}

/** A deterministic 20-byte hash for tests, with bytes >= 0x80 so binary handling is exercised. */
export function testHash(n: number): Uint8Array {
  const h = new Uint8Array(20);
  for (let i = 0; i < 20; i++) h[i] = (n * 31 + i * 17 + 0x80) & 0xff;
  return h;
}
