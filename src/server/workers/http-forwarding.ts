// HTTP announces and scrapes between threads: the thread that holds the connection checked the sender's
// budget and parsed the query; the owner of its info hash answers, and the body comes back to be sent on the
// connection. A scrape whose hashes several threads own asks each for its entries and encodes them once.

import { ownerOf } from "../../core/owner.ts";
import type { ScrapeEntry } from "../../codec/http-response.ts";
import { parseScrapeQuery, queryStart } from "../../codec/http-query.ts";
import { type HttpTracker, MANY_HTTP_OWNERS, MAX_HTTP_SCRAPE_HASHES } from "../../frontend/http-tracker.ts";
import { KIND_HTTP } from "./kinds.ts";
import { latin1View } from "./latin1.ts";
import type { Mesh } from "./mesh.ts";

const OP_ANNOUNCE = 1;
const OP_SCRAPE = 2;
const OP_SCRAPE_PART = 3;
/** op u8, ipLen u8, spare u16, ip[16], now u32, then the URL (latin1). */
const OFF_OP = 0;
const OFF_IP_LEN = 1;
const OFF_IP = 4;
const OFF_NOW = 20;
const OFF_URL = 24;
/** A scrape part's entry: the hash, then complete, downloaded, incomplete (u32 little-endian). */
const ENTRY_LEN = 20 + 12;

/** What the HTTP server calls for a request another thread owns: the body, or a failure when none came. */
export type HttpForward = (
  scrape: boolean,
  url: string,
  ip: Uint8Array,
  ipLen: 4 | 16,
  now: number,
) => Promise<Uint8Array>;

export function httpForwarding(mesh: Mesh, tracker: HttpTracker): HttpForward {
  const ip = new Uint8Array(16);
  /** No answer in time (the owner is stopped or swamped): the client is asked to come back. */
  const busy = (scrape: boolean) => tracker.failure("busy", scrape).slice();

  mesh.on(KIND_HTTP, (_from, d, at, length, reply) => {
    const op = d[at + OFF_OP];
    const ipLen = d[at + OFF_IP_LEN] as 4 | 16;
    for (let i = 0; i < ipLen; i++) ip[i] = d[at + OFF_IP + i];
    const view = new DataView(d.buffer, d.byteOffset + at);
    const now = view.getUint32(OFF_NOW, true);
    const url = latin1View(d).toString("latin1", at + OFF_URL, at + length);
    if (op === OP_SCRAPE_PART) {
      const out = tracker.scrapeForwarded(url, true);
      const entries = out instanceof Uint8Array ? [] : out;
      const w = reply.begin(4 + entries.length * ENTRY_LEN);
      if (w < 0) return;
      const r = reply.data;
      const rv = new DataView(r.buffer, r.byteOffset + w);
      rv.setUint32(0, entries.length, true);
      entries.forEach((e, k) => {
        const off = 4 + k * ENTRY_LEN;
        for (let i = 0; i < 20; i++) r[w + off + i] = e.infoHash.charCodeAt(i);
        rv.setUint32(off + 20, e.complete, true);
        rv.setUint32(off + 24, e.downloaded, true);
        rv.setUint32(off + 28, e.incomplete, true);
      });
      reply.end();
      return;
    }
    const body =
      op === OP_ANNOUNCE
        ? tracker.announceForwarded(url, ip, ipLen, now)
        : (tracker.scrapeForwarded(url, false) as Uint8Array);
    const w = reply.begin(body.length);
    if (w < 0) return;
    reply.data.set(body, w);
    reply.end();
  });

  /** One request to thread `to`; resolves with the reply's bytes (copied) or null. */
  const ask = (to: number, op: number, url: string, ipBytes: Uint8Array, ipLen: 4 | 16, now: number) =>
    new Promise<Uint8Array | null>((resolve) => {
      const at = mesh.request(to, KIND_HTTP, OFF_URL + url.length, (data, from, length) =>
        resolve(data === null ? null : data.slice(from, from + length)),
      );
      if (at < 0) return;
      const d = mesh.dataTo(to);
      d[at + OFF_OP] = op;
      d[at + OFF_IP_LEN] = ipLen;
      for (let i = 0; i < ipLen; i++) d[at + OFF_IP + i] = ipBytes[i];
      new DataView(d.buffer, d.byteOffset + at).setUint32(OFF_NOW, now, true);
      latin1View(d).write(url, at + OFF_URL, url.length, "latin1");
      mesh.send(to);
    });

  async function scrapeParts(url: string, ipBytes: Uint8Array, ipLen: 4 | 16, now: number): Promise<Uint8Array> {
    const hashes: string[] = [];
    parseScrapeQuery(url, queryStart(url), MAX_HTTP_SCRAPE_HASHES, hashes); // (it parsed once already)
    const owners = new Set(hashes.map((h) => ownerOf(h, mesh.count)));
    const local = owners.delete(mesh.self) ? (tracker.scrapeForwarded(url, true) as ScrapeEntry[]) : [];
    const ip = ipBytes.slice(0, ipLen);
    const parts = await Promise.all([...owners].map((to) => ask(to, OP_SCRAPE_PART, url, ip, ipLen, now)));
    const entries = [...local];
    for (const part of parts) {
      if (part === null) return busy(true);
      const v = new DataView(part.buffer, part.byteOffset);
      const n = v.getUint32(0, true);
      for (let k = 0; k < n; k++) {
        const off = 4 + k * ENTRY_LEN;
        entries.push({
          infoHash: String.fromCharCode(...part.subarray(off, off + 20)),
          complete: v.getUint32(off + 20, true),
          downloaded: v.getUint32(off + 24, true),
          incomplete: v.getUint32(off + 28, true),
        });
      }
    }
    return tracker.encodeScrape(entries);
  }

  return async (scrape, url, ipBytes, ipLen, now) => {
    const to = tracker.forwardTo;
    if (scrape && to === MANY_HTTP_OWNERS) return scrapeParts(url, ipBytes, ipLen, now);
    return (await ask(to, scrape ? OP_SCRAPE : OP_ANNOUNCE, url, ipBytes, ipLen, now)) ?? busy(scrape);
  };
}
