// The WebSocket relay between threads leaves room in the mesh for requests (src/server/workers/ws-forwarding.ts):
// a burst of large offers for a thread that has not read its ring yet stops at half the ring, so a UDP or HTTP
// request to that thread still fits. Two meshes over one MeshMemory in this thread stand for two threads.

import { expect, test } from "bun:test";
import { FixedInterval } from "../../src/core/adaptive-interval.ts";
import { rtcHandle } from "../../src/core/announce.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { Counters } from "../../src/frontend/counters.ts";
import { IntervalSource } from "../../src/frontend/settings.ts";
import { HANDLE_THREAD_SHIFT, type WsRelay, WsTracker } from "../../src/frontend/ws-tracker.ts";
import { Faults } from "../../src/server/faults.ts";
import { Logger } from "../../src/server/logger.ts";
import { KIND_UDP } from "../../src/server/workers/kinds.ts";
import { Mesh, meshMemory, RING_BYTES } from "../../src/server/workers/mesh.ts";
import { wsForwarding } from "../../src/server/workers/ws-forwarding.ts";
import { bin20, webtorrentPeerId } from "../helpers/ws-client.ts";

test("a burst of offers for a busy thread leaves half its ring for requests", () => {
  const memory = meshMemory(2);
  const faults = new Faults(new Logger("error", () => {}));
  const mesh = new Mesh(memory, 0, faults); // thread 1 never reads: it is busy
  const random = xoshiro128(new Uint32Array([1, 2, 3, 4]));
  const store = new Store({
    peerTimeoutS: 3000,
    random,
    maxTorrents: 10,
    maxPeersPerTorrent: 10,
    maxPeers: 10,
    minIntervalS: 1,
  });
  const ws = new WsTracker(store, new Counters(), {
    interval: new IntervalSource(new FixedInterval(120), 1, 3000, random),
    minIntervalS: 1,
    maxSocketsPerIp: 10,
    owners: { self: 0, count: 2 },
  });
  let relay: WsRelay | null = null;
  ws.relayVia = (r) => {
    relay = r;
  };
  wsForwarding(mesh, ws, () => 100);
  const receiver = rtcHandle((1 << HANDLE_THREAD_SHIFT) | 5);
  const text = JSON.stringify({ action: "announce", offer: { type: "offer", sdp: "x".repeat(60_000) } });
  for (let i = 0; i < 20; i++) {
    relay!.offer(receiver, rtcHandle(7), webtorrentPeerId(1), bin20(`offer ${i}`), bin20("t"), text, 100);
  }
  // Some went, the rest were dropped and counted; the ring is about half full, no more.
  expect(mesh.queued(1)).toBeGreaterThan(RING_BYTES / 2 - 61_000);
  expect(mesh.queued(1)).toBeLessThanOrEqual(RING_BYTES / 2 + 61_000);
  expect(mesh.dropped).toBeGreaterThan(10);
  // A request (a BEP 15 announce's size) still fits.
  expect(mesh.request(1, KIND_UDP, 124, () => {})).toBeGreaterThanOrEqual(0);
  mesh.stop();
});
