// Cluster mode's start (app.ts imports this file only with --redis, so a standalone tracker loads nothing of
// it): one engine link per --redis URL and the sync of one Store, its stop registered with the lifecycle.

import type { Config } from "../../config/config.ts";
import { redactUrl } from "../../config/value-types.ts";
import { type Ownership, ownerOf } from "../../core/owner.ts";
import type { Store } from "../../core/store.ts";
import { VERSION } from "../../version.ts";
import type { Faults } from "../faults.ts";
import type { Lifecycle } from "../lifecycle.ts";
import type { Logger } from "../logger.ts";
import { ClusterSync } from "./cluster-sync.ts";
import { EngineLink } from "./engine-link.ts";

/** A batch (or a connection attempt) without an answer for this long counts as a failure. */
export function engineTimeoutMs(syncMs: number): number {
  return Math.max(1000, 2 * syncMs);
}

export async function startCluster(
  config: Config,
  store: Store,
  log: Logger,
  faults: Faults,
  life: Lifecycle,
  now: () => number,
  owners: Ownership,
): Promise<ClusterSync> {
  const urls = config.redis!;
  const engines = urls.map(
    (u) => new EngineLink(u, redactUrl(u), log, engineTimeoutMs(config.clusterSyncMs), config.clusterSyncMs),
  );
  const sync = new ClusterSync({
    store,
    engines,
    // With --workers each thread syncs its own torrents as an instance of its own (a heartbeat and a run each):
    // thread 0 keeps the configured id, so one thread is exactly the instance of before.
    instanceId: owners.self === 0 ? config.clusterInstanceId : `${config.clusterInstanceId}-w${owners.self}`,
    processId: config.clusterInstanceId,
    owns: owners.count === 1 ? undefined : (hash) => ownerOf(hash, owners.count) === owners.self,
    prefix: config.clusterKeyPrefix,
    syncMs: config.clusterSyncMs,
    peerTimeoutS: config.peerTimeoutS,
    log,
    faults,
    now,
    version: VERSION,
  });
  await sync.start();
  life.add("cluster sync (last publication)", () => sync.stop());
  if (owners.self !== 0) return sync;
  log.info("cluster mode", {
    instance: config.clusterInstanceId,
    engines: engines.map((e) => e.name),
    up: engines.filter((e) => e.up).length,
    syncMs: config.clusterSyncMs,
    threads: owners.count,
  });
  return sync;
}
