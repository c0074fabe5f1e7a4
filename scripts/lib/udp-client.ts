// A small BEP 15 client on Bun.udpSocket for tools (the soak run, the benchmarks' readiness checks, probes and
// scrape checks): requests as messages, replies matched by transaction id, a timeout instead of a hang. The
// wire format is the codec's (src/codec/udp-messages.ts). Load itself comes from bench/udp-gen.c.

import type { udp } from "bun";
import {
  parseReply,
  type ScrapeEntry,
  type UdpAnnounceRequest,
  type UdpReply,
  type UdpRequest,
  writeRequest,
} from "../../src/codec/udp-messages.ts";
import { OFF_REPLY_TRANSACTION_ID, REPLY_HEADER_LEN } from "../../src/codec/udp.ts";

/** A reply the codec could not parse (wrong length for its action, unknown action): kept for the report. */
export interface MalformedReply {
  action: "malformed";
  bytes: Uint8Array;
  reason: string;
}

export type ClientReply = UdpReply | MalformedReply;

/** An announce's fields; the connection id and transaction id are the client's, the rest default to zero. */
export type AnnounceFields = Partial<Omit<UdpAnnounceRequest, "action" | "connectionId" | "transactionId">> &
  Pick<UdpAnnounceRequest, "infoHash" | "port">;

export class UdpClient {
  #socket!: udp.Socket<"uint8array">;
  #pending = new Map<number, (reply: Uint8Array) => void>();
  #nextTx = 1;
  #connId: Uint8Array | null = null;
  #connAt = 0;
  /** Announce replies carry peers of the family the request came from. */
  readonly family: 4 | 6;

  private constructor(
    readonly host: string,
    readonly port: number,
    source: string,
  ) {
    this.family = source.includes(":") ? 6 : 4;
  }

  /** Binds `source` (any 127.0.0.x works on Linux without configuration; "::1" for IPv6) and targets host:port. */
  static async open(host: string, port: number, source = "127.0.0.1"): Promise<UdpClient> {
    const c = new UdpClient(host, port, source);
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
    if (buf.length < REPLY_HEADER_LEN) return;
    const tx = new DataView(buf.buffer, buf.byteOffset).getUint32(OFF_REPLY_TRANSACTION_ID);
    const resolve = this.#pending.get(tx);
    if (resolve === undefined) return; // late (after its timeout) or not ours
    this.#pending.delete(tx);
    resolve(buf.slice());
  }

  /** Sends `m` with a fresh transaction id (m's is ignored); the parsed reply, or null after timeoutMs. */
  request(m: UdpRequest, timeoutMs = 1000): Promise<ClientReply | null> {
    const tx = this.#nextTx++ >>> 0;
    const packet = writeRequest({ ...m, transactionId: tx });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(tx);
        resolve(null);
      }, timeoutMs);
      this.#pending.set(tx, (bytes) => {
        clearTimeout(timer);
        try {
          resolve(parseReply(bytes, this.family));
        } catch (e) {
          resolve({ action: "malformed", bytes, reason: (e as Error).message });
        }
      });
      try {
        this.#socket.send(packet, this.port, this.host);
      } catch {
        // ECONNREFUSED after an ICMP error: the timeout answers for it.
      }
    });
  }

  /** A connection id, fetched again once a minute (trackers accept them for 2-5 minutes); null if none came. */
  async connectionId(timeoutMs = 1000): Promise<Uint8Array | null> {
    if (this.#connId !== null && Date.now() - this.#connAt < 60_000) return this.#connId;
    const reply = await this.request({ action: "connect", transactionId: 0 }, timeoutMs);
    if (reply?.action !== "connect") return null;
    this.#connId = reply.connectionId;
    this.#connAt = Date.now();
    return this.#connId;
  }

  /** Announce (event 0 none, 1 completed, 2 started, 3 stopped); the reply (announce or error), or null. */
  async announce(a: AnnounceFields, timeoutMs = 1000): Promise<ClientReply | null> {
    const connectionId = await this.connectionId(timeoutMs);
    if (connectionId === null) return null;
    return this.request(
      {
        action: "announce",
        connectionId,
        transactionId: 0,
        peerId: new Uint8Array(20),
        downloaded: 0n,
        left: 0n,
        uploaded: 0n,
        event: 0,
        ip: 0,
        key: 0,
        numWant: -1,
        options: [],
        ...a,
      },
      timeoutMs,
    );
  }

  /** Scrape counts per hash, in order, or null on a timeout, an error or a reply of the wrong size. */
  async scrape(infoHashes: Uint8Array[], timeoutMs = 2000): Promise<ScrapeEntry[] | null> {
    const connectionId = await this.connectionId(timeoutMs);
    if (connectionId === null) return null;
    const reply = await this.request({ action: "scrape", connectionId, transactionId: 0, infoHashes }, timeoutMs);
    return reply?.action === "scrape" && reply.entries.length === infoHashes.length ? reply.entries : null;
  }

  close(): void {
    this.#socket.close();
  }
}
