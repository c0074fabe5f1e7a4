// WebTorrent (WebSocket) traffic between threads; the rules are ws-tracker.ts's (see its header). Two kinds:
// KIND_WS goes to the owner of an info hash (an announce's store part, a scrape's counts, a closed
// connection's peers leaving), KIND_WS_DELIVER to the thread holding a connection (an offer or an answer to
// send on it; one-way). Binary strings (info hashes, peer ids, offer ids) travel as their 20 bytes, message
// texts as UTF-8.

import type { RtcHandle } from "../../core/announce.ts";
import { FAILURE_CODES } from "../../core/failure.ts";
import type { ForwardedWsAnnounce, WsRelay, WsTracker } from "../../frontend/ws-tracker.ts";
import { threadOfHandle } from "../../frontend/ws-tracker.ts";
import type { Counters } from "../../frontend/counters.ts";
import { KIND_WS, KIND_WS_DELIVER } from "./kinds.ts";
import { latin1View } from "./latin1.ts";
import { type Mesh, RING_BYTES } from "./mesh.ts";

const OP_ANNOUNCE = 1;
const OP_SCRAPE = 2;
const OP_FORGET = 3;
const OP_FORGET_THREAD = 4;
const OP_OFFER = 1;
const OP_ANSWER = 2;

// An announce: op u8, ipLen u8, event u8, spare u8, numWant u16, spare u16, handle u32, now u32, left f64,
// ip[16], info hash[20], peer id[20].
const A_IP_LEN = 1;
const A_EVENT = 2;
const A_NUM_WANT = 4;
const A_HANDLE = 8;
const A_NOW = 12;
const A_LEFT = 16;
const A_IP = 24;
const A_HASH = 40;
const A_PEER_ID = 60;
const A_LENGTH = 80;
// Its reply: refusal u8 (0: none, else 1 + its index in FAILURE_CODES), spare u8, count u16, complete u32,
// incomplete u32, then `count` handles (u32).
const V_COUNT = 2;
const V_COMPLETE = 4;
const V_INCOMPLETE = 8;
const V_HANDLES = 12;
// A scrape: op u8, spare u8, count u16, then the hashes; its reply: complete, incomplete, downloaded (u32) each.
const S_COUNT = 2;
const S_HASHES = 4;
// Forget: op u8, spare u8, count u16, then the handles (u32). Forget a thread: op u8, the thread u8.
const F_COUNT = 2;
const F_HANDLES = 4;
// An offer: op u8, spare[3], receiver u32, maker u32, now u32, offer id[20], info hash[20], maker's peer id[20],
// then the text.
const O_RECEIVER = 4;
const O_MAKER = 8;
const O_NOW = 12;
const O_OFFER_ID = 16;
const O_HASH = 36;
const O_PEER_ID = 56;
const O_TEXT = 76;
// An answer: op u8, spare[3], maker u32, maker's peer id[20], info hash[20], then the text.
const N_MAKER = 4;
const N_PEER_ID = 8;
const N_HASH = 28;
const N_TEXT = 48;
/**
 * Offers and answers (up to a 64 KiB message each) are not sent to a thread whose ring holds more than this:
 * the rest of the ring stays for requests and replies (UDP and HTTP use it too), and a WebTorrent client
 * whose offer is lost just announces again.
 */
const DELIVER_BACKLOG = RING_BYTES / 2;

/** Answers other threads' WebSocket requests for this thread's torrents and connections; wires `ws` to them. */
export function wsForwarding(mesh: Mesh, ws: WsTracker, now: () => number): void {
  const ip = new Uint8Array(16);
  const forwarded: ForwardedWsAnnounce = {
    infoHash: "",
    peerId: "",
    handle: 0 as RtcHandle,
    ip,
    ipLen: 4,
    left: 0,
    event: 0,
    numWant: 0,
    now: 0,
  };
  const counts: number[] = [];
  const handles: RtcHandle[] = [];

  mesh.on(KIND_WS, (_from, d, at, _length, reply) => {
    const b = latin1View(d);
    const op = d[at];
    if (op === OP_ANNOUNCE) {
      const a = forwarded;
      a.ipLen = d[at + A_IP_LEN] as 4 | 16;
      a.event = d[at + A_EVENT];
      a.numWant = b.readUInt16LE(at + A_NUM_WANT);
      a.handle = b.readUInt32LE(at + A_HANDLE) as RtcHandle;
      a.now = b.readUInt32LE(at + A_NOW);
      a.left = b.readDoubleLE(at + A_LEFT);
      for (let i = 0; i < 16; i++) ip[i] = d[at + A_IP + i];
      a.infoHash = b.toString("latin1", at + A_HASH, at + A_HASH + 20);
      a.peerId = b.toString("latin1", at + A_PEER_ID, at + A_PEER_ID + 20);
      const res = ws.announceForwarded(a);
      const w = reply.begin(V_HANDLES + 4 * res.countRtc);
      if (w < 0) return;
      const r = latin1View(reply.data);
      r[w] = res.refused === null ? 0 : 1 + FAILURE_CODES.indexOf(res.refused);
      r.writeUInt16LE(res.countRtc, w + V_COUNT);
      r.writeUInt32LE(res.complete, w + V_COMPLETE);
      r.writeUInt32LE(res.incomplete, w + V_INCOMPLETE);
      for (let i = 0; i < res.countRtc; i++) r.writeUInt32LE(res.rtcPeer(i), w + V_HANDLES + 4 * i);
      reply.end();
    } else if (op === OP_SCRAPE) {
      const n = b.readUInt16LE(at + S_COUNT);
      const hashes: string[] = [];
      for (let k = 0; k < n; k++)
        hashes.push(b.toString("latin1", at + S_HASHES + 20 * k, at + S_HASHES + 20 * k + 20));
      counts.length = 0;
      ws.scrapeForwarded(hashes, counts);
      const w = reply.begin(4 * counts.length);
      if (w < 0) return;
      const r = latin1View(reply.data);
      for (let k = 0; k < counts.length; k++) r.writeUInt32LE(counts[k], w + 4 * k);
      reply.end();
    } else if (op === OP_FORGET) {
      const n = b.readUInt16LE(at + F_COUNT);
      handles.length = 0;
      for (let k = 0; k < n; k++) handles.push(b.readUInt32LE(at + F_HANDLES + 4 * k) as RtcHandle);
      ws.forget(handles, now());
    } else if (op === OP_FORGET_THREAD) {
      ws.forgetThread(d[at + 1], now());
    }
  });

  mesh.on(KIND_WS_DELIVER, (_from, d, at, length, _reply) => {
    const b = latin1View(d);
    if (d[at] === OP_OFFER) {
      ws.deliverOffer(
        b.readUInt32LE(at + O_RECEIVER) as RtcHandle,
        b.readUInt32LE(at + O_MAKER) as RtcHandle,
        b.toString("latin1", at + O_PEER_ID, at + O_PEER_ID + 20),
        b.toString("latin1", at + O_OFFER_ID, at + O_OFFER_ID + 20),
        b.toString("latin1", at + O_HASH, at + O_HASH + 20),
        b.toString("utf8", at + O_TEXT, at + length),
        b.readUInt32LE(at + O_NOW),
      );
    } else if (d[at] === OP_ANSWER) {
      ws.deliverAnswer(
        b.readUInt32LE(at + N_MAKER) as RtcHandle,
        b.toString("latin1", at + N_PEER_ID, at + N_PEER_ID + 20),
        b.toString("latin1", at + N_HASH, at + N_HASH + 20),
        b.toString("utf8", at + N_TEXT, at + length),
      );
    }
  });

  const relay: WsRelay = {
    announce(to, a, done) {
      const at = mesh.request(to, KIND_WS, A_LENGTH, (data, from, length) => {
        if (data === null || length < V_HANDLES) return done(null);
        const r = latin1View(data);
        const code = r[from];
        const n = r.readUInt16LE(from + V_COUNT);
        const receivers = new Uint32Array(n);
        for (let i = 0; i < n; i++) receivers[i] = r.readUInt32LE(from + V_HANDLES + 4 * i);
        done({
          refused: code === 0 ? null : FAILURE_CODES[code - 1],
          complete: r.readUInt32LE(from + V_COMPLETE),
          incomplete: r.readUInt32LE(from + V_INCOMPLETE),
          receivers,
        });
      });
      if (at < 0) return;
      const d = mesh.dataTo(to);
      const b = latin1View(d);
      d[at] = OP_ANNOUNCE;
      d[at + A_IP_LEN] = a.ipLen;
      d[at + A_EVENT] = a.event;
      b.writeUInt16LE(a.numWant, at + A_NUM_WANT);
      b.writeUInt32LE(a.handle, at + A_HANDLE);
      b.writeUInt32LE(a.now, at + A_NOW);
      b.writeDoubleLE(a.left, at + A_LEFT);
      for (let i = 0; i < 16; i++) d[at + A_IP + i] = i < a.ipLen ? a.ip[i] : 0;
      b.write(a.infoHash, at + A_HASH, 20, "latin1");
      b.write(a.peerId, at + A_PEER_ID, 20, "latin1");
      mesh.send(to);
    },
    scrape(to, hashes, done) {
      const at = mesh.request(to, KIND_WS, S_HASHES + 20 * hashes.length, (data, from, length) => {
        if (data === null || length < 12 * hashes.length) return done(null);
        const r = latin1View(data);
        const out = new Array<number>(3 * hashes.length);
        for (let k = 0; k < out.length; k++) out[k] = r.readUInt32LE(from + 4 * k);
        done(out);
      });
      if (at < 0) return;
      const d = mesh.dataTo(to);
      const b = latin1View(d);
      d[at] = OP_SCRAPE;
      b.writeUInt16LE(hashes.length, at + S_COUNT);
      hashes.forEach((h, k) => b.write(h, at + S_HASHES + 20 * k, 20, "latin1"));
      mesh.send(to);
    },
    forget(to, list) {
      const at = mesh.post(to, KIND_WS, F_HANDLES + 4 * list.length);
      if (at < 0) return; // (counted as dropped; the peers expire there)
      const b = latin1View(mesh.dataTo(to));
      b[at] = OP_FORGET;
      b.writeUInt16LE(list.length, at + F_COUNT);
      list.forEach((h, k) => b.writeUInt32LE(h, at + F_HANDLES + 4 * k));
      mesh.send(to);
    },
    offer(receiver, maker, makerPeerId, offerId, infoHash, text, when) {
      const to = threadOfHandle(receiver);
      if (to >= mesh.count) return; // (not a handle of this tracker's threads)
      if (mesh.queued(to) > DELIVER_BACKLOG) return void mesh.dropped++;
      const at = mesh.post(to, KIND_WS_DELIVER, O_TEXT + Buffer.byteLength(text, "utf8"));
      if (at < 0) return;
      const b = latin1View(mesh.dataTo(to));
      b[at] = OP_OFFER;
      b.writeUInt32LE(receiver, at + O_RECEIVER);
      b.writeUInt32LE(maker, at + O_MAKER);
      b.writeUInt32LE(when, at + O_NOW);
      b.write(offerId, at + O_OFFER_ID, 20, "latin1");
      b.write(infoHash, at + O_HASH, 20, "latin1");
      b.write(makerPeerId, at + O_PEER_ID, 20, "latin1");
      b.write(text, at + O_TEXT, "utf8");
      mesh.send(to);
    },
    answer(maker, makerPeerId, infoHash, text) {
      const to = threadOfHandle(maker);
      if (to >= mesh.count) return;
      if (mesh.queued(to) > DELIVER_BACKLOG) return void mesh.dropped++;
      const at = mesh.post(to, KIND_WS_DELIVER, N_TEXT + Buffer.byteLength(text, "utf8"));
      if (at < 0) return;
      const b = latin1View(mesh.dataTo(to));
      b[at] = OP_ANSWER;
      b.writeUInt32LE(maker, at + N_MAKER);
      b.write(makerPeerId, at + N_PEER_ID, 20, "latin1");
      b.write(infoHash, at + N_HASH, 20, "latin1");
      b.write(text, at + N_TEXT, "utf8");
      mesh.send(to);
    },
  };
  ws.relayVia(relay);
  // A Worker that starts may be one started again after a crash: whatever peers its predecessor's connections
  // left in other threads' swarms go now. (Ahead of anything this thread sends them: the rings keep order.)
  if (mesh.self !== 0) {
    for (let to = 0; to < mesh.count; to++) {
      if (to === mesh.self) continue;
      const at = mesh.post(to, KIND_WS, 2);
      if (at < 0) continue;
      const d = mesh.dataTo(to);
      d[at] = OP_FORGET_THREAD;
      d[at + 1] = mesh.self;
      mesh.send(to);
    }
  }
}

/** One thread's WebSocket side (the pool's "ws" answer; tests use it to see which thread holds a connection). */
export function wsThreadCounts(ws: WsTracker | null, c: Counters) {
  return {
    connections: ws?.size ?? 0,
    remotePeers: ws?.remotePeers ?? 0,
    offersRelayed: c.wsOffersRelayed,
    answersRelayed: c.wsAnswersRelayed,
    answersDropped: c.wsAnswersDropped,
  };
}
