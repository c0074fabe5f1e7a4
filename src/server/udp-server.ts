// The UDP listener (Bun.udpSocket) for BEP 15.
//
// Bun traps handled here (see bun-notes): without an `error` handler an ICMP port-unreachable from a client
// that went away kills the process; after one such ICMP error the next send() throws ECONNREFUSED and that
// datagram (to a healthy client) is lost unless retried once; the error handler may be called as error(err)
// or error(socket, err). Binding "::" gives dual stack, with IPv4 senders reported as ::ffff:a.b.c.d
// (parseIp turns those back into IPv4).
//
// Reply source address: a reply from a wildcard socket leaves from whatever address the kernel's routing
// picks, and libtorrent-based clients (qBittorrent, Deluge) drop replies that do not come from the address
// they sent to. Bun offers no IP_PKTINFO, so on a wildcard listen we also bind one socket per local address
// (same port; the kernel delivers to the most specific socket, and replies then leave from that address).
// The wildcard socket stays as the catch-all for addresses that appear later; the set is refreshed
// periodically.

import type { udp } from "bun";
import { networkInterfaces } from "node:os";
import type { ListenAddress } from "../config/config.ts";
import { parseIp } from "../codec/ip.ts";
import { FORWARD, UDP_REPLY_BUDGET, type UdpTracker } from "../frontend/udp-tracker.ts";
import type { Faults } from "./faults.ts";
import { listenError } from "./listen-error.ts";
import { errorText, type Logger } from "./logger.ts";

// Bun.udpSocket's undocumented `flags` (uSockets LIBUS_* values, see bun-notes §1.3).
const FLAG_IPV6_ONLY = 8;
const FLAG_REUSE_PORT = 4;
const FLAG_REUSE_ADDR = 16;
const RETRYABLE = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);
const REFRESH_ADDRESSES_MS = 60_000;

type Socket = udp.Socket<"buffer">;

export interface UdpServerOptions {
  listen: ListenAddress;
  tracker: UdpTracker;
  log: Logger;
  faults: Faults;
  now: () => number;
  /**
   * With --workers: hands a request another thread owns (`tracker.forwardTo`) to it. The owner answers from its
   * own socket bound to the same local address (`from.socket`: "" for the listen socket, else the address of a
   * per-address socket), to `from.port` and `from.address`; `reply` sends an answer that comes back instead (a
   * scrape merged from several owners) from the socket the request came in on.
   */
  forward?: (
    to: number,
    packet: Uint8Array,
    ip: Uint8Array,
    ipLen: 4 | 16,
    now: number,
    reply: UdpReply,
    from: UdpSource,
  ) => void;
  /**
   * With --workers every thread binds the port with SO_REUSEPORT and the kernel spreads the senders. "first"
   * (the main thread) first binds it once without, so that a port another program holds is still an error
   * rather than silently shared; "join": the other threads.
   */
  shared?: "first" | "join";
  /** With --workers: called at the end of each turn that sent replies (the mesh drains its rings). */
  endOfTurn?: () => void;
  /**
   * With --workers, in the main thread: each socket as it is bound (its name as in UdpSource, and its file
   * descriptor) and closed (fd null), for workers/udp-steering.ts.
   */
  onSocket?: (name: string, fd: number | null) => void;
}

/** Sends a reply of data[at, at + length) to where a request came from (see UdpServerOptions.forward). */
export type UdpReply = (data: Uint8Array, at: number, length: number) => void;

/** Where a datagram came from, and the local socket it came in on ("" for the listen socket). */
export interface UdpSource {
  socket: string;
  port: number;
  address: string;
}

export interface UdpListener {
  port: number;
  /** Addresses with a socket of their own (empty unless listening on a wildcard). */
  boundAddresses(): string[];
  /** Datagrams read since start (by this thread). */
  readonly read: number;
  /** The main socket is open (for the admin /healthz). */
  isOpen(): boolean;
  /**
   * Sends data[at, at + length) with this thread's next batch from its socket `socket` (see UdpSource; the
   * listen socket if it has none by that name): another thread's answer to a datagram this one owns.
   */
  sendFrom(socket: string, data: Uint8Array, at: number, length: number, port: number, address: string): void;
  close(): void;
}

export async function startUdpServer(o: UdpServerOptions): Promise<UdpListener> {
  const { log } = o;
  /** Each socket's name in a UdpSource: "" for the listen socket, its address for a per-address one. */
  const names = new Map<Socket, string>();
  const handlers = makeHandlers(o, names);
  // `flags` is not in Bun's types (undocumented), hence the widened options object.
  const bind = (hostname: string, port: number, flags: number): Promise<Socket> =>
    Bun.udpSocket({ hostname, port, socket: handlers, ...{ flags } });

  const host = o.listen.host;
  const wildcard = host === "::" || host === "0.0.0.0";
  let main: Socket;
  try {
    let want = o.listen.port;
    if (o.shared === "first") {
      const guard = await bind(host, want, wildcard ? FLAG_REUSE_ADDR : 0);
      want = guard.port;
      guard.close();
    }
    const shared = o.shared === undefined ? 0 : FLAG_REUSE_PORT;
    main = await bind(host, want, (wildcard ? FLAG_REUSE_ADDR : 0) | shared); // (Bun throws here, not rejects)
  } catch (err) {
    throw listenError(err, "UDP", o.listen);
  }
  const port = main.port;
  names.set(main, "");
  o.onSocket?.("", fdOf(main));
  const shared = o.shared === undefined ? 0 : FLAG_REUSE_PORT;
  const perAddress = new Map<string, Socket>();

  async function refresh(): Promise<void> {
    const wanted = localAddresses(host === "::");
    for (const [addr, socket] of perAddress) {
      if (!wanted.has(addr)) {
        socket.close();
        perAddress.delete(addr);
        names.delete(socket);
        o.onSocket?.(addr, null);
      }
    }
    for (const addr of wanted) {
      if (perAddress.has(addr)) continue;
      try {
        const flags = FLAG_REUSE_ADDR | (addr.includes(":") ? FLAG_IPV6_ONLY : 0) | shared;
        const socket = await bind(addr, port, flags);
        perAddress.set(addr, socket);
        names.set(socket, addr);
        o.onSocket?.(addr, fdOf(socket));
      } catch (err) {
        // Not fatal: the wildcard socket still answers this address, from the routed source.
        log.warn("udp: cannot bind a local address; its replies may come from another address", {
          address: addr,
          err: errorText(err),
        });
      }
    }
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  if (wildcard) {
    await refresh();
    timer = o.faults.every("udp address refresh", REFRESH_ADDRESSES_MS, refresh);
  }
  return {
    port,
    get read() {
      return handlers.read;
    },
    boundAddresses: () => [...perAddress.keys()],
    isOpen: () => !main.closed,
    sendFrom(socket, data, at, length, to, address) {
      handlers.send(perAddress.get(socket) ?? main, data, at, length, to, address);
    },
    close() {
      clearInterval(timer);
      for (const socket of perAddress.values()) socket.close();
      main.close();
    },
  };
}

/** A socket's file descriptor: present at run time, though not in Bun's types (bun-notes §1.5); -1 if not. */
function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { fd?: unknown }).fd;
  return typeof fd === "number" ? fd : -1;
}

/** Unicast addresses of this host's interfaces (IPv6 link-local ones need a scope; the wildcard serves them). */
function localAddresses(withV6: boolean): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv4") out.add(a.address);
      else if (withV6 && !a.address.toLowerCase().startsWith("fe80:")) out.add(a.address);
    }
  }
  return out;
}

/** Replies held back to go out together (one sendmmsg call) once the datagrams read so far are handled. */
const BATCH_MAX = 64;

function makeHandlers(o: UdpServerOptions, names: Map<Socket, string>) {
  // Scratch buffers shared by all sockets: handlers run one at a time.
  const ip = new Uint8Array(16);
  const { tracker, log } = o;
  // Replies are written into slots of one buffer and sent with sendMany after this turn of the event loop:
  // a burst of datagrams (Bun reads up to 8 per system call) is answered with one system call, not one each.
  const slots = new Uint8Array(BATCH_MAX * UDP_REPLY_BUDGET);
  const batch: (Uint8Array | number | string)[] = [];
  // Views made once and reused, so answering allocates nothing: one per slot, one per slot and reply length.
  const slotViews: Uint8Array[] = [];
  const replyViews: Uint8Array[][] = [];
  let batchSocket: Socket | null = null;
  let pending = 0;
  let flushQueued = false;
  /** Holds a reply in the next free slot, to go out with the batch; the caller has checked nothing is full. */
  const hold = (socket: Socket, out: Uint8Array, n: number, port: number, address: string) => {
    const views = (replyViews[pending] ??= []);
    batch.push((views[n] ??= out.subarray(0, n)), port, address);
    batchSocket = socket;
    pending++;
    if (!flushQueued) {
      flushQueued = true;
      setImmediate(endOfTurn);
    }
  };
  const slotOf = (socket: Socket): Uint8Array => {
    if (pending === BATCH_MAX || (batchSocket !== null && batchSocket !== socket)) flush(); // (never drains)
    return (slotViews[pending] ??= slots.subarray(pending * UDP_REPLY_BUDGET, (pending + 1) * UDP_REPLY_BUDGET));
  };
  const flush = () => {
    flushQueued = false;
    if (pending === 0) return;
    try {
      sendBatch(batchSocket!, batch, log);
    } catch (err) {
      o.faults.caught("udp send", err);
    } finally {
      batch.length = 0;
      pending = 0;
      batchSocket = null;
    }
  };
  /**
   * The batch goes out at the end of the turn. With --workers the thread, awake anyway, then takes what other
   * threads handed it meanwhile, without a wake-up (see workers/mesh.ts). Only here: a drain inside `slotOf`'s
   * flush would fill the batch under the caller's feet.
   */
  const endOfTurn = () => {
    flush();
    o.endOfTurn?.();
  };
  /** A reply made elsewhere (another thread's), copied into the batch. */
  const send = (socket: Socket, data: Uint8Array, at: number, length: number, port: number, address: string) => {
    if (length === 0 || length > UDP_REPLY_BUDGET) return;
    const slot = slotOf(socket);
    for (let i = 0; i < length; i++) slot[i] = data[at + i];
    hold(socket, slot, length, port, address);
  };
  let read = 0;
  return {
    get read() {
      return read;
    },
    send,
    data(socket: Socket, packet: Buffer, port: number, address: string) {
      read++;
      if (port === 0) return; // cannot be answered
      try {
        const ipLen = parseIp(address, ip);
        if (ipLen === 0) return;
        const out = slotOf(socket);
        const now = o.now();
        const n = tracker.handle(packet, ip, ipLen, now, out);
        if (n === FORWARD) {
          const from: UdpSource = { socket: names.get(socket) ?? "", port, address };
          o.forward!(
            tracker.forwardTo,
            packet,
            ip,
            ipLen,
            now,
            (data, at, length) => send(socket, data, at, length, port, address),
            from,
          );
          return;
        }
        if (n === 0) return;
        hold(socket, out, n, port, address);
      } catch (err) {
        // A bug, not bad input: bad input is answered or dropped by the tracker. Keep serving.
        o.faults.caught("udp handler", err);
      }
    },
    error(...args: unknown[]) {
      const err = args[args.length - 1];
      // ICMP errors from clients that went away are routine on a public tracker.
      log.debug("udp socket error", { err: errorText(err) });
    },
  };
}

/**
 * Sends [data, port, address, ...] in one call. A pending ICMP error (a client that went away) stops the
 * call at the reply it hits, or makes it throw, and is consumed by it: the rest is tried once more. What
 * still does not go (a full send buffer) is dropped, as the kernel would drop it.
 */
function sendBatch(socket: Socket, batch: (Uint8Array | number | string)[], log: Logger): void {
  let done = 0;
  for (let attempt = 0; attempt < 2 && done * 3 < batch.length; attempt++) {
    try {
      done += socket.sendMany(done === 0 ? batch : batch.slice(done * 3));
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (!RETRYABLE.has(code)) {
        log.debug("udp send failed", { code, err: errorText(err) });
        return;
      }
    }
  }
  if (done * 3 < batch.length) log.debug("udp replies dropped", { dropped: batch.length / 3 - done });
}
