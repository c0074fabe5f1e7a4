// The main thread's side of --workers: starts threads 1..N-1 (Bun Workers running worker-main.ts), restarts
// one that dies, carries their logs and their operator requests (anything on the public port that is not an
// announce, a scrape or a WebSocket: /api, /metrics, the dashboard, the admin API) to the main thread, and
// stops them on shutdown. The swarms are not here: each thread owns its share (mesh.ts); this is the control
// plane, a few messages a second.
//
// A thread that throws inside a request or a timer is caught by its own fault boundary and keeps serving. A
// thread that dies (an error nothing caught, or the runtime ending it) is logged once and started again after
// a back-off; the swarms it owned start empty, and their peers come back with their next announce (every
// other thread's swarms are untouched). Until it is back, requests for its torrents time out in the mesh and
// are answered "busy" (HTTP) or not at all (UDP: the client retries).

import type { Config, LogLevel } from "../../config/config.ts";
import type { FrozenTable } from "../../core/torrent-table.ts";
import type { Faults } from "../faults.ts";
import { errorText, type Logger } from "../logger.ts";
import { configToWire } from "./config-wire.ts";
import type { MeshMemory } from "./mesh.ts";
import type { FromWorker, ToWorker, WireRequest, WireResponse } from "./messages.ts";

const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A thread that served this long before dying is restarted at once again. */
const HEALTHY_MS = 30_000;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface PoolOptions {
  count: number;
  config: Config;
  memory: MeshMemory;
  /** Ports the main thread bound (port 0 resolved): the others join them. */
  ports: { http: number; tls: number | null; udp: number | null };
  log: Logger;
  /** Writes a log line a thread made (it is already JSON, with its thread number). */
  writeLine: (line: string, level: LogLevel) => void;
  faults: Faults;
  /** Answers an operator request a thread received, as the main thread's own listener would. */
  operator: (req: WireRequest) => Promise<WireResponse>;
  /** Extra shared memory the threads need (rate limit budgets, shared limits), passed through as is. */
  shared: Record<string, SharedArrayBuffer>;
  /** A thread's report of a misplaced UDP datagram (udp-steering.ts). */
  landed: (thread: number, socket: string, key: number) => void;
  /** The access list a thread starting now takes (null: none). */
  accessShare: () => FrozenTable | null;
}

interface Thread {
  index: number;
  worker: Worker | null;
  startedAt: number;
  restarts: number;
  /** It ended while serving and is not serving again yet (the admin /healthz says "restarting"). */
  ended: boolean;
  ready: PromiseWithResolvers<void> | null;
  stopped: PromiseWithResolvers<void> | null;
  timer?: ReturnType<typeof setTimeout>;
}

export class WorkerPool {
  readonly #o: PoolOptions;
  readonly #threads: Thread[] = [];
  #stopping = false;
  /** Deaths since start, for /metrics. */
  deaths = 0;
  readonly #calls = new Map<number, (value: unknown) => void>();
  #nextCall = 1;

  constructor(o: PoolOptions) {
    this.#o = o;
    for (let index = 1; index < o.count; index++)
      this.#threads.push({ index, worker: null, startedAt: 0, restarts: 0, ended: false, ready: null, stopped: null });
  }

  /** Starts every thread; rejects with the first one's start error (a port it could not join, ...). */
  async start(): Promise<void> {
    await Promise.all(this.#threads.map((t) => this.#spawn(t)));
  }

  /** Threads serving now (the main thread included). */
  get running(): number {
    return 1 + this.#threads.filter(serving).length;
  }

  /** The other threads not serving now, for the admin /healthz: starting, or ended and waiting to be back. */
  get notServing(): { index: number; restarting: boolean }[] {
    return this.#threads.filter((t) => !serving(t)).map((t) => ({ index: t.index, restarting: t.ended }));
  }

  /** Sends `message` to every running thread. */
  broadcast(message: ToWorker): void {
    for (const t of this.#threads) if (t.worker !== null) t.worker.postMessage(message);
  }

  /**
   * Asks every running thread for something (see messages.ts `call`) and resolves with their answers (null for
   * a thread that did not answer within `timeoutMs`).
   */
  async ask<T>(what: string, arg: unknown = null, timeoutMs = 2_000): Promise<(T | null)[]> {
    return Promise.all(this.#threads.map((t) => this.#call<T>(t, what, arg, timeoutMs)));
  }

  /** Asks thread `index` alone (see `ask`); null if it is not running or did not answer in time. */
  askOne<T>(index: number, what: string, arg: unknown = null, timeoutMs = 2_000): Promise<T | null> {
    const t = this.#threads[index - 1];
    return t === undefined ? Promise.resolve(null) : this.#call<T>(t, what, arg, timeoutMs);
  }

  #call<T>(t: Thread, what: string, arg: unknown, timeoutMs: number): Promise<T | null> {
    // A thread still starting has no tracker to answer with yet.
    if (t.worker === null || t.ready !== null) return Promise.resolve(null);
    const id = this.#nextCall++;
    return new Promise<T | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#calls.delete(id);
        resolve(null);
      }, timeoutMs);
      this.#calls.set(id, (value) => {
        clearTimeout(timer);
        this.#calls.delete(id);
        resolve(value as T);
      });
      t.worker!.postMessage({ t: "call", id, what, arg } satisfies ToWorker);
    });
  }

  /** Ends thread `index` at once, as the runtime would on a fatal error (tests: the restart path). */
  terminate(index: number): void {
    this.#threads[index - 1]?.worker?.terminate();
  }

  async stop(): Promise<void> {
    await this.stopServing();
    this.end();
  }

  /**
   * Stops every thread's listeners, timers and mesh (none is started again from now on); the threads stay
   * alive with their swarms, answering `ask` (the final statistics sample and state save come after this).
   */
  async stopServing(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#threads.map(async (t) => {
        clearTimeout(t.timer);
        const w = t.worker;
        if (w === null || t.stopped !== null) return;
        t.stopped = Promise.withResolvers<void>();
        w.postMessage({ t: "stop" } satisfies ToWorker);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        });
        await Promise.race([t.stopped.promise, late]);
        clearTimeout(timer);
      }),
    );
  }

  /** Ends every thread (after stopServing). */
  end(): void {
    this.#stopping = true;
    for (const t of this.#threads) {
      clearTimeout(t.timer);
      const w = t.worker;
      t.worker = null;
      w?.terminate();
    }
  }

  #spawn(t: Thread): Promise<void> {
    const o = this.#o;
    // `bun build --compile` bundles the thread's code when it is a second entry point (scripts/build.ts), and
    // then finds it by its path from src/; run from source, it is beside this file.
    const worker = new Worker(
      Bun.isStandaloneExecutable
        ? "./server/workers/worker-main.ts"
        : new URL("./worker-main.ts", import.meta.url).href,
    );
    t.worker = worker;
    t.startedAt = Date.now();
    t.ready = Promise.withResolvers<void>();
    const ready = t.ready;
    const timer = setTimeout(() => ready.reject(new Error(`worker ${t.index} did not start`)), START_TIMEOUT_MS);
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      try {
        this.#message(t, e.data);
      } catch (err) {
        o.faults.caught("worker control", err);
      }
    };
    worker.addEventListener("close", () => this.#gone(t, worker, "exited"));
    worker.onerror = (e) => {
      // An error nothing in the thread caught: the thread is ending.
      e.preventDefault();
      this.#gone(t, worker, errorText(e.error ?? e.message));
    };
    worker.postMessage({
      t: "start",
      index: t.index,
      count: o.count,
      config: configToWire(o.config),
      memory: o.memory,
      ports: o.ports,
      shared: o.shared,
      access: o.accessShare(),
    } satisfies ToWorker);
    return ready.promise.finally(() => clearTimeout(timer));
  }

  #message(t: Thread, m: FromWorker): void {
    const o = this.#o;
    switch (m.t) {
      case "log":
        o.writeLine(m.line, m.level);
        return;
      case "ready":
        t.ready?.resolve();
        t.ready = null;
        t.ended = false;
        return;
      case "failed": {
        // It could not start (a port it could not join, ...): it is ended here, and whoever started it decides.
        const w = t.worker;
        t.worker = null;
        w?.terminate();
        t.ready?.reject(new Error(m.message));
        t.ready = null;
        return;
      }
      case "stopped":
        t.stopped?.resolve();
        return;
      case "landed":
        o.landed(t.index, m.socket, m.key);
        return;
      case "answer":
        this.#calls.get(m.id)?.(m.value);
        return;
      case "operator":
        void o.operator(m.req).then(
          (res) => t.worker?.postMessage({ t: "operator", id: m.id, res } satisfies ToWorker),
          (err) => {
            o.faults.caught("worker operator request", err);
            const res: WireResponse = { status: 500, headers: [], body: new TextEncoder().encode("internal error\n") };
            t.worker?.postMessage({ t: "operator", id: m.id, res } satisfies ToWorker);
          },
        );
        return;
    }
  }

  #gone(t: Thread, worker: Worker, why: string): void {
    if (t.worker !== worker) return; // already handled (an error, then its close)
    t.worker = null;
    if (t.ready !== null) {
      t.ready.reject(new Error(`worker ${t.index} ended while starting: ${why}`));
      t.ready = null;
      return;
    }
    if (this.#stopping) {
      t.stopped?.resolve();
      return;
    }
    this.deaths++;
    t.ended = true;
    this.#restartLater(t, why, Date.now() - t.startedAt > HEALTHY_MS);
  }

  #restartLater(t: Thread, why: string, healthy: boolean): void {
    t.restarts = healthy ? 0 : t.restarts + 1;
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, t.restarts - 1));
    this.#o.log.error("worker thread ended; starting it again (its share of the swarms starts empty)", {
      worker: t.index,
      err: why,
      restartInMs: delay,
    });
    t.timer = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(t).then(
        () => this.#o.log.info("worker thread started again", { worker: t.index }),
        (err) => {
          if (!this.#stopping) this.#restartLater(t, errorText(err), false);
        },
      );
    }, delay);
  }
}

/** Started, its tracker running (after its share of the state file is restored), and not ended since. */
function serving(t: Thread): boolean {
  return t.worker !== null && t.ready === null;
}
