// A small BEP 15 client on Bun.udpSocket for the low-rate work around a benchmark: readiness checks, scrape
// verification and latency probes. The load itself comes from udp-gen.c.

import type { udp } from "bun";

const CONNECT_MAGIC = 0x41727101980n;

export class UdpClient {
  #socket!: udp.Socket<"uint8array">;
  #pending = new Map<number, (reply: Uint8Array) => void>();
  #nextTx = 1;
  #connId: Uint8Array | null = null;
  #connAt = 0;

  private constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** Binds `source` (any 127.0.0.x works on Linux without configuration) and targets host:port. */
  static async open(host: string, port: number, source = "127.0.0.1"): Promise<UdpClient> {
    const c = new UdpClient(host, port);
    c.#socket = await Bun.udpSocket({
      hostname: source,
      binaryType: "uint8array",
      socket: {
        data: (_s, buf) => c.#onReply(buf),
        // Without an error handler an ICMP "port unreachable" (target not up yet) would throw.
        error: () => {},
      },
    });
    return c;
  }

  #onReply(buf: Uint8Array): void {
    if (buf.length < 8) return;
    const tx = new DataView(buf.buffer, buf.byteOffset).getUint32(4);
    const resolve = this.#pending.get(tx);
    if (resolve === undefined) return;
    this.#pending.delete(tx);
    resolve(buf.slice());
  }

  /** Sends `packet` with a fresh transaction id at bytes 12..16; the reply, or null after timeoutMs. */
  request(packet: Uint8Array, timeoutMs = 1000): Promise<Uint8Array | null> {
    const tx = this.#nextTx++ >>> 0;
    new DataView(packet.buffer, packet.byteOffset).setUint32(12, tx);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(tx);
        resolve(null);
      }, timeoutMs);
      this.#pending.set(tx, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      try {
        this.#socket.send(packet, this.port, this.host);
      } catch {
        // ECONNREFUSED after an ICMP error: the timeout answers for it.
      }
    });
  }

  /** A connection id, fetched again once a minute (trackers accept them for 2-5 minutes). */
  async connectionId(timeoutMs = 1000): Promise<Uint8Array | null> {
    if (this.#connId !== null && Date.now() - this.#connAt < 60_000) return this.#connId;
    const p = new Uint8Array(16);
    const v = new DataView(p.buffer);
    v.setBigUint64(0, CONNECT_MAGIC);
    v.setUint32(8, 0);
    const reply = await this.request(p, timeoutMs);
    if (reply === null || reply.length < 16 || readU32(reply, 0) !== 0) return null;
    this.#connId = reply.slice(8, 16);
    this.#connAt = Date.now();
    return this.#connId;
  }

  /** Announce; event 0 none, 1 completed, 2 started, 3 stopped. Returns the reply (action 1 or 3) or null. */
  async announce(a: { hash: Uint8Array; port: number; event: number; left: number; numwant: number }, timeoutMs = 1000) {
    const id = await this.connectionId(timeoutMs);
    if (id === null) return null;
    const p = new Uint8Array(98);
    const v = new DataView(p.buffer);
    p.set(id, 0);
    v.setUint32(8, 1);
    p.set(a.hash, 16);
    v.setBigUint64(56, 0n);
    v.setBigUint64(64, BigInt(a.left));
    v.setUint32(80, a.event);
    v.setInt32(92, a.numwant);
    v.setUint16(96, a.port);
    return this.request(p, timeoutMs);
  }

  /** Scrape counts (seeders, completed, leechers) per hash, in order, or null on timeout or error. */
  async scrape(hashes: Uint8Array[], timeoutMs = 2000): Promise<{ seeders: number; completed: number; leechers: number }[] | null> {
    const id = await this.connectionId(timeoutMs);
    if (id === null) return null;
    const p = new Uint8Array(16 + 20 * hashes.length);
    p.set(id, 0);
    new DataView(p.buffer).setUint32(8, 2);
    hashes.forEach((h, i) => p.set(h, 16 + 20 * i));
    const reply = await this.request(p, timeoutMs);
    if (reply === null || readU32(reply, 0) !== 2 || reply.length < 8 + 12 * hashes.length) return null;
    return hashes.map((_, i) => ({
      seeders: readU32(reply, 8 + 12 * i),
      completed: readU32(reply, 12 + 12 * i),
      leechers: readU32(reply, 16 + 12 * i),
    }));
  }

  close(): void {
    this.#socket.close();
  }
}

export function readU32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(at);
}
