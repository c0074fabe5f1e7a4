// Bencoded HTTP tracker replies (BEP 3, 7, 23, 24, 48). Keys are written in sorted byte order, so every
// reply is canonical bencode.

import type { AnnounceResult } from "../core/announce.ts";
import type { BencodeWriter } from "./bencode.ts";
import { formatIp } from "./ip.ts";

export interface AnnounceReplyOptions {
  interval: number;
  minInterval: number;
  /** BEP 23 compact peers (default) or the BEP 3 list of dictionaries. */
  compact: boolean;
  /** The requester's address as we saw it (BEP 24 `external ip`): 4 or 16 bytes at the start of `ip`. */
  ip: Uint8Array;
  ipLen: 4 | 16;
}

export function encodeFailure(w: BencodeWriter, reason: string): Uint8Array {
  return w.reset().dict().str("failure reason").str(reason).end().take();
}

export function encodeAnnounce(w: BencodeWriter, res: AnnounceResult, o: AnnounceReplyOptions): Uint8Array {
  w.reset().dict();
  w.str("complete").int(res.complete);
  w.str("downloaded").int(res.downloaded);
  w.str("external ip").bytes(o.ip, 0, o.ipLen);
  w.str("incomplete").int(res.incomplete);
  w.str("interval").int(o.interval);
  w.str("min interval").int(o.minInterval);
  if (o.compact) {
    w.str("peers").bytes(res.peers4, 0, res.count4 * 6);
    w.str("peers6").bytes(res.peers6, 0, res.count6 * 18);
  } else {
    // BEP 3 dictionary model. Peers are identified by address, so no `peer id` is stored or sent
    // (the same reply a client gets with no_peer_id=1); clients learn the id in the peer handshake.
    w.str("peers").list();
    for (let i = 0; i < res.count4; i++) peerDict(w, res.peers4, i * 6, 4);
    for (let i = 0; i < res.count6; i++) peerDict(w, res.peers6, i * 18, 16);
    w.end();
  }
  return w.end().take();
}

function peerDict(w: BencodeWriter, peers: Uint8Array, at: number, len: 4 | 16): void {
  w.dict();
  w.str("ip").str(formatIp(peers, at, len));
  w.str("port").int((peers[at + len] << 8) | peers[at + len + 1]);
  w.end();
}

export interface ScrapeEntry {
  infoHash: string;
  complete: number;
  downloaded: number;
  incomplete: number;
}

/** `files` maps each raw 20-byte hash to its counts; entries must already be sorted and unique. */
export function encodeScrape(w: BencodeWriter, entries: readonly ScrapeEntry[]): Uint8Array {
  w.reset().dict().str("files").dict();
  for (const e of entries) {
    w.str(e.infoHash).dict();
    w.str("complete").int(e.complete);
    w.str("downloaded").int(e.downloaded);
    w.str("incomplete").int(e.incomplete);
    w.end();
  }
  return w.end().end().take();
}
