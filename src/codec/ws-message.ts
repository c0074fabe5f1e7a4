// WebTorrent tracker messages (JSON over WebSocket), as the reference bittorrent-tracker speaks them: parsing
// and checking what a browser sends, and writing what goes back. There is no written spec; the reference
// client and server are it. Info hashes, peer ids and offer ids are 20-char "binary strings" (one char per
// byte, 0-255). Pure: text in, plain objects or text out.
//
// Only the fields we relay are kept, rebuilt from checked values: an offer or answer is passed on as
// {type, sdp} and nothing else a client put in it.

import type { FailureCode } from "../core/failure.ts";

export const EVENTS = ["started", "stopped", "completed", "update", "paused"] as const;
export type WsEvent = (typeof EVENTS)[number] | null;

/** An SDP offer or answer, as it is relayed. */
export interface SessionDescription {
  type: "offer" | "answer";
  sdp: string;
}

export interface WsOffer {
  offerId: string;
  offer: SessionDescription;
}

export interface WsAnnounce {
  action: "announce";
  infoHash: string;
  peerId: string;
  event: WsEvent;
  /** Bytes left; null when the client did not say (a magnet link before its metadata): not a seeder. */
  left: number | null;
  /** At most the cap given to parseWsMessage (extra offers are dropped, as aquatic does). */
  offers: WsOffer[];
  /** Set when this message answers an offer: relay `answer` to `toPeerId`, nothing else. */
  answer: { toPeerId: string; offerId: string; answer: SessionDescription } | null;
}

export interface WsScrape {
  action: "scrape";
  infoHashes: string[];
}

/** A rejected message: why (core/failure.ts), and the `action` and `infoHash` its failure is routed by, when known. */
export interface WsInvalid {
  action: "announce" | "scrape" | null;
  infoHash: string | null;
  code: FailureCode;
}

export type WsMessage = WsAnnounce | WsScrape | WsInvalid;

export function isInvalid(m: WsMessage): m is WsInvalid {
  return "code" in m;
}

/** A 20-char string of chars 0-255 (a 20-byte binary string). */
export function isBinary20(v: unknown): v is string {
  if (typeof v !== "string" || v.length !== 20) return false;
  for (let i = 0; i < 20; i++) if (v.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Checks one message. `maxOffers` caps the offers kept, `maxScrape` the hashes one scrape may name. */
export function parseWsMessage(text: string, maxOffers: number, maxScrape: number): WsMessage {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return invalid(null, null, "invalid_message");
  }
  if (typeof m !== "object" || m === null || Array.isArray(m)) return invalid(null, null, "invalid_message");
  const o = m as Record<string, unknown>;
  if (o.action === "announce") return parseAnnounce(o, maxOffers);
  if (o.action === "scrape") return parseScrape(o, maxScrape);
  return invalid(null, null, "invalid_action");
}

function parseAnnounce(o: Record<string, unknown>, maxOffers: number): WsAnnounce | WsInvalid {
  if (!isBinary20(o.info_hash)) return invalid("announce", null, "invalid_info_hash");
  const infoHash = o.info_hash;
  if (!isBinary20(o.peer_id)) return invalid("announce", infoHash, "invalid_peer_id");
  const base = { action: "announce" as const, infoHash, peerId: o.peer_id };
  if (o.answer !== undefined) {
    const answer = description(o.answer, "answer");
    if (answer === null || !isBinary20(o.to_peer_id) || !isBinary20(o.offer_id))
      return invalid("announce", infoHash, "invalid_answer");
    return {
      ...base,
      event: null,
      left: null,
      offers: [],
      answer: { toPeerId: o.to_peer_id, offerId: o.offer_id, answer },
    };
  }
  let event: WsEvent = null;
  if (o.event !== undefined && o.event !== null && o.event !== "") {
    if (!EVENTS.includes(o.event as never)) return invalid("announce", infoHash, "invalid_event");
    event = o.event as WsEvent;
  }
  let left: number | null = null;
  if (o.left !== undefined && o.left !== null) {
    if (typeof o.left !== "number" || !(o.left >= 0)) return invalid("announce", infoHash, "invalid_left");
    left = o.left;
  }
  const offers: WsOffer[] = [];
  if (o.offers !== undefined && o.offers !== null) {
    if (!Array.isArray(o.offers)) return invalid("announce", infoHash, "invalid_offers");
    for (let i = 0; i < o.offers.length && offers.length < maxOffers; i++) {
      const entry = o.offers[i] as Record<string, unknown> | null;
      const offer = typeof entry === "object" && entry !== null ? description(entry.offer, "offer") : null;
      if (offer === null || !isBinary20(entry!.offer_id)) {
        return invalid("announce", infoHash, "invalid_offers");
      }
      offers.push({ offerId: entry!.offer_id as string, offer });
    }
  }
  return { ...base, event, left, offers, answer: null };
}

function parseScrape(o: Record<string, unknown>, maxScrape: number): WsScrape | WsInvalid {
  const raw = o.info_hash;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) return invalid("scrape", null, "missing_info_hash"); // no full scrape over WebSocket
  if (list.length > maxScrape) return invalid("scrape", null, "too_many_info_hashes");
  for (const h of list) if (!isBinary20(h)) return invalid("scrape", null, "invalid_info_hash");
  return { action: "scrape", infoHashes: list as string[] };
}

function description(v: unknown, type: "offer" | "answer"): SessionDescription | null {
  if (typeof v !== "object" || v === null) return null;
  const d = v as Record<string, unknown>;
  return d.type === type && typeof d.sdp === "string" ? { type, sdp: d.sdp } : null;
}

function invalid(action: WsInvalid["action"], infoHash: string | null, code: FailureCode): WsInvalid {
  return { action, infoHash, code };
}

// Replies. JSON.stringify writes chars 0x80-0xFF as themselves (sent as UTF-8), which is what browsers send
// and expect for binary strings.

export function announceReply(infoHash: string, interval: number, complete: number, incomplete: number): string {
  return JSON.stringify({ action: "announce", interval, info_hash: infoHash, complete, incomplete });
}

export function offerMessage(infoHash: string, fromPeerId: string, offer: WsOffer): string {
  return JSON.stringify({
    action: "announce",
    info_hash: infoHash,
    peer_id: fromPeerId,
    offer_id: offer.offerId,
    offer: offer.offer,
  });
}

export function answerMessage(
  infoHash: string,
  fromPeerId: string,
  offerId: string,
  answer: SessionDescription,
): string {
  return JSON.stringify({ action: "announce", info_hash: infoHash, peer_id: fromPeerId, offer_id: offerId, answer });
}

export interface WsScrapeFile {
  complete: number;
  incomplete: number;
  downloaded: number;
}

export function scrapeReply(files: Record<string, WsScrapeFile>, minRequestInterval: number): string {
  return JSON.stringify({ action: "scrape", files, flags: { min_request_interval: minRequestInterval } });
}

/** A `failure reason`, with the action and info hash the reference client needs to route it. */
export function failureReply(action: "announce" | "scrape" | null, infoHash: string | null, reason: string): string {
  const m: Record<string, string> = {};
  if (action !== null) m.action = action;
  if (infoHash !== null) m.info_hash = infoHash;
  m["failure reason"] = reason;
  return JSON.stringify(m);
}
