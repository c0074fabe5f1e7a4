// Wiring: builds the store, the front ends and the listeners from a Config, runs the expiry sweep, and
// stops everything gracefully. The only file that knows every part.

import type { Server } from "bun";
import type { Config } from "../config/config.ts";
import { ConnIdIssuer } from "../core/conn-id.ts";
import { xoshiro128 } from "../core/random.ts";
import { Store } from "../core/store.ts";
import { Counters } from "../frontend/counters.ts";
import { HttpTracker } from "../frontend/http-tracker.ts";
import type { AnnounceSettings } from "../frontend/settings.ts";
import { UdpTracker } from "../frontend/udp-tracker.ts";
import { startHttpServer } from "./http-server.ts";
import type { Logger } from "./logger.ts";
import { startUdpServer, type UdpListener } from "./udp-server.ts";

/** One full expiry pass over all shards takes about this long (one shard per tick). */
const SWEEP_PASS_MS = 60_000;
/** In-flight HTTP requests get this long to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningTracker {
  store: Store;
  counters: Counters;
  httpPort: number;
  udpPort: number | null;
  stop(): Promise<void>;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function startTracker(config: Config, log: Logger): Promise<RunningTracker> {
  const store = new Store({
    peerTimeoutS: config.peerTimeoutS,
    random: xoshiro128(crypto.getRandomValues(new Uint32Array(4))),
  });
  const counters = new Counters();
  const settings: AnnounceSettings = {
    intervalS: config.intervalS,
    minIntervalS: config.minIntervalS,
    defaultNumWant: config.defaultNumWant,
    maxNumWant: config.maxNumWant,
  };
  const http = startHttpServer({
    listen: config.listen,
    tracker: new HttpTracker(store, settings, counters),
    log,
    now: nowSeconds,
  });
  let udp: UdpListener | null = null;
  if (config.udpListen !== null) {
    const connIds = new ConnIdIssuer(crypto.getRandomValues(new Uint8Array(16)));
    try {
      udp = await startUdpServer({
        listen: config.udpListen,
        tracker: new UdpTracker(store, connIds, settings, counters),
        log,
        now: nowSeconds,
      });
    } catch (err) {
      http.stop(true);
      throw err;
    }
  }

  let nextShard = 0;
  const sweep = setInterval(() => {
    const started = performance.now();
    const r = store.sweepShard(nextShard, nowSeconds());
    if (r.peersRemoved > 0 || r.torrentsRemoved > 0) {
      log.debug("expired", { shard: nextShard, ...r, ms: +(performance.now() - started).toFixed(2) });
    }
    nextShard = (nextShard + 1) % store.shards.length;
  }, Math.max(10, Math.floor(SWEEP_PASS_MS / store.shards.length)));

  return {
    store,
    counters,
    httpPort: http.port ?? config.listen.port,
    udpPort: udp?.port ?? null,
    async stop() {
      clearInterval(sweep);
      udp?.close();
      await stopHttp(http);
    },
  };
}

/** Stops accepting and lets requests in flight (even half-received ones) finish, up to the grace period. */
async function stopHttp(server: Server<undefined>): Promise<void> {
  const graceful = server.stop(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => resolve(server.stop(true)), SHUTDOWN_GRACE_MS);
  });
  await Promise.race([graceful, timeout]);
  clearTimeout(timer);
}
