// What cluster mode shows in /metrics, /api/stats and the admin /healthz: figures of the running sync
// (cluster/cluster-sync.ts), rendered here so that a standalone tracker loads nothing of cluster mode.

import type { ClusterSync, InstanceFigures } from "./cluster/cluster-sync.ts";

/** The sync as the statistics read it. */
export type ClusterSource = Pick<ClusterSync, "instanceId" | "engines" | "stats" | "instances" | "view" | "syncMs">;

/** The sync is "behind" (unhealthy) when its last complete sync is older than this many periods (and 5 s). */
export const LAG_PERIODS = 5;

/** Milliseconds since the last sync in which every engine node answered; Infinity before the first. */
export function syncLagMs(c: ClusterSource): number {
  return c.stats.lastSyncAtMs === 0 ? Infinity : Math.max(0, Date.now() - c.stats.lastSyncAtMs);
}

/** Reasons for the admin /healthz: engines down, or no complete sync for a while. */
export function clusterProblems(c: ClusterSource): string[] {
  const out: string[] = [];
  for (const e of c.engines) if (!e.up) out.push(`cluster engine ${e.name} unreachable (serving the local view)`);
  const lag = syncLagMs(c);
  if (out.length === 0 && lag > Math.max(5000, LAG_PERIODS * c.syncMs)) {
    out.push(`cluster sync ${Number.isFinite(lag) ? `${Math.round(lag / 1000)} s` : "never"} behind`);
  }
  return out;
}

/** Cluster-wide totals: this instance's store plus what the others said in their last heartbeat. */
export function clusterTotals(c: ClusterSource, own: Omit<InstanceFigures, "id" | "syncedAt" | "version">) {
  const others = c.instances;
  const sum = (k: "torrents" | "peers" | "seeders" | "completed") => others.reduce((n, i) => n + i[k], own[k]);
  // (the threads of another --workers instance sync as ID-wN: one instance)
  const instances = new Set(others.map((i) => i.id.replace(/-w[0-9]+$/, ""))).size + 1;
  return { instances, peers: sum("peers"), seeders: sum("seeders"), completed: sum("completed") };
}
