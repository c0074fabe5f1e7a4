// The UDP listener (Bun.udpSocket) for BEP 15.
//
// Bun traps handled here (see bun-notes): without an `error` handler an ICMP port-unreachable from a client
// that went away kills the process; after one such ICMP error the next send() throws ECONNREFUSED and that
// datagram (to a healthy client) is lost unless retried once; the error handler may be called as error(err)
// or error(socket, err). Binding "::" gives dual stack, with IPv4 senders reported as ::ffff:a.b.c.d
// (parseIp turns those back into IPv4).

import type { udp } from "bun";
import type { ListenAddress } from "../config/config.ts";
import { parseIp } from "../codec/ip.ts";
import { UDP_REPLY_BUDGET, type UdpTracker } from "../frontend/udp-tracker.ts";
import type { Logger } from "./logger.ts";

const RETRYABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

export interface UdpServerOptions {
  listen: ListenAddress;
  tracker: UdpTracker;
  log: Logger;
  now: () => number;
}

export async function startUdpServer(o: UdpServerOptions): Promise<udp.Socket<"buffer">> {
  const ip = new Uint8Array(16);
  const out = new Uint8Array(UDP_REPLY_BUDGET + 64);
  const { tracker, log } = o;
  return Bun.udpSocket({
    hostname: o.listen.host,
    port: o.listen.port,
    socket: {
      data(socket, packet, port, address) {
        if (port === 0) return; // cannot be answered
        try {
          const ipLen = parseIp(address, ip);
          if (ipLen === 0) return;
          const n = tracker.handle(packet, ip, ipLen, o.now(), out);
          if (n > 0) send(socket, out.subarray(0, n), port, address, log);
        } catch (err) {
          // A bug, not bad input: bad input is answered or dropped by the tracker. Keep serving.
          log.error("udp handler failed", { err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        }
      },
      error(...args: unknown[]) {
        const err = args[args.length - 1];
        // ICMP errors from clients that went away are routine on a public tracker.
        log.debug("udp socket error", { err: err instanceof Error ? err.message : String(err) });
      },
    },
  });
}

function send(socket: udp.Socket<"buffer">, data: Uint8Array, port: number, address: string, log: Logger): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      socket.send(data, port, address);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      // A pending ICMP error surfaces on the next send and is consumed by it: one retry gets through.
      if (attempt === 0 && RETRYABLE.has(code)) continue;
      log.debug("udp send failed", { code, err: err instanceof Error ? err.message : String(err) });
      return;
    }
  }
}
