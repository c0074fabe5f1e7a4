// Design prototype A, shared memory (issue 18): a packed swarm table in one SharedArrayBuffer, 64 shards, each
// with a spin lock word (Atomics.compareExchange to take, Atomics.store to release) and an open-addressing table
// of swarms with up to 64 peer slots. An announce-like op: lock the shard, find the swarm by its 20-byte hash
// (insert if new), insert or refresh the peer, copy up to 50 other peers into a reply buffer, unlock.
// Runs the same ops in 1 Worker and in 2 Workers at once, for each request shape, rounds interleaved.
//
//   bun scripts/bench/design/shm-table.ts [--torrents 100000] [--ops 2000000] [--rounds 3]
//
// Reports per thread ns/op (wall), process CPU ns/op (/proc/self/stat over all threads), and contention: the
// share of lock acquisitions that had to spin, on the hottest shard and overall, and the share of thread time
// spent spinning. On a 2-CPU machine shared with other jobs two Workers are not always on CPU at the same time,
// so the contention measured here is a lower bound of what 2 dedicated cores would see.

import {
  argValue,
  MACHINE_NOTE,
  median,
  processCpuSeconds,
  requestStream,
  SHAPES,
  type Shape,
  torrentHashes,
} from "./common.ts";

declare const self: Worker; // in a Worker: the global scope

const SHARDS = 64;
const PEER_SLOTS = 64;
const MAX_REPLY = 50;
const SLOT = 8 + 2 * PEER_SLOTS; // int32s: hash[5], count, next-replace, used, then (key, value) per peer
const LOCK_STRIDE = 16; // one 64-byte line per lock word

interface Job {
  ctl: SharedArrayBuffer;
  tab: SharedArrayBuffer;
  slotsPerShard: number;
  torrents: number;
  shape: Shape;
  ops: number;
  seed: number;
  prefill: boolean;
  barrier: SharedArrayBuffer;
}

interface JobResult {
  wallMs: number;
  spinMs: number;
  /** Spins of at most 10 us: waiting for a holder that was running (contention, not preemption). */
  shortSpinMs: number;
  longSpins: number;
  acq: number[];
  spun: number[];
  checksum: number;
}

if (Bun.isMainThread) await main();
else {
  self.onmessage = (e: MessageEvent<Job>) => postMessage(runJob(e.data));
}

function runJob(job: Job): JobResult {
  const ctl = new Int32Array(job.ctl);
  const tab = new Int32Array(job.tab);
  const barrier = new Int32Array(job.barrier);
  const bytes = torrentHashes(1, job.torrents);
  const hw = new Int32Array(bytes.buffer, bytes.byteOffset, job.torrents * 5);
  const mask = job.slotsPerShard - 1;
  const reply = new Int32Array(2 * MAX_REPLY);
  const acq = new Float64Array(SHARDS);
  const spun = new Float64Array(SHARDS);
  let spinMs = 0;
  let shortSpinMs = 0;
  let longSpins = 0;
  let checksum = 0;

  const announce = (t: number, key: number): number => {
    const b = t * 5;
    const w0 = hw[b];
    const shard = w0 & (SHARDS - 1);
    const li = shard * LOCK_STRIDE;
    if (Atomics.compareExchange(ctl, li, 0, 1) !== 0) {
      spun[shard]++;
      const t0 = performance.now();
      while (Atomics.compareExchange(ctl, li, 0, 1) !== 0) {}
      const d = performance.now() - t0;
      spinMs += d;
      if (d > 0.01) longSpins++;
      else shortSpinMs += d;
    }
    acq[shard]++;
    let s = hw[b + 1] & mask;
    let o = 0;
    for (;;) {
      o = (shard * job.slotsPerShard + s) * SLOT;
      if (tab[o + 7] === 0) {
        tab[o] = w0;
        tab[o + 1] = hw[b + 1];
        tab[o + 2] = hw[b + 2];
        tab[o + 3] = hw[b + 3];
        tab[o + 4] = hw[b + 4];
        tab[o + 5] = 0;
        tab[o + 6] = 0;
        tab[o + 7] = 1;
        break;
      }
      if (
        tab[o] === w0 &&
        tab[o + 1] === hw[b + 1] &&
        tab[o + 2] === hw[b + 2] &&
        tab[o + 3] === hw[b + 3] &&
        tab[o + 4] === hw[b + 4]
      )
        break;
      s = (s + 1) & mask;
    }
    const p = o + 8;
    const count = tab[o + 5];
    let self = -1;
    for (let i = 0; i < count; i++) {
      if (tab[p + 2 * i] === key) {
        self = i;
        break;
      }
    }
    if (self < 0) {
      if (count < PEER_SLOTS) (self = count), (tab[o + 5] = count + 1);
      else (self = tab[o + 6]), (tab[o + 6] = (self + 1) % PEER_SLOTS);
      tab[p + 2 * self] = key;
    }
    tab[p + 2 * self + 1] = key ^ 0x1ae1; // address and port, refreshed
    const n = tab[o + 5];
    let out = 0;
    for (let i = 0; i < n && out < MAX_REPLY; i++) {
      if (i === self) continue;
      reply[2 * out] = tab[p + 2 * i];
      reply[2 * out + 1] = tab[p + 2 * i + 1];
      out++;
    }
    Atomics.store(ctl, li, 0);
    return out;
  };

  const reqs = requestStream(job.shape, job.torrents, job.ops, job.seed);
  if (job.prefill) {
    // every peer of the udp/uniform shapes once, so swarms start at steady state
    const pre = requestStream(job.shape, job.torrents, 2 * job.torrents, job.seed + 1000);
    for (let k = 0; k < 2 * job.torrents; k++) announce(pre[2 * k], pre[2 * k + 1]);
  }
  for (let k = 0; k < 100_000; k++) checksum += announce(reqs[2 * k], reqs[2 * k + 1]); // JIT warm-up
  acq.fill(0);
  spun.fill(0);
  spinMs = 0;
  shortSpinMs = 0;
  longSpins = 0;
  Atomics.add(barrier, 1, 1);
  Atomics.notify(barrier, 1);
  Atomics.wait(barrier, 0, 0); // the main thread releases every Worker at once
  const t0 = performance.now();
  for (let k = 0; k < job.ops; k++) checksum += announce(reqs[2 * k], reqs[2 * k + 1]);
  const wallMs = performance.now() - t0;
  return { wallMs, spinMs, shortSpinMs, longSpins, acq: Array.from(acq), spun: Array.from(spun), checksum };
}

interface Run {
  shape: Shape;
  threads: number;
  nsPerOp: number;
  cpuNsPerOp: number;
  hotShardShare: number;
  hotSpunShare: number;
  spunShare: number;
  spinTimeShare: number;
  shortSpinTimeShare: number;
  longSpins: number;
}

async function runConfig(shape: Shape, threads: number, torrents: number, ops: number, round: number): Promise<Run> {
  let slotsPerShard = 1;
  while (slotsPerShard < (2 * torrents) / SHARDS) slotsPerShard <<= 1;
  const ctl = new SharedArrayBuffer(SHARDS * LOCK_STRIDE * 4);
  const tab = new SharedArrayBuffer(SHARDS * slotsPerShard * SLOT * 4);
  const barrier = new SharedArrayBuffer(8);
  const bar = new Int32Array(barrier);
  const workers = Array.from({ length: threads }, () => new Worker(import.meta.url));
  const results = workers.map(
    (w, i) =>
      new Promise<JobResult>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(new Error(String(e.message)));
        w.postMessage({
          ctl,
          tab,
          slotsPerShard,
          torrents,
          shape,
          ops,
          seed: 100 * round + i,
          prefill: i === 0,
          barrier,
        } satisfies Job);
      }),
  );
  while (Atomics.load(bar, 1) < threads) await Bun.sleep(5);
  const cpu0 = processCpuSeconds();
  Atomics.store(bar, 0, 1);
  Atomics.notify(bar, 0);
  const rs = await Promise.all(results);
  const cpu = processCpuSeconds() - cpu0;
  for (const w of workers) w.terminate();
  const acq = new Float64Array(SHARDS);
  const spun = new Float64Array(SHARDS);
  for (const r of rs) for (let s = 0; s < SHARDS; s++) (acq[s] += r.acq[s]), (spun[s] += r.spun[s]);
  let hot = 0;
  for (let s = 1; s < SHARDS; s++) if (acq[s] > acq[hot]) hot = s;
  const totalAcq = acq.reduce((a, b) => a + b, 0);
  const totalSpun = spun.reduce((a, b) => a + b, 0);
  const wall = rs.reduce((a, r) => a + r.wallMs, 0);
  return {
    shape,
    threads,
    nsPerOp: median(rs.map((r) => (r.wallMs * 1e6) / ops)),
    cpuNsPerOp: (cpu * 1e9) / (ops * threads),
    hotShardShare: acq[hot] / totalAcq,
    hotSpunShare: spun[hot] / acq[hot],
    spunShare: totalSpun / totalAcq,
    spinTimeShare: rs.reduce((a, r) => a + r.spinMs, 0) / wall,
    shortSpinTimeShare: rs.reduce((a, r) => a + r.shortSpinMs, 0) / wall,
    longSpins: rs.reduce((a, r) => a + r.longSpins, 0),
  };
}

async function main(): Promise<void> {
  const torrents = argValue("torrents", 100_000);
  const ops = argValue("ops", 2_000_000);
  const rounds = argValue("rounds", 3);
  console.log(
    `shm-table: ${SHARDS} shards, ${torrents} torrents, ${ops} ops per thread, ${rounds} rounds; ${MACHINE_NOTE}`,
  );
  const runs: Run[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const shape of SHAPES) {
      for (const threads of [1, 2]) {
        const r = await runConfig(shape, threads, torrents, ops, round);
        runs.push(r);
        console.error(
          `round ${round} ${shape} x${threads}: ${r.nsPerOp.toFixed(0)} ns/op, cpu ${r.cpuNsPerOp.toFixed(0)} ns/op, hot shard ${(100 * r.hotShardShare).toFixed(2)}% spun ${(100 * r.hotSpunShare).toFixed(2)}%, all spun ${(100 * r.spunShare).toFixed(3)}%, spin time ${(100 * r.spinTimeShare).toFixed(2)}% (spins <= 10 us ${(100 * r.shortSpinTimeShare).toFixed(3)}%), long spins ${r.longSpins}`,
        );
      }
    }
  }
  console.log(
    "\n| shape | threads | ns/op per thread | CPU ns/op | hottest shard's share of ops | its acquisitions that spun | all acquisitions that spun | spin time share | of it in spins <= 10 us | spins > 10 us |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const shape of SHAPES) {
    for (const threads of [1, 2]) {
      const rs = runs.filter((r) => r.shape === shape && r.threads === threads);
      const m = (f: (r: Run) => number) => median(rs.map(f));
      console.log(
        `| ${shape} | ${threads} | ${m((r) => r.nsPerOp).toFixed(0)} | ${m((r) => r.cpuNsPerOp).toFixed(0)} | ${(100 * m((r) => r.hotShardShare)).toFixed(2)}% | ${(100 * m((r) => r.hotSpunShare)).toFixed(2)}% | ${(100 * m((r) => r.spunShare)).toFixed(3)}% | ${(100 * m((r) => r.spinTimeShare)).toFixed(2)}% | ${(100 * m((r) => r.shortSpinTimeShare)).toFixed(3)}% | ${m((r) => r.longSpins)} |`,
      );
    }
  }
}
