// --workers on Linux: the main thread asks the kernel to deliver each UDP announce or scrape to the thread that
// owns its info hash (steering-program.ts), so that it needs no hand-off (udp-forwarding.ts stays the path for
// whatever arrives elsewhere). Each local address the threads bind is a SO_REUSEPORT group of its own; the
// kernel numbers a group's sockets in the order they joined and fills a leaver's place with the last one, so
// the order is learned rather than assumed: a thread that reads a datagram another owns reports the key it
// read, which tells where that key's index really is, and the program is rewritten with the two swapped.
// Correctness never depends on this: a datagram steered wrong is handed over as before.

import { dlopen, FFIType, ptr } from "bun:ffi";
import { errorText, type Logger } from "../logger.ts";
import { steeringProgram } from "./steering-program.ts";

const SOL_SOCKET = 1;
const SO_ATTACH_REUSEPORT_CBPF = 51;
/** Reports from before a rewrite may still arrive just after it; they are not believed for this long. */
const SETTLE_MS = 50;

interface Group {
  fd: number;
  /** The kernel's index of the socket of the thread that owns key k, as far as is known. */
  indexOf: number[];
  settledAt: number;
}

type Attach = (fd: number, program: Uint8Array) => string | null;

export class UdpSteering {
  readonly #count: number;
  readonly #log: Logger;
  readonly #attach: Attach;
  readonly #groups = new Map<string, Group>();
  /** Whether reports are believed (false while a thread is down: the kernel then spreads its keys by sender). */
  readonly #complete: () => boolean;
  #broken = false;

  constructor(count: number, log: Logger, complete: () => boolean, attach: Attach = attachProgram) {
    this.#count = count;
    this.#log = log;
    this.#complete = complete;
    this.#attach = attach;
  }

  /** Whether the kernel steers (false when it refused the program, or bun:ffi is unavailable). */
  get active(): boolean {
    return !this.#broken && this.#groups.size > 0;
  }

  /**
   * The main thread bound socket `fd` for local address `name` ("" for the listen socket), or closed it (null),
   * as the UDP server's onSocket says.
   */
  socket(name: string, fd: number | null): void {
    if (fd === null) {
      this.#groups.delete(name);
      return;
    }
    if (this.#broken || fd < 0) return;
    // The main thread binds first; the others join in whatever order they start: the identity until reports
    // say otherwise.
    const group = { fd, indexOf: Array.from({ length: this.#count }, (_, k) => k), settledAt: 0 };
    this.#groups.set(name, group);
    this.#write(name, group, performance.now());
  }

  /** Thread `thread` read, on its socket for `name`, a datagram steered by `key`, which another thread owns. */
  landed(name: string, key: number, thread: number): void {
    const group = this.#groups.get(name);
    const now = performance.now();
    if (group === undefined || now < group.settledAt || key === thread || !this.#complete()) return;
    const { indexOf } = group;
    // The index key k is steered to holds `thread`'s socket: steer `thread`'s own key there instead.
    const index = indexOf[key];
    indexOf[key] = indexOf[thread];
    indexOf[thread] = index;
    this.#log.debug("udp steering: learned a socket's place", { address: name || "(listen)", worker: thread, index });
    this.#write(name, group, now);
  }

  #write(name: string, group: Group, now: number): void {
    const failure = this.#attach(group.fd, steeringProgram(group.indexOf));
    group.settledAt = now + SETTLE_MS;
    if (failure === null) return;
    this.#broken = true;
    this.#groups.clear();
    this.#log.warn("udp steering unavailable; requests for another thread's torrents are handed over instead", {
      address: name || "(listen)",
      err: failure,
    });
  }
}

let setsockopt: ((fd: number, level: number, name: number, value: number, len: number) => number) | null = null;

/** SO_ATTACH_REUSEPORT_CBPF on `fd`; null when done, else why not. */
function attachProgram(fd: number, program: Uint8Array): string | null {
  try {
    setsockopt ??= dlopen(process.platform === "linux" ? "libc.so.6" : "libc", {
      setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    }).symbols.setsockopt as unknown as typeof setsockopt;
    // struct sock_fprog { unsigned short len; struct sock_filter *filter; } on a 64-bit host.
    const fprog = new Uint8Array(16);
    const v = new DataView(fprog.buffer);
    v.setUint16(0, program.length / 8, true);
    v.setBigUint64(8, BigInt(ptr(program)), true);
    const rc = setsockopt!(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, ptr(fprog), 16);
    return rc === 0 ? null : "the kernel refused the program (setsockopt SO_ATTACH_REUSEPORT_CBPF)";
  } catch (err) {
    return errorText(err);
  }
}

/** How often a thread reports the same misplaced key on the same socket (the report is a message to main). */
const REPORT_EVERY_MS = 1_000;

/**
 * A thread's side: `report(name, key)` for each datagram it hands over whose steering key is not its own;
 * `send` passes at most one report per socket and key a second on.
 */
export function landedReporter(count: number, send: (name: string, key: number) => void) {
  const last = new Map<string, Float64Array>();
  return (name: string, key: number): void => {
    let times = last.get(name);
    if (times === undefined) last.set(name, (times = new Float64Array(count).fill(-REPORT_EVERY_MS)));
    const now = performance.now();
    if (now - times[key] < REPORT_EVERY_MS) return;
    times[key] = now;
    send(name, key);
  };
}
