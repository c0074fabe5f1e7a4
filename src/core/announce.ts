// The shapes that cross between the front ends (HTTP, UDP) and the store. Both are allocated once per
// front end and reused for every request: the hot path fills them in place instead of building objects.

import type { StoreRefusal } from "./failure.ts";

export const EVENT_NONE = 0;
export const EVENT_COMPLETED = 1;
export const EVENT_STARTED = 2;
export const EVENT_STOPPED = 3;
/** BEP 21: an upload-only (partial) seed. Handled like a plain announce. */
export const EVENT_PAUSED = 4;

/**
 * A WebRTC peer's name in the store: a non-zero u32 the WebSocket front end picks for each peer id it owns
 * (server-chosen, so clients cannot pick colliding keys). A type of its own, not an address.
 */
export type RtcHandle = number & { readonly __rtcHandle: true };

/** `n` (a non-zero u32) as a handle. */
export function rtcHandle(n: number): RtcHandle {
  if (n !== n >>> 0 || n === 0) throw new RangeError("a WebRTC handle is a non-zero u32");
  return n as RtcHandle;
}

export const NO_RTC_HANDLE = 0 as RtcHandle;

export class AnnounceRequest {
  /** The 20-byte info hash as a latin1 string (one char per byte), used when `hashBytes` is null. */
  infoHash = "";
  /**
   * Or the info hash as bytes at hashBytes[hashOff, hashOff + 20) (the UDP packet itself): then no string is
   * made per request, and `infoHash` is not read.
   */
  hashBytes: Uint8Array | null = null;
  hashOff = 0;
  /** Peer address: 4 bytes (IPv4) or 16 bytes (IPv6) at the start of `ip`; see `ipLen`. */
  ip = new Uint8Array(16);
  ipLen: 4 | 16 = 4;
  port = 0;
  /** Bytes left to download; 0 means seeder. */
  left = 0;
  event = EVENT_NONE;
  /** Peers wanted, already clamped by the front end (0 = none). */
  numWant = 0;
  /** Which families the reply can carry: UDP answers in the packet's family only, HTTP can take both. */
  want4 = true;
  want6 = true;
  /** Client identity tag derived from the peer id (0 = unknown). */
  clientTag = 0;
  /**
   * A WebRTC peer (WebTorrent, over WebSocket), named by `rtcHandle` (`ip`, `ipLen` and `port` are not read):
   * the peers chosen for it are WebRTC peers only.
   */
  webrtc = false;
  rtcHandle = NO_RTC_HANDLE;
}

export class AnnounceResult {
  complete = 0;
  incomplete = 0;
  downloaded = 0;
  /** Compact IPv4 peers (6 bytes each) and IPv6 peers (18 bytes each). */
  peers4: Uint8Array;
  count4 = 0;
  peers6: Uint8Array;
  count6 = 0;
  /** The WebRTC peers chosen for a WebRTC announce (see rtcPeer). */
  readonly rtcPeers: Uint32Array;
  countRtc = 0;
  /** Which store limit stopped the announce from being recorded (see core/failure.ts); null when none did. */
  refused: StoreRefusal | null = null;

  constructor(maxPeers: number) {
    this.peers4 = new Uint8Array(maxPeers * 6);
    this.peers6 = new Uint8Array(maxPeers * 18);
    this.rtcPeers = new Uint32Array(maxPeers);
  }

  /** The i-th WebRTC peer chosen, i < countRtc. */
  rtcPeer(i: number): RtcHandle {
    return this.rtcPeers[i] as RtcHandle;
  }
}

export class ScrapeCounts {
  complete = 0;
  incomplete = 0;
  downloaded = 0;
}
