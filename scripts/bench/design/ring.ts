// Design prototype B, shard ownership (issue 18): a single-producer single-consumer ring of variable-length
// messages in a SharedArrayBuffer, one ring each way between two Workers. Worker A (the socket side) hands
// ~80-byte requests to Worker B (the owner), which answers each with a ~300-byte reply on the other ring.
//
//   bun scripts/bench/design/ring.ts [--count 200000] [--rounds 3]
//
// Modes (rounds interleaved, medians):
// - busy-1 / busy-32: both sides poll the ring in a loop (an event loop that checks after each batch of its own
//   work); A hands over 1 or 32 requests, then waits for their replies. Reports the ns each side spends in ring
//   work per message (write request + read reply on A, read request + write reply on B), timed only around
//   non-empty work, and the round trip per message.
// - wait-1 / wait-32: B is idle and sleeps in `await Atomics.waitAsync(bell)`; A rings with Atomics.add +
//   Atomics.notify once per batch; replies come back the same way.
// - post-1 / post-32: the same with a MessagePort.postMessage per batch as the doorbell.
// For the idle modes the cost is the process's CPU time (/proc/self/stat, every thread) per message, since both
// Workers do nothing else.
// - inline-32: both sides in one thread, turn about: the ring operations' own CPU cost without cross-core cache
//   transfers or scheduling, which hold up on a busy machine (min of the rounds is reported too).

import { argValue, MACHINE_NOTE, median, percentile, processCpuSeconds } from "./common.ts";

declare const self: Worker; // in a Worker: the global scope

const CAP = 1 << 16;
const HEAD = 0;
const TAIL = 16; // separate 64-byte lines for the producer's and the consumer's index
const BELL = 32;
const HDR_BYTES = 256;
const REQ_LEN = 80;
const REPLY_LEN = 300;

/** One direction: the producer owns head, the consumer owns tail; positions are byte offsets in [0, CAP). */
class Ring {
  readonly hdr: Int32Array;
  readonly i32: Int32Array;
  readonly bytes: Uint8Array;
  head = 0;
  tail = 0;
  /** Offset of the payload of the message last returned by read(). */
  at = 0;

  constructor(sab: SharedArrayBuffer) {
    this.hdr = new Int32Array(sab, 0, HDR_BYTES / 4);
    this.i32 = new Int32Array(sab, HDR_BYTES, CAP / 4);
    this.bytes = new Uint8Array(sab, HDR_BYTES, CAP);
  }

  static create(): SharedArrayBuffer {
    return new SharedArrayBuffer(HDR_BYTES + CAP);
  }

  /** Room for a message of len bytes: its payload offset, or -1 if the ring is full. Then publish(). */
  reserve(len: number): number {
    let h = this.head;
    const t = Atomics.load(this.hdr, TAIL);
    const need = 4 + ((len + 3) & ~3);
    const free = (t - h - 4 + CAP) % CAP;
    const skip = h + need > CAP ? CAP - h : 0;
    if (skip + need > free) return -1;
    if (skip > 0) (this.i32[h >> 2] = -1), (h = 0); // wrap marker: the message starts again at 0
    this.i32[h >> 2] = len;
    this.head = (h + need) % CAP;
    return h + 4;
  }

  /** Makes every reserved message visible to the consumer (one atomic store per batch). */
  publish(): void {
    Atomics.store(this.hdr, HEAD, this.head);
  }

  /** Length of the next message (payload at this.at), or -1 if none. Call release() after a batch. */
  read(): number {
    let t = this.tail;
    if (t === Atomics.load(this.hdr, HEAD)) return -1;
    let len = this.i32[t >> 2];
    if (len === -1) (t = 0), (len = this.i32[0]);
    this.at = t + 4;
    this.tail = (t + 4 + ((len + 3) & ~3)) % CAP;
    return len;
  }

  release(): void {
    Atomics.store(this.hdr, TAIL, this.tail);
  }
}

type Doorbell = "busy" | "wait" | "post";

interface Job {
  role: "A" | "B";
  bell: Doorbell;
  batch: number;
  count: number;
  req: SharedArrayBuffer;
  rep: SharedArrayBuffer;
  port: MessagePort;
}

interface AResult {
  /** Median over segments of ns per message: writing requests (with the doorbell) + reading replies. */
  sideNsPerMsg: number;
  rttUs: number[]; // p50, p99
  wallMs: number;
}

interface BResult {
  /** Median over segments of ns per message: reading requests + writing replies (with the doorbell). */
  sideNsPerMsg: number;
}

if (Bun.isMainThread) await main();
else {
  self.onmessage = async (e: MessageEvent<Job>) => {
    const job = e.data;
    postMessage(job.role === "A" ? await sideA(job) : await sideB(job));
  };
}

/** Waits until the ring's consumer has something, by the job's doorbell. */
function makeWaiter(job: Job, ring: Ring): () => Promise<void> {
  if (job.bell === "wait") {
    return async () => {
      const v = Atomics.load(ring.hdr, BELL);
      if (Atomics.load(ring.hdr, HEAD) !== ring.tail) return;
      const w = Atomics.waitAsync(ring.hdr, BELL, v);
      if (w.async) await w.value;
    };
  }
  let wake: (() => void) | null = null;
  let pending = 0;
  job.port.onmessage = () => {
    pending++;
    wake?.();
  };
  return () => {
    if (pending > 0 || Atomics.load(ring.hdr, HEAD) !== ring.tail) {
      pending = 0;
      return Promise.resolve();
    }
    return new Promise<void>((r) => {
      wake = () => {
        wake = null;
        pending = 0;
        r();
      };
    });
  };
}

function ring(job: Job, ringOut: Ring): void {
  if (job.bell === "wait") {
    Atomics.add(ringOut.hdr, BELL, 1);
    Atomics.notify(ringOut.hdr, BELL);
  } else if (job.bell === "post") job.port.postMessage(0);
}

async function sideA(job: Job): Promise<AResult> {
  const out = new Ring(job.req);
  const back = new Ring(job.rep);
  const waitReply = job.bell === "busy" ? null : makeWaiter(job, back);
  const sent = new Float64Array(job.count);
  const rtt = new Float64Array(job.count);
  const request = new Uint8Array(REQ_LEN).fill(7);
  const view = new DataView(out.bytes.buffer, out.bytes.byteOffset);
  const backView = new DataView(back.bytes.buffer, back.bytes.byteOffset);
  // Per-segment costs (ns per message), so a segment the OS preempted does not swamp the figure: medians.
  const writeNs: number[] = [];
  const readNs: number[] = [];
  let done = 0;
  const t0 = performance.now();
  for (let k = 0; k < job.count; ) {
    const n = Math.min(job.batch, job.count - k);
    const w0 = performance.now();
    for (let j = 0; j < n; j++) {
      const at = out.reserve(REQ_LEN);
      if (at < 0) throw new Error("request ring full");
      out.bytes.set(request, at);
      view.setUint32(at, k + j, true); // the transaction id stands in for the whole request
      sent[k + j] = w0;
    }
    out.publish();
    if (job.bell !== "busy") ring(job, out);
    writeNs.push(((performance.now() - w0) * 1e6) / n);
    k += n;
    while (done < k) {
      if (waitReply !== null) await waitReply();
      const r0 = performance.now();
      let got = 0;
      for (let len = back.read(); len >= 0; len = back.read()) {
        const seq = backView.getUint32(back.at, true);
        rtt[seq] = r0 - sent[seq];
        got++;
      }
      if (got > 0) {
        back.release();
        done += got;
        readNs.push(((performance.now() - r0) * 1e6) / got);
      }
    }
  }
  const wallMs = performance.now() - t0;
  const stop = out.reserve(4); // the stop message: seq 0xffffffff
  view.setUint32(stop, 0xffffffff, true);
  out.publish();
  if (job.bell !== "busy") ring(job, out);
  rtt.sort();
  return {
    sideNsPerMsg: median(writeNs) + median(readNs),
    rttUs: [percentile(rtt, 50) * 1000, percentile(rtt, 99) * 1000],
    wallMs,
  };
}

async function sideB(job: Job): Promise<BResult> {
  const inbox = new Ring(job.req);
  const out = new Ring(job.rep);
  const waitRequest = job.bell === "busy" ? null : makeWaiter(job, inbox);
  const template = new Uint8Array(REPLY_LEN).fill(9);
  const inView = new DataView(inbox.bytes.buffer, inbox.bytes.byteOffset);
  const segNs: number[] = [];
  for (;;) {
    if (waitRequest !== null) await waitRequest();
    const t0 = performance.now();
    let got = 0;
    let stop = false;
    for (let len = inbox.read(); len >= 0; len = inbox.read()) {
      const seq = inView.getUint32(inbox.at, true);
      if (seq === 0xffffffff) {
        stop = true;
        break;
      }
      const at = out.reserve(REPLY_LEN);
      if (at < 0) throw new Error("reply ring full");
      out.bytes.set(template, at);
      out.bytes[at] = inbox.bytes[inbox.at]; // the transaction id back
      out.bytes[at + 1] = inbox.bytes[inbox.at + 1];
      out.bytes[at + 2] = inbox.bytes[inbox.at + 2];
      out.bytes[at + 3] = inbox.bytes[inbox.at + 3];
      got++;
    }
    if (got > 0) {
      inbox.release();
      out.publish();
      if (job.bell !== "busy") ring(job, out);
      segNs.push(((performance.now() - t0) * 1e6) / got);
    }
    if (stop) break;
  }
  return { sideNsPerMsg: segNs.length === 0 ? NaN : median(segNs) };
}

interface Run {
  mode: string;
  aNs: number;
  bNs: number;
  p50: number;
  p99: number;
  cpuNsPerMsg: number;
  msgsPerSec: number;
}

async function runMode(bell: Doorbell, batch: number, count: number): Promise<Run> {
  const req = Ring.create();
  const rep = Ring.create();
  const channel = new MessageChannel();
  const a = new Worker(import.meta.url);
  const b = new Worker(import.meta.url);
  const result = <T>(w: Worker) =>
    new Promise<T>((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(String(e.message)));
    });
  const rb = result<BResult>(b);
  const ra = result<AResult>(a);
  await Bun.sleep(200); // both Workers loaded before the clock starts
  const cpu0 = processCpuSeconds();
  b.postMessage({ role: "B", bell, batch, count, req, rep, port: channel.port2 } satisfies Job, [channel.port2]);
  a.postMessage({ role: "A", bell, batch, count, req, rep, port: channel.port1 } satisfies Job, [channel.port1]);
  const [ar, br] = await Promise.all([ra, rb]);
  const cpu = processCpuSeconds() - cpu0;
  a.terminate();
  b.terminate();
  return {
    mode: `${bell}-${batch}`,
    aNs: ar.sideNsPerMsg,
    bNs: br.sideNsPerMsg,
    p50: ar.rttUs[0],
    p99: ar.rttUs[1],
    cpuNsPerMsg: (cpu * 1e9) / count,
    msgsPerSec: count / (ar.wallMs / 1000),
  };
}

/** Both ends in this thread: A writes 32 requests, B answers them, A reads the replies; each side timed. */
function inline(count: number, batch = 32): Run {
  const req = new Ring(Ring.create());
  const rep = new Ring(Ring.create());
  const request = new Uint8Array(REQ_LEN).fill(7);
  const template = new Uint8Array(REPLY_LEN).fill(9);
  const reqView = new DataView(req.bytes.buffer, req.bytes.byteOffset);
  const repView = new DataView(rep.bytes.buffer, rep.bytes.byteOffset);
  let aMs = 0;
  let bMs = 0;
  let check = 0;
  for (let k = 0; k < count; k += batch) {
    const t0 = performance.now();
    for (let j = 0; j < batch; j++) {
      const at = req.reserve(REQ_LEN);
      req.bytes.set(request, at);
      reqView.setUint32(at, k + j, true);
    }
    req.publish();
    const t1 = performance.now();
    for (let len = req.read(); len >= 0; len = req.read()) {
      const at = rep.reserve(REPLY_LEN);
      rep.bytes.set(template, at);
      rep.bytes[at] = req.bytes[req.at];
      rep.bytes[at + 1] = req.bytes[req.at + 1];
      rep.bytes[at + 2] = req.bytes[req.at + 2];
      rep.bytes[at + 3] = req.bytes[req.at + 3];
    }
    req.release();
    rep.publish();
    const t2 = performance.now();
    for (let len = rep.read(); len >= 0; len = rep.read()) check += repView.getUint32(rep.at, true);
    rep.release();
    const t3 = performance.now();
    aMs += t1 - t0 + (t3 - t2);
    bMs += t2 - t1;
  }
  if (check === 0) throw new Error("no replies");
  return {
    mode: "inline-32",
    aNs: (aMs * 1e6) / count,
    bNs: (bMs * 1e6) / count,
    p50: NaN,
    p99: NaN,
    cpuNsPerMsg: ((aMs + bMs) * 1e6) / count,
    msgsPerSec: count / ((aMs + bMs) / 1000),
  };
}

async function main(): Promise<void> {
  const count = argValue("count", 200_000);
  const rounds = argValue("rounds", 3);
  console.log(
    `ring: ${REQ_LEN}-byte requests, ${REPLY_LEN}-byte replies, ${count} per run, ${rounds} rounds; ${MACHINE_NOTE}`,
  );
  const modes: [Doorbell, number][] = [
    ["busy", 1],
    ["busy", 32],
    ["wait", 1],
    ["wait", 32],
    ["post", 1],
    ["post", 32],
  ];
  const runs: Run[] = [];
  inline(count); // JIT warm-up
  for (let round = 1; round <= rounds; round++) {
    const r = inline(count * 5);
    runs.push(r);
    console.error(`round ${round} inline-32: A ${r.aNs.toFixed(0)} ns/msg, B ${r.bNs.toFixed(0)} ns/msg`);
    for (const [bell, batch] of modes) {
      const n = batch === 1 && bell !== "busy" ? Math.min(count, 50_000) : count;
      const r = await runMode(bell, batch, n);
      runs.push(r);
      console.error(
        `round ${round} ${r.mode}: A ${r.aNs.toFixed(0)} ns/msg, B ${r.bNs.toFixed(0)} ns/msg, rtt p50 ${r.p50.toFixed(1)} us p99 ${r.p99.toFixed(1)} us, process CPU ${r.cpuNsPerMsg.toFixed(0)} ns/msg, ${Math.round(r.msgsPerSec)} msg/s`,
      );
    }
  }
  console.log(
    "\n| mode | A: write request + read reply, ns/msg | B: read request + write reply, ns/msg | round trip p50 | p99 | process CPU ns/msg | msgs/s |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const inl = runs.filter((r) => r.mode === "inline-32");
  console.log(
    `| inline-32 (one thread) | ${median(inl.map((r) => r.aNs)).toFixed(0)} (min ${Math.min(...inl.map((r) => r.aNs)).toFixed(0)}) | ${median(inl.map((r) => r.bNs)).toFixed(0)} (min ${Math.min(...inl.map((r) => r.bNs)).toFixed(0)}) | - | - | ${median(inl.map((r) => r.cpuNsPerMsg)).toFixed(0)} | - |`,
  );
  for (const [bell, batch] of modes) {
    const rs = runs.filter((r) => r.mode === `${bell}-${batch}`);
    const m = (f: (r: Run) => number) => median(rs.map(f));
    console.log(
      `| ${bell}-${batch} | ${m((r) => r.aNs).toFixed(0)} | ${m((r) => r.bNs).toFixed(0)} | ${m((r) => r.p50).toFixed(1)} us | ${m((r) => r.p99).toFixed(1)} us | ${m((r) => r.cpuNsPerMsg).toFixed(0)} | ${Math.round(m((r) => r.msgsPerSec))} |`,
    );
  }
}
