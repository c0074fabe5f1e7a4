// The WebSocket limits that span threads (--workers): open connections per source (maxSocketsPerIp) and which
// connection holds a peer id, in two SharedTables every thread shares (shared-table.ts). Connection counts
// are kept per source and thread, and a thread that is started again (after a crash) first drops what its
// predecessor held: its connections and peer ids went with it.

import type { RtcHandle } from "../../core/announce.ts";
import { threadOfHandle, type WsClaims } from "../../frontend/ws-tracker.ts";
import { SharedTable } from "./shared-table.ts";

/** (Source, thread) pairs with open connections (4 MiB of address space, mapped as used); past 3/4, refused. */
const SOURCE_SLOTS = 1 << 18;
/** Peer ids held at once (6 MiB, mapped as used); past 3/4 of it new peer ids are refused (peer_id_in_use). */
const PEER_ID_SLOTS = 1 << 18;
/** Source key: family and thread, then the IPv4 address or IPv6 /64. */
const SOURCE_KEY_WORDS = 3;
const PEER_ID_KEY_WORDS = 5;

/** The shared memory of the claims, made once by the main thread (see app.ts sharedMemory). */
export function wsClaimsMemory(): Record<string, SharedArrayBuffer> {
  return {
    wsSources: SharedTable.memory(SOURCE_SLOTS, SOURCE_KEY_WORDS),
    wsPeerIds: SharedTable.memory(PEER_ID_SLOTS, PEER_ID_KEY_WORDS),
    /** One word per thread: 1 once it has started (a second start is a restart after a crash). */
    wsStarted: new SharedArrayBuffer(4 * 256),
  };
}

export class SharedWsClaims implements WsClaims {
  readonly #sources: SharedTable;
  readonly #peerIds: SharedTable;
  readonly #self: number;
  readonly #threads: number;

  constructor(shared: Record<string, SharedArrayBuffer>, self: number, threads: number) {
    this.#sources = new SharedTable(shared.wsSources, SOURCE_KEY_WORDS, self);
    this.#peerIds = new SharedTable(shared.wsPeerIds, PEER_ID_KEY_WORDS, self);
    this.#self = self;
    this.#threads = threads;
    // Only a thread started before can have left anything (and a purge reads, so maps, every page of the
    // tables: a first start leaves them untouched until connections come).
    if (Atomics.exchange(new Int32Array(shared.wsStarted), self, 1) === 1) {
      this.#sources.locked(() => this.#sources.purge((_v, w, at) => w[at] >>> 8 === self));
      this.#peerIds.locked(() => this.#peerIds.purge((handle) => threadOfHandle(handle as RtcHandle) === self));
    }
  }

  connect(ip: Uint8Array, ipLen: 4 | 16, max: number): boolean {
    const t = this.#sources;
    return t.locked(() => {
      let open = 0;
      for (let thread = 0; thread < this.#threads; thread++) {
        this.#sourceKey(ip, ipLen, thread);
        open += t.get();
      }
      if (open >= max) return false;
      this.#sourceKey(ip, ipLen, this.#self);
      return t.set(t.get() + 1);
    });
  }

  disconnect(ip: Uint8Array, ipLen: 4 | 16): void {
    const t = this.#sources;
    t.locked(() => {
      this.#sourceKey(ip, ipLen, this.#self);
      const open = t.get();
      if (open > 1) t.set(open - 1);
      else t.remove();
    });
  }

  claim(peerId: string, handle: RtcHandle): boolean {
    const t = this.#peerIds;
    return t.locked(() => {
      this.#peerIdKey(peerId);
      const holder = t.get();
      if (holder !== 0) return holder >>> 0 === handle;
      return t.set(handle);
    });
  }

  release(peerId: string, handle: RtcHandle): void {
    const t = this.#peerIds;
    t.locked(() => {
      this.#peerIdKey(peerId);
      if (t.get() >>> 0 === handle) t.remove();
    });
  }

  /** Connections open per thread for the source of `ip` (tests). */
  openFrom(ip: Uint8Array, ipLen: 4 | 16): number[] {
    const t = this.#sources;
    return t.locked(() =>
      Array.from({ length: this.#threads }, (_, thread) => {
        this.#sourceKey(ip, ipLen, thread);
        return t.get();
      }),
    );
  }

  #sourceKey(ip: Uint8Array, ipLen: 4 | 16, thread: number): void {
    const k = this.#sources.key;
    k[0] = (thread << 8) | ipLen;
    k[1] = (ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3];
    k[2] = ipLen === 4 ? 0 : (ip[4] << 24) | (ip[5] << 16) | (ip[6] << 8) | ip[7];
  }

  #peerIdKey(peerId: string): void {
    const k = this.#peerIds.key;
    for (let i = 0; i < PEER_ID_KEY_WORDS; i++) {
      const c = 4 * i;
      k[i] =
        (peerId.charCodeAt(c) << 24) |
        (peerId.charCodeAt(c + 1) << 16) |
        (peerId.charCodeAt(c + 2) << 8) |
        peerId.charCodeAt(c + 3);
    }
  }
}
