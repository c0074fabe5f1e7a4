// A tracker with every part that adds metrics (UDP, WebSocket, TLS, a state file, an admin listener), for the
// tests that hold docs against a real /metrics: the metrics table and the example alert rules.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePair } from "./certs.ts";
import { startTestTracker, type TestTracker } from "./in-process.ts";

export interface MetricsTracker {
  tracker: TestTracker;
  /** Its /metrics text right after start. */
  exposition: string;
  stop(): Promise<void>;
}

export async function startMetricsTracker(): Promise<MetricsTracker> {
  const root = await mkdtemp(join(tmpdir(), "buntracker-metrics-"));
  const pair = makePair(root, "tracker");
  const tracker = await startTestTracker([
    ...["--udp-listen", "127.0.0.1:0", "--websocket", "on"],
    ...["--tls-cert", pair.cert, "--tls-key", pair.key, "--tls-listen", "127.0.0.1:0"],
    ...["--state-file", join(root, "state.bin"), "--admin-listen", "127.0.0.1:0"],
  ]);
  const exposition = await (await fetch(`http://127.0.0.1:${tracker.adminPort}/metrics`)).text();
  return {
    tracker,
    exposition,
    async stop() {
      await tracker.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
