// The admin listener's /healthz: checks what a running tracker needs (the public /healthz only says the
// thread that read it answers HTTP). Each check that fails adds a reason; none: healthy.

import { type ClusterSource, clusterProblems } from "./cluster-figures.ts";
import type { LagMonitor } from "./lag-monitor.ts";
import type { StateFile } from "./state-file.ts";
import type { UdpListener } from "./udp-server.ts";
import type { WorkerPool } from "./workers/pool.ts";

/** Event-loop lag (ms) above which the tracker is unhealthy: every reply is that late. */
export const MAX_HEALTHY_LAG_MS = 1000;

export interface HealthOptions {
  /** The UDP listener; null while none is open. */
  udp: () => UdpListener | null;
  /** UDP is configured (--udp-listen is not off): then it must be open. */
  udpWanted: boolean;
  lag: Pick<LagMonitor, "worstMs">;
  /** With --state-file: its folder must stay writable, or the next save fails. */
  stateFile: Pick<StateFile, "path" | "saveProblem"> | null;
  /** Cluster mode: engines must be reachable and the sync current. */
  cluster?: ClusterSource | null;
  /**
   * --workers: every thread must be serving (the others start after the admin listener, and one that dies
   * is away until its restart); `pool` is null until the main thread has made it.
   */
  threads?: { count: number; pool: () => Pick<WorkerPool, "notServing"> | null } | null;
}

export class Health {
  readonly #o: HealthOptions;
  /** Set when a graceful stop begins: the admin listener is among the last things to close. */
  stopping = false;

  constructor(o: HealthOptions) {
    this.#o = o;
  }

  /** Why the tracker is unhealthy; empty when it is healthy. */
  async problems(): Promise<string[]> {
    const o = this.#o;
    const out: string[] = [];
    if (this.stopping) out.push("stopping");
    if (o.udpWanted && !(o.udp()?.isOpen() ?? false)) out.push("the UDP socket is not open");
    const lag = o.lag.worstMs;
    if (lag > MAX_HEALTHY_LAG_MS) out.push(`event-loop lag ${Math.round(lag)} ms (over ${MAX_HEALTHY_LAG_MS} ms)`);
    if (o.stateFile !== null) {
      const why = await o.stateFile.saveProblem();
      if (why !== null) out.push(`--state-file ${o.stateFile.path} cannot be saved: ${why}`);
    }
    if (o.cluster != null) out.push(...clusterProblems(o.cluster));
    if (o.threads != null) {
      const why = threadProblem(o.threads.count, o.threads.pool());
      if (why !== null) out.push(why);
    }
    return out;
  }

  /** The /healthz answer: 200 "ok", or 503 with the reasons. */
  async response(method: string): Promise<Response> {
    const problems = await this.problems();
    const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
    const body = problems.length === 0 ? "ok\n" : `unhealthy: ${problems.join("; ")}\n`;
    return new Response(method === "HEAD" ? null : body, { status: problems.length === 0 ? 200 : 503, headers });
  }
}

/** "worker threads: 1 of 3 serving (thread 1 restarting, thread 2 starting)", or null when all are serving. */
function threadProblem(count: number, pool: Pick<WorkerPool, "notServing"> | null): string | null {
  const away = pool?.notServing ?? Array.from({ length: count - 1 }, (_, i) => ({ index: i + 1, restarting: false }));
  if (away.length === 0) return null;
  const which = away.map((t) => `thread ${t.index} ${t.restarting ? "restarting" : "starting"}`).join(", ");
  return `worker threads: ${count - away.length} of ${count} serving (${which})`;
}
