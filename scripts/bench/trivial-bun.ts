// The trivial responder on Bun's own sockets (Bun.udpSocket + Bun.serve): the same fixed replies as
// trivial.c. Not the generator ceiling (trivial.c is faster); it is the ceiling of the Bun runtime itself,
// i.e. what a tracker in Bun could reach if its request handling cost nothing (§6's Bun.serve calibration).
// runBunCeiling runs it in N threads (this thread and N - 1 Workers) on one port with SO_REUSEPORT, the way
// `--workers N` serves, and sends each turn's replies with one sendMany as our tracker does (one send per
// datagram made trivial-bun slower than our tracker itself): the runtime's ceiling for a threaded tracker on
// this machine (target bun-ceiling-wN).

import type { udp } from "bun";
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_SCRAPE,
  ANNOUNCE_REPLY_HEADER_LEN,
  INFO_HASH_LEN,
  OFF_ACTION,
  OFF_REPLY_TRANSACTION_ID,
  OFF_SCRAPE_ENTRIES,
  OFF_SCRAPE_HASHES,
  OFF_TRANSACTION_ID,
  REQUEST_HEADER_LEN,
  SCRAPE_ENTRY_LEN,
} from "../../src/codec/udp.ts";
import { writeReply } from "../../src/codec/udp-messages.ts";

declare const self: Worker; // in a Worker: the global scope

const PEERS = 21;
const MAX_SCRAPE = 74;

/** Linux SO_REUSEPORT for Bun.udpSocket's undocumented flags (bun-notes §1.3). */
const REUSE_PORT = 4;

/** Replies gathered per event-loop turn before one sendMany (as our tracker's UDP server does). */
const BATCH_MAX = 64;

/**
 * `batched`: the replies of one event-loop turn go out in one `sendMany`, as our tracker sends them (bun-ceiling);
 * otherwise one `send` per datagram (trivial-bun, as it always measured).
 */
export async function runBunTrivial(
  host: string,
  port: number,
  reusePort = false,
  batched = false,
): Promise<{ close(): void }> {
  // Fixed replies, written once; only the transaction id is copied in per request.
  const peers = Array.from({ length: PEERS }, (_, i) => ({ ip: `10.0.0.${i}`, port: 6881 }));
  const connect = writeReply({
    action: "connect",
    transactionId: 0,
    connectionId: Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0),
  });
  const announce = writeReply({
    action: "announce",
    transactionId: 0,
    interval: 1800,
    leechers: 10,
    seeders: 20,
    family: 4,
    peers,
  });
  const scrape = writeReply({
    action: "scrape",
    transactionId: 0,
    entries: Array.from({ length: MAX_SCRAPE }, () => ({ seeders: 20, completed: 0, leechers: 0 })),
  });
  const T = OFF_TRANSACTION_ID;
  const R = OFF_REPLY_TRANSACTION_ID;
  // Batched mode: each reply copied into its own slot (the fixed replies are shared), sent after this turn.
  const slot = Math.max(connect.length, announce.length, scrape.length);
  const slots = Array.from({ length: BATCH_MAX }, () => new Uint8Array(slot));
  const views: Uint8Array[][] = slots.map(() => []); // per slot and length, made once: no view per reply
  const batch: (Uint8Array | number | string)[] = [];
  let batchSocket: udp.Socket<"uint8array"> | null = null;
  let queued = false;
  const flush = () => {
    queued = false;
    if (batch.length === 0 || batchSocket === null) return;
    try {
      batchSocket.sendMany(batch);
    } catch {
      // an ICMP error from a generator socket that went away: these replies are lost, as a tracker's would be
    }
    batch.length = 0;
    batchSocket = null;
  };

  const socket: udp.Socket<"uint8array"> = await Bun.udpSocket({
    hostname: host,
    port,
    binaryType: "uint8array",
    ...({ flags: reusePort ? REUSE_PORT : 0 } as object),
    socket: {
      data(s, buf, rport, raddr) {
        if (buf.length < REQUEST_HEADER_LEN) return;
        const action = buf[OFF_ACTION + 3]; // low byte of the big-endian action: 0, 1, 2
        const reply =
          action === ACTION_CONNECT
            ? connect
            : action === ACTION_ANNOUNCE
              ? announce
              : action === ACTION_SCRAPE
                ? scrape
                : null;
        if (reply === null) return;
        (reply[R] = buf[T]), (reply[R + 1] = buf[T + 1]), (reply[R + 2] = buf[T + 2]), (reply[R + 3] = buf[T + 3]);
        const len =
          action === ACTION_SCRAPE
            ? OFF_SCRAPE_ENTRIES +
              SCRAPE_ENTRY_LEN * Math.min(MAX_SCRAPE, Math.floor((buf.length - OFF_SCRAPE_HASHES) / INFO_HASH_LEN))
            : reply.length;
        if (!batched) {
          s.send(len === reply.length ? reply : reply.subarray(0, len), rport, raddr);
          return;
        }
        if (batch.length === 3 * BATCH_MAX || (batchSocket !== null && batchSocket !== s)) flush();
        const k = batch.length / 3;
        const out = slots[k];
        out.set(len === reply.length ? reply : reply.subarray(0, len));
        batch.push((views[k][len] ??= out.subarray(0, len)), rport, raddr);
        batchSocket = s;
        if (!queued) {
          queued = true;
          setImmediate(flush);
        }
      },
      error() {},
    },
  });
  const body = Buffer.concat([
    Buffer.from(
      `d8:completei20e10:downloadedi5e10:incompletei10e8:intervali1800e12:min intervali900e5:peers${6 * PEERS}:`,
    ),
    announce.subarray(ANNOUNCE_REPLY_HEADER_LEN),
    Buffer.from("e"),
  ]);
  const server = Bun.serve({
    hostname: host,
    port,
    reusePort,
    development: false,
    fetch: () => new Response(body, { headers: { "Content-Type": "text/plain" } }),
  });
  return {
    close() {
      socket.close();
      void server.stop(true);
    },
  };
}

/** The responder in `threads` threads on one port: this one and threads - 1 Workers, each its own sockets. */
export async function runBunCeiling(host: string, port: number, threads: number): Promise<{ close(): void }> {
  const own = await runBunTrivial(host, port, true, true);
  const workers = await Promise.all(
    Array.from({ length: threads - 1 }, async () => {
      const w = new Worker(import.meta.url);
      await new Promise<void>((resolve, reject) => {
        w.onmessage = () => resolve();
        w.onerror = (e) => reject(new Error(`bun-ceiling worker: ${e.message}`));
        w.postMessage({ host, port });
      });
      return w;
    }),
  );
  return {
    close() {
      for (const w of workers) w.terminate();
      own.close();
    },
  };
}

if (!Bun.isMainThread) {
  self.onmessage = async (e: MessageEvent<{ host: string; port: number }>) => {
    await runBunTrivial(e.data.host, e.data.port, true, true);
    postMessage("ready");
  };
}
