// How the threads of one tracker (the main thread and its Workers, see pool.ts) hand each other requests for the
// info hashes they own, and the replies. One Ring per ordered pair of threads carries both this thread's
// requests to the other and its replies to the other's requests.
//
// Waking a thread that sleeps costs about 10 us of CPU (a futex, the event loop's wake-up, a promise: see
// BENCHMARKS.md, workers design), more than a whole UDP announce, so a busy pair must not ring each other per
// turn. Each thread drains its rings at the end of each of its own turns (`drain`, also called by the UDP
// server) and notes the time of its last drain in shared memory. A writer, at the end of its turn, leaves the
// messages for the other thread's next drain when that thread drained within the last BUSY_US (it is turning
// over fast: under load), and rings its doorbell otherwise (it may be asleep: a quiet tracker answers at once).
// LOOK_AGAIN_MS later the writer looks again: messages still waiting (that thread went idle right after) get
// the doorbell then, about a millisecond late. Under load a hand-off seldom costs a wake-up.
//
// A message: type (REQUEST or REPLY), kind (what the request is; the handlers are the kinds' owners), and an id
// that the requester's reply table turns back into whoever waits for it. A request whose reply does not come
// within REPLY_TIMEOUT_MS (the owner is gone, or its ring was full) is given up: its waiter hears `null`.
// A one-way message (`post`, type ONE_WAY) has no waiter and gets no reply.

import type { Faults } from "../faults.ts";
import { Ring } from "./ring.ts";

/** Bytes per ring: a few hundred replies of the largest kind (a 1,232-byte UDP answer). */
export const RING_BYTES = 256 * 1024;
const REQUEST = 1;
const REPLY = 2;
const ONE_WAY = 3;
/** type u8, kind u8, spare u16, id u32. */
const HEADER = 8;
/** In a reply's kind byte: the handler threw; the waiter hears null at once instead of after the timeout. */
const FAILED = 255;
export const REPLY_TIMEOUT_MS = 5_000;
const MAX_WAITING = 1 << 16;
/** A thread that drained this recently (microseconds) is busy: messages wait for its next drain. */
const BUSY_US = 200;
/** How soon a thread looks again at messages it left for a busy thread's next drain. */
const LOOK_AGAIN_MS = 1;
/** Milliseconds on one clock for every thread (each Worker's performance.now() has its own origin). */
const clock = () => performance.timeOrigin + performance.now();

/** The shared memory of a mesh of `count` threads, made once by the main thread and given to every Worker. */
export interface MeshMemory {
  count: number;
  /** rings[from * count + to]; null on the diagonal. */
  rings: (SharedArrayBuffer | null)[];
  /** One Int32 doorbell per thread. */
  bells: SharedArrayBuffer;
  /** One Float64 per thread: when it last drained (`clock`: how writers tell a busy thread from an idle one). */
  drains: SharedArrayBuffer;
}

export function meshMemory(count: number): MeshMemory {
  const rings: (SharedArrayBuffer | null)[] = [];
  for (let from = 0; from < count; from++)
    for (let to = 0; to < count; to++) rings.push(from === to ? null : Ring.memory(RING_BYTES));
  return { count, rings, bells: new SharedArrayBuffer(4 * count), drains: new SharedArrayBuffer(8 * count) };
}

/** Whoever waits for a reply: called once, with the reply's bytes (valid only during the call) or null. */
export type ReplyWaiter = (data: Uint8Array | null, at: number, length: number) => void;

/**
 * Answers a request of one kind: reads data[at, at + length) and writes its reply with `reply` (or nothing:
 * the requester then times out). Runs synchronously; the bytes are valid only during the call.
 */
export type RequestHandler = (from: number, data: Uint8Array, at: number, length: number, reply: Replier) => void;

/** Writes one reply: `begin` gives the offset to write `length` bytes at (-1: no room, drop it), `end` sends. */
export interface Replier {
  readonly data: Uint8Array;
  begin(length: number): number;
  end(): void;
}

export class Mesh {
  readonly self: number;
  readonly count: number;
  readonly #out: (Ring | null)[] = [];
  readonly #in: (Ring | null)[] = [];
  readonly #bells: Int32Array;
  readonly #drains: Float64Array;
  /** Per thread: the look-again timer, while armed. */
  readonly #lookAgain: (ReturnType<typeof setTimeout> | undefined)[] = [];
  /** Doorbells rung, and rings left for a busy thread's next drain, for /metrics and the benchmarks. */
  rung = 0;
  skipped = 0;
  readonly #handlers: (RequestHandler | undefined)[] = [];
  readonly #faults: Faults;
  /** Threads whose doorbell rings at the end of this turn. */
  readonly #dirty: boolean[] = [];
  #flushQueued = false;
  #stopped = false;
  // Waiters by id: slot in the low 16 bits, a generation above it so a late reply cannot reach a new waiter.
  readonly #waiters: (ReplyWaiter | null)[] = [];
  readonly #since: number[] = [];
  readonly #freeSlots: number[] = [];
  #generation = 0;
  readonly #ids: number[] = [];
  #sweep: ReturnType<typeof setInterval> | undefined;
  readonly #replier: (Replier & { to: number; id: number; oneWay: boolean; replied: boolean }) | null = null;
  /** Requests given up for want of room or of a reply, for /metrics. */
  dropped = 0;
  /** Requests handed to other threads, and other threads' requests answered here, for /metrics. */
  handed = 0;
  answered = 0;

  constructor(memory: MeshMemory, self: number, faults: Faults) {
    this.self = self;
    this.count = memory.count;
    this.#faults = faults;
    this.#bells = new Int32Array(memory.bells);
    this.#drains = new Float64Array(memory.drains);
    for (let other = 0; other < this.count; other++) {
      const out = memory.rings[self * this.count + other];
      const inn = memory.rings[other * this.count + self];
      this.#out.push(out === null ? null : new Ring(out));
      this.#in.push(inn === null ? null : new Ring(inn));
      this.#dirty.push(false);
    }
    this.#replier = this.#makeReplier();
  }

  /** Registers the handler of requests of `kind` (a small number, one per kind). */
  on(kind: number, handler: RequestHandler): void {
    this.#handlers[kind] = handler;
  }

  /** Starts listening for the doorbell and giving up on late replies. */
  start(): void {
    this.#listen();
    this.#sweep = this.#faults.every("worker reply timeouts", 1000, () => this.#expire(Date.now()));
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#sweep);
    for (const timer of this.#lookAgain) clearTimeout(timer);
    Atomics.add(this.#bells, this.self, 1);
    Atomics.notify(this.#bells, this.self); // ends the pending waitAsync
    for (let slot = 0; slot < this.#waiters.length; slot++) this.#giveUp(slot);
  }

  /**
   * Starts a request of `kind` to thread `to` with `length` bytes of body: returns the offset in
   * `dataTo(to)` to write the body at, or -1 when there is no room (the waiter has then already heard null).
   * Call `send(to)` once the body is written.
   */
  request(to: number, kind: number, length: number, waiter: ReplyWaiter): number {
    const ring = this.#out[to]!;
    const at = ring.reserve(HEADER + length);
    if (at < 0 || this.#stopped) {
      this.dropped++;
      waiter(null, 0, 0);
      return -1;
    }
    const id = this.#track(waiter);
    this.handed++;
    const d = ring.data;
    d[at] = REQUEST;
    d[at + 1] = kind;
    ring.view.setUint32(at + 4, id, true);
    return at + HEADER;
  }

  /**
   * Starts a one-way message of `kind` to thread `to`, with `length` bytes of body: the offset in `dataTo(to)`
   * to write it at, or -1 when there is no room (it is dropped and counted). Call `send(to)` once it is
   * written. Its handler gets a Replier whose `begin` says -1: nobody waits for a reply.
   */
  post(to: number, kind: number, length: number): number {
    const ring = this.#out[to]!;
    const at = ring.reserve(HEADER + length);
    if (at < 0 || this.#stopped) {
      this.dropped++;
      return -1;
    }
    this.handed++;
    const d = ring.data;
    d[at] = ONE_WAY;
    d[at + 1] = kind;
    ring.view.setUint32(at + 4, 0, true);
    return at + HEADER;
  }

  /** Bytes waiting in the ring to thread `to` (written, not yet read): how far behind it is. */
  queued(to: number): number {
    return this.#out[to]!.pending;
  }

  /** The bytes `request` and `post` offsets point into for thread `to`. */
  dataTo(to: number): Uint8Array {
    return this.#out[to]!.data;
  }

  send(to: number): void {
    this.#out[to]!.commit();
    this.#ring(to);
  }

  #ring(to: number): void {
    this.#dirty[to] = true;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    const now = clock();
    for (let to = 0; to < this.count; to++) {
      if (!this.#dirty[to]) continue;
      this.#dirty[to] = false;
      // (a plain read: a torn or stale time only means one doorbell more or one left to the check)
      if ((now - this.#drains[to]) * 1000 < BUSY_US) {
        this.skipped++; // busy: its next drain takes these too; look again soon in case it went idle
        this.#lookAgain[to] ??= setTimeout(this.#lookedAgain, LOOK_AGAIN_MS, to);
      } else this.#wake(to);
    }
    this.drain(); // this thread is awake anyway: whatever arrived meanwhile costs no wake-up
  };

  #wake(to: number): void {
    this.rung++;
    Atomics.add(this.#bells, to, 1);
    Atomics.notify(this.#bells, to, 1);
  }

  /** Messages left for a busy thread: still there, so it went idle; ring. */
  readonly #lookedAgain = (to: number): void => {
    this.#lookAgain[to] = undefined;
    try {
      if (this.#out[to]!.pending > 0 && !this.#stopped) this.#wake(to);
    } catch (err) {
      this.#faults.caught("worker doorbell", err);
    }
  };

  /** Handles everything waiting in this thread's incoming rings. */
  drain(): void {
    this.#drains[this.self] = clock();
    for (let from = 0; from < this.count; from++) {
      const ring = this.#in[from];
      if (ring === null || ring.pending === 0) continue;
      let at = ring.next();
      while (at >= 0) {
        const length = ring.lengthAt(at);
        try {
          this.#dispatch(from, ring, at, length);
        } catch (err) {
          this.#faults.caught("worker message", err);
        }
        at = ring.next();
      }
      ring.release();
    }
  }

  #dispatch(from: number, ring: Ring, at: number, length: number): void {
    const d = ring.data;
    const id = ring.view.getUint32(at + 4, true);
    if (d[at] === REPLY) {
      const slot = id & 0xffff;
      const waiter = this.#waiters[slot];
      if (waiter === null || waiter === undefined || this.#ids[slot] !== id) return; // given up already
      this.#release(slot);
      if (d[at + 1] === FAILED) waiter(null, 0, 0);
      else waiter(d, at + HEADER, length - HEADER);
      return;
    }
    const handler = this.#handlers[d[at + 1]];
    if (handler === undefined) return;
    this.answered++;
    const r = this.#replier!;
    r.to = from;
    r.id = id;
    r.oneWay = d[at] === ONE_WAY;
    r.replied = false;
    try {
      handler(from, d, at + HEADER, length - HEADER, r);
    } catch (err) {
      // A bug in the handler: the requester hears at once that no answer is coming (drain logs the throw).
      if (!r.oneWay && !r.replied) {
        const w = r.begin(0);
        if (w >= 0) {
          r.data[w - HEADER + 1] = FAILED;
          r.end();
        }
      }
      throw err;
    }
  }

  #makeReplier(): Replier & { to: number; id: number; oneWay: boolean; replied: boolean } {
    const mesh = this;
    return {
      to: 0,
      id: 0,
      oneWay: false,
      replied: false,
      get data() {
        return mesh.#out[this.to]!.data;
      },
      begin(length: number): number {
        if (this.oneWay) return -1;
        this.replied = true;
        const ring = mesh.#out[this.to]!;
        const at = ring.reserve(HEADER + length);
        if (at < 0) {
          mesh.dropped++;
          return -1;
        }
        ring.data[at] = REPLY;
        ring.data[at + 1] = 0;
        ring.view.setUint32(at + 4, this.id, true);
        return at + HEADER;
      },
      end(): void {
        mesh.send(this.to);
      },
    };
  }

  #listen(): void {
    if (this.#stopped) return;
    const seen = Atomics.load(this.#bells, this.self);
    this.drain();
    const wait = Atomics.waitAsync(this.#bells, this.self, seen);
    if (wait.async) wait.value.then(this.#woken);
    else setImmediate(this.#woken); // rung meanwhile: drain again, but let I/O in first
  }

  readonly #woken = (): void => {
    try {
      this.#listen();
    } catch (err) {
      this.#faults.caught("worker doorbell", err);
    }
  };

  #track(waiter: ReplyWaiter): number {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#waiters.length;
      if (slot >= MAX_WAITING) {
        // Every slot waits: the oldest is long overdue by now; reuse it.
        slot = this.#oldest();
        this.#giveUp(slot);
        this.#freeSlots.pop();
      } else {
        this.#waiters.push(null);
        this.#since.push(0);
        this.#ids.push(0);
      }
    }
    this.#generation = (this.#generation + 1) & 0xffff;
    const id = ((this.#generation << 16) | slot) >>> 0;
    this.#waiters[slot] = waiter;
    this.#ids[slot] = id;
    this.#since[slot] = Date.now();
    return id;
  }

  #release(slot: number): void {
    this.#waiters[slot] = null;
    this.#ids[slot] = 0;
    this.#freeSlots.push(slot);
  }

  #giveUp(slot: number): void {
    const waiter = this.#waiters[slot];
    if (waiter === null || waiter === undefined) return;
    this.#release(slot);
    this.dropped++;
    try {
      waiter(null, 0, 0);
    } catch (err) {
      this.#faults.caught("worker reply timeout", err);
    }
  }

  #oldest(): number {
    let best = 0;
    for (let slot = 1; slot < this.#since.length; slot++) if (this.#since[slot] < this.#since[best]) best = slot;
    return best;
  }

  #expire(now: number): void {
    for (let slot = 0; slot < this.#waiters.length; slot++) {
      if (this.#waiters[slot] !== null && now - this.#since[slot] > REPLY_TIMEOUT_MS) this.#giveUp(slot);
    }
  }
}
