// One boundary for every timer and socket callback (src/server/faults.ts): a throw from inside the store, as
// a bug would raise it, is logged and counted by place, and the tracker goes on answering over every protocol.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../../src/core/store.ts";
import { announceQuery, getBencode, sha1 } from "../helpers/http-client.ts";
import { startTestTracker, type TestTracker } from "../helpers/in-process.ts";
import { announcePacket, UdpClient } from "../helpers/udp-client.ts";
import { bin20, webtorrentPeerId, WsClient } from "../helpers/ws-client.ts";

// One thread whatever BUNTRACKER_WORKERS says: the faults are injected into this thread's own store and fault
// boundary, and a Worker thread (--workers) has its own, out of reach, which may serve or own a request.
let tracker: TestTracker;
beforeAll(async () => {
  tracker = await startTestTracker(["--udp-listen", "127.0.0.1:0", "--websocket", "on", "--workers", "1"]);
});
afterAll(() => tracker.stop());

/** Resolves with the place of the next throw that reaches the boundary. */
function nextFault(): Promise<string> {
  const faults = tracker.faults;
  const original = faults.caught;
  return new Promise((resolve) => {
    faults.caught = (where, err) => {
      faults.caught = original;
      original.call(faults, where, err);
      resolve(where);
    };
  });
}

/** Makes `method` of the store throw (as an invariant check would) until the returned function is called. */
function breakStore(method: "announce" | "sweepIds"): () => void {
  const store = tracker.store as Store & Record<string, unknown>;
  store[method] = () => {
    throw new Error(`invariant broken in ${method}`);
  };
  return () => delete store[method];
}

const httpAnnounce = (n: number) =>
  getBencode(
    `http://127.0.0.1:${tracker.httpPort}/announce?${announceQuery({ infoHash: sha1(`faults ${n}`), port: 6000 + n })}`,
  );

test("a throw inside the expiry sweep timer is logged and counted; the timer and the tracker go on", async () => {
  const fault = nextFault();
  const repair = breakStore("sweepIds");
  expect(await fault).toBe("sweep");
  repair();
  expect(
    tracker.logs.some((l) => l.includes('"unexpected error; still serving"') && l.includes('"where":"sweep"')),
  ).toBe(true);
  const runs = tracker.stats.ctx.faults.counts.get("sweep")!;
  expect(runs).toBeGreaterThanOrEqual(1);
  expect((await httpAnnounce(1)).status).toBe(200);
  const metrics = await (await fetch(`http://127.0.0.1:${tracker.httpPort}/metrics`)).text();
  expect(metrics).toMatch(/^buntracker_unexpected_errors_total\{where="sweep"\} [1-9]/m);
});

test("a throw inside the HTTP handler gets a 500; the next announce is answered", async () => {
  const fault = nextFault();
  const repair = breakStore("announce");
  const res = await fetch(
    `http://127.0.0.1:${tracker.httpPort}/announce?${announceQuery({ infoHash: sha1("faults http"), port: 6100 })}`,
  );
  repair();
  expect(res.status).toBe(500);
  expect(await fault).toBe("http handler");
  const ok = await httpAnnounce(2);
  expect(ok.status).toBe(200);
  expect(ok.body["failure reason"]).toBeUndefined();
});

test("a throw inside the UDP handler drops that datagram only; the next announce is answered", async () => {
  const client = await UdpClient.open("127.0.0.1", tracker.udpPort!);
  try {
    const id = await client.connect();
    const fault = nextFault();
    const repair = breakStore("announce");
    client.send(announcePacket({ connectionId: id, infoHash: sha1("faults udp"), port: 6200 }));
    expect(await fault).toBe("udp handler");
    repair();
    const reply = await client.request(announcePacket({ connectionId: id, infoHash: sha1("faults udp"), port: 6200 }));
    expect(new DataView(reply.buffer, reply.byteOffset).getUint32(0)).toBe(1); // an announce reply
  } finally {
    client.close();
  }
});

test("a throw inside the WebSocket message and close handlers keeps the tracker serving", async () => {
  const url = `ws://127.0.0.1:${tracker.httpPort}/announce`;
  const announce = (n: number) => ({
    action: "announce",
    info_hash: bin20("faults ws"),
    peer_id: webtorrentPeerId(n),
    numwant: 1,
    left: 1,
    event: "started",
    offers: [],
  });
  const a = await WsClient.open(url);
  let fault = nextFault();
  const repair = breakStore("announce");
  a.send(announce(1));
  expect(await fault).toBe("websocket message");
  repair();
  a.send(announce(1));
  expect((await a.next()).action).toBe("announce");

  // The close handler: make the tracker's own close throw once.
  const ws = tracker.stats.ctx.ws!;
  const close = ws.close;
  ws.close = () => {
    ws.close = close;
    throw new Error("invariant broken in close");
  };
  fault = nextFault();
  a.close();
  expect(await fault).toBe("websocket close");

  const b = await WsClient.open(url);
  b.send(announce(2));
  expect((await b.next()).action).toBe("announce");
  b.close();
  expect((await httpAnnounce(3)).status).toBe(200);
});

test("a reload of the access list that throws is caught at the boundary; the tracker keeps its list and serves", async () => {
  const dir = await mkdtemp(join(tmpdir(), "faults-"));
  const list = join(dir, "deny.txt");
  await writeFile(list, "");
  const t = await startTestTracker(["--access-mode", "deny", "--access-list", list, "--workers", "1"]);
  try {
    const caught = new Promise<string>((resolve) => {
      const original = t.faults.caught;
      t.faults.caught = (where, err) => {
        t.faults.caught = original;
        original.call(t.faults, where, err);
        resolve(where);
      };
    });
    t.access.reload = () => Promise.reject(new Error("invariant broken in reload"));
    await writeFile(list, `${"ab".repeat(20)}\n`); // the directory watch (or the poll) sees the change
    expect(await caught).toMatch(/^access list (reload|poll)$/);
    const res = await getBencode(
      `http://127.0.0.1:${t.httpPort}/announce?${announceQuery({ infoHash: sha1("faults list"), port: 6300 })}`,
    );
    expect(res.status).toBe(200);
    expect(res.body["failure reason"]).toBeUndefined();
  } finally {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
