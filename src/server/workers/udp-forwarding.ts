// BEP 15 requests between threads: the thread that read a datagram checked the sender's budget and connection
// id; the owner of its info hash answers it from its own socket on the same local address (every thread binds
// the same addresses and port), so the answer leaves from the address the client wrote to and nothing comes
// back: a hand-off is one message, and the reading thread need not wake again. A scrape whose hashes several
// threads own goes to each of them; each answers its own entries, which come back and are merged entry by
// entry.

import { ownerAt } from "../../core/owner.ts";
import {
  ACTION_ERROR,
  INFO_HASH_LEN,
  OFF_SCRAPE_ENTRIES,
  OFF_SCRAPE_HASHES,
  SCRAPE_ENTRY_LEN,
} from "../../codec/udp.ts";
import { MANY_OWNERS, scrapeHashCount, UDP_REPLY_BUDGET, type UdpTracker } from "../../frontend/udp-tracker.ts";
import type { UdpListener, UdpReply, UdpSource } from "../udp-server.ts";
import { KIND_UDP } from "./kinds.ts";
import { latin1View } from "./latin1.ts";
import type { Mesh } from "./mesh.ts";

/**
 * mode u8, ipLen u8, the sender's port u16, ip[16], now u32, then for DIRECT the local socket's name and the
 * sender's address (each a length u8 and latin1 bytes), then the datagram.
 */
const OFF_MODE = 0;
const OFF_IP_LEN = 1;
const OFF_PORT = 2;
const OFF_IP = 4;
const OFF_NOW = 20;
const OFF_PACKET = 24;
/** The owner answers the sender itself (one-way message). */
const DIRECT = 0;
/** One owner's part of a scrape of several owners' hashes: it comes back to be merged. */
const PART = 1;

/**
 * Answers other threads' requests for this thread's hashes; returns what the UDP server's `forward` calls.
 * `misplaced(socket, key)`: a datagram the kernel was asked to steer to thread `key` (its first hash's owner)
 * came in on this thread's socket `socket` instead (udp-steering.ts learns from it); null when not steering.
 */
export function udpForwarding(
  mesh: Mesh,
  tracker: UdpTracker,
  listener: () => UdpListener | null,
  misplaced: ((socket: string, key: number) => void) | null,
) {
  const ip = new Uint8Array(16);
  const packet = new Uint8Array(2048);
  const packetViews: Uint8Array[] = [];
  const out = new Uint8Array(UDP_REPLY_BUDGET);
  mesh.on(KIND_UDP, (_from, d, at, length, reply) => {
    const ipLen = d[at + OFF_IP_LEN] as 4 | 16;
    for (let i = 0; i < ipLen; i++) ip[i] = d[at + OFF_IP + i];
    const now =
      (d[at + OFF_NOW] | (d[at + OFF_NOW + 1] << 8) | (d[at + OFF_NOW + 2] << 16)) + d[at + OFF_NOW + 3] * 2 ** 24;
    const direct = d[at + OFF_MODE] === DIRECT;
    let from = at + OFF_PACKET;
    let socket = "";
    let address = "";
    if (direct) {
      const b = latin1View(d);
      socket = b.toString("latin1", from + 1, from + 1 + d[from]);
      from += 1 + d[from];
      address = b.toString("latin1", from + 1, from + 1 + d[from]);
      from += 1 + d[from];
    }
    const n = Math.min(at + length - from, packet.length);
    for (let i = 0; i < n; i++) packet[i] = d[from + i];
    const view = (packetViews[n] ??= packet.subarray(0, n));
    const size = tracker.handleForwarded(view, ip, ipLen, now, out, !direct);
    if (direct) {
      listener()?.sendFrom(socket, out, 0, size, d[at + OFF_PORT] | (d[at + OFF_PORT + 1] << 8), address);
      return;
    }
    const w = reply.begin(size);
    if (w < 0) return;
    const r = reply.data;
    for (let i = 0; i < size; i++) r[w + i] = out[i];
    reply.end();
  });

  /**
   * Hands one datagram to thread `to`: with `source`, for it to answer the sender itself; without, for its part
   * of a scrape, which comes back to `reply`.
   */
  function send(
    to: number,
    source: UdpSource | null,
    pkt: Uint8Array,
    ipBytes: Uint8Array,
    ipLen: 4 | 16,
    now: number,
    reply: UdpReply,
  ) {
    const names = source === null ? 0 : 2 + source.socket.length + source.address.length;
    const at =
      source === null
        ? mesh.request(to, KIND_UDP, OFF_PACKET + pkt.length, (data, from, length) => {
            if (data !== null) reply(data, from, length);
          })
        : mesh.post(to, KIND_UDP, OFF_PACKET + names + pkt.length);
    if (at < 0) return;
    const d = mesh.dataTo(to);
    d[at + OFF_MODE] = source === null ? PART : DIRECT;
    if (source !== null) {
      d[at + OFF_PORT] = source.port & 0xff;
      d[at + OFF_PORT + 1] = source.port >>> 8;
      let o = at + OFF_PACKET;
      for (const text of [source.socket, source.address]) {
        d[o] = text.length;
        latin1View(d).write(text, o + 1, text.length, "latin1");
        o += 1 + text.length;
      }
    }
    d[at + OFF_IP_LEN] = ipLen;
    for (let i = 0; i < ipLen; i++) d[at + OFF_IP + i] = ipBytes[i];
    d[at + OFF_NOW] = now & 0xff;
    d[at + OFF_NOW + 1] = (now >>> 8) & 0xff;
    d[at + OFF_NOW + 2] = (now >>> 16) & 0xff;
    d[at + OFF_NOW + 3] = (now >>> 24) & 0xff;
    const start = at + OFF_PACKET + names;
    for (let i = 0; i < pkt.length; i++) d[start + i] = pkt[i];
    mesh.send(to);
  }

  return (
    to: number,
    pkt: Uint8Array,
    ipBytes: Uint8Array,
    ipLen: 4 | 16,
    now: number,
    reply: UdpReply,
    source: UdpSource,
  ): void => {
    if (to !== MANY_OWNERS) {
      send(to, source, pkt, ipBytes, ipLen, now, reply);
      misplaced?.(source.socket, to);
      return;
    }
    scrapeParts(pkt, ipBytes, ipLen, now, reply);
    const key = ownerAt(pkt, OFF_SCRAPE_HASHES, mesh.count);
    if (key !== mesh.self) misplaced?.(source.socket, key);
  };

  function scrapeParts(pkt: Uint8Array, ipBytes: Uint8Array, ipLen: 4 | 16, now: number, reply: UdpReply) {
    const hashes = scrapeHashCount(pkt);
    const owners = new Uint8Array(hashes);
    const asked = new Set<number>();
    for (let i = 0; i < hashes; i++) {
      owners[i] = ownerAt(pkt, OFF_SCRAPE_HASHES + i * INFO_HASH_LEN, mesh.count);
      asked.add(owners[i]);
    }
    const merged = new Uint8Array(OFF_SCRAPE_ENTRIES + hashes * SCRAPE_ENTRY_LEN);
    let waiting = asked.size;
    let failed = false;
    const take = (owner: number, data: Uint8Array, at: number, length: number) => {
      if (length < merged.length || data[at + 3] === ACTION_ERROR) failed = true;
      else {
        if (waiting === asked.size) for (let i = 0; i < OFF_SCRAPE_ENTRIES; i++) merged[i] = data[at + i];
        for (let e = 0; e < hashes; e++) {
          if (owners[e] !== owner) continue;
          const off = OFF_SCRAPE_ENTRIES + e * SCRAPE_ENTRY_LEN;
          for (let i = 0; i < SCRAPE_ENTRY_LEN; i++) merged[off + i] = data[at + off + i];
        }
      }
      if (--waiting === 0 && !failed) reply(merged, 0, merged.length);
    };
    tracker.counters.udpScrape++;
    const copy = pkt.slice(); // the local part runs after the remote requests are written
    for (const owner of asked) {
      if (owner === mesh.self) continue;
      send(owner, null, copy, ipBytes, ipLen, now, (data, at, length) => take(owner, data, at, length));
    }
    if (asked.has(mesh.self)) {
      const local = new Uint8Array(UDP_REPLY_BUDGET);
      const n = tracker.handleForwarded(copy, ipBytes, ipLen, now, local, true);
      take(mesh.self, local, 0, n);
    }
  }
}
