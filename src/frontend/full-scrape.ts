// Full scrape (/scrape with no info_hash): every torrent's counts in one bencoded reply. Off unless
// --full-scrape on. Indexers want it; it is the most expensive thing a tracker can be asked, so the reply is
// built at most once per CACHE_S (and gzipped once, for clients that accept it), and each address may fetch
// it once per LIMIT_S (opentracker's "modest full scrapes" idea). A change of the access list rebuilds it at
// once, so a torrent just denied never lingers in the cached reply.
//
// --workers N: each thread holds the torrents it owns. The main thread answers every full scrape (the other
// threads pass it theirs) and holds the one allowance per address; it builds the reply from its own torrents
// and the others' (`gather`: each sends its entries packed, ENTRY bytes each: ownEntries).

import { BencodeWriter } from "../codec/bencode.ts";
import { encodeScrape, type ScrapeEntry } from "../codec/http-response.ts";
import type { Access } from "../core/access.ts";
import type { Store } from "../core/store.ts";
import type { SourceLimit } from "./source-limit.ts";

export const FULL_SCRAPE_CACHE_S = 300;
/** A packed entry: the 20-byte info hash, then complete, downloaded and incomplete as u32 (little-endian). */
const ENTRY = 32;
export const FULL_SCRAPE_LIMIT_S = 300;

export interface FullScrapeReply {
  body: Uint8Array;
  gzip: boolean;
}

export class FullScrape {
  readonly #store: Store;
  readonly #access: Access | null;
  readonly #limit: Pick<SourceLimit, "allow">;
  readonly #listVersion: () => unknown;
  #builtFor: unknown = undefined;
  #builtAt = -Infinity;
  #plain: Uint8Array | null = null;
  #gzipped: Uint8Array | null = null;
  readonly #gather: (() => Promise<Uint8Array[]>) | null;
  #building: Promise<Uint8Array> | null = null;

  /**
   * `access` as the front ends take it (null: no list); `listVersion` changes whenever the access list does
   * (app.ts passes its version number). `gather` (--workers, the main thread): the other threads' packed
   * entries (their ownEntries).
   */
  constructor(
    store: Store,
    access: Access | null,
    limit: Pick<SourceLimit, "allow">,
    listVersion: () => unknown = () => null,
    gather: (() => Promise<Uint8Array[]>) | null = null,
  ) {
    this.#store = store;
    this.#access = access;
    this.#limit = limit;
    this.#listVersion = listVersion;
    this.#gather = gather;
  }

  /** Whether this address may have a full scrape now (it uses up the address's allowance). */
  allow(ip: Uint8Array, ipLen: 4 | 16, now: number): boolean {
    return this.#limit.allow(ip, ipLen, now);
  }

  /** The reply (with --workers, once the other threads' entries are in when it has to be built again). */
  reply(now: number, acceptsGzip: boolean): FullScrapeReply | Promise<FullScrapeReply> {
    const list = this.#listVersion();
    if (this.#plain === null || now - this.#builtAt >= FULL_SCRAPE_CACHE_S || list !== this.#builtFor) {
      if (this.#gather === null) this.#install(this.#build([]), now, list);
      else {
        // One build at a time, whoever asks meanwhile waits for it.
        this.#building ??= this.#gather()
          .then((others) => this.#build(others))
          .finally(() => {
            this.#building = null;
          });
        return this.#building.then((plain) => {
          if (plain !== this.#plain) this.#install(plain, now, list);
          return this.#encoded(acceptsGzip);
        });
      }
    }
    return this.#encoded(acceptsGzip);
  }

  /** This thread's torrents (the access list applied), packed for the main thread's build. */
  ownEntries(): Uint8Array {
    const entries = this.#own();
    const out = new Uint8Array(entries.length * ENTRY);
    const v = new DataView(out.buffer);
    entries.forEach((e, k) => {
      const at = k * ENTRY;
      for (let i = 0; i < 20; i++) out[at + i] = e.infoHash.charCodeAt(i);
      v.setUint32(at + 20, e.complete, true);
      v.setUint32(at + 24, e.downloaded, true);
      v.setUint32(at + 28, e.incomplete, true);
    });
    return out;
  }

  #install(plain: Uint8Array, now: number, list: unknown): void {
    this.#plain = plain;
    this.#gzipped = null;
    this.#builtAt = now;
    this.#builtFor = list;
  }

  #encoded(acceptsGzip: boolean): FullScrapeReply {
    const plain = this.#plain!;
    if (!acceptsGzip) return { body: plain, gzip: false };
    this.#gzipped ??= Bun.gzipSync(plain as Uint8Array<ArrayBuffer>); // a fresh buffer, never shared
    return { body: this.#gzipped, gzip: true };
  }

  #own(): ScrapeEntry[] {
    const entries: ScrapeEntry[] = [];
    const store = this.#store;
    const access = this.#access;
    // In cluster mode, the counts are cluster-wide (the torrents are those this instance holds).
    const c = store.cluster;
    for (let i = 0; i < store.shardCount; i++) {
      store.forEachTorrent(i, (id) => {
        const infoHash = store.infoHashOf(id);
        if (access !== null && !access.allows(infoHash)) return;
        entries.push({
          infoHash,
          complete: store.seedersOf(id) + (c === null ? 0 : c.seeders(id)),
          downloaded: store.downloadedOf(id) + (c === null ? 0 : c.downloaded(id)),
          incomplete: store.leechersOf(id) + (c === null ? 0 : c.leechers(id)),
        });
      });
    }
    return entries;
  }

  /** The reply from this thread's torrents and the other threads' packed entries. */
  #build(others: Uint8Array[]): Uint8Array {
    const entries = this.#own();
    for (const packed of others) {
      const v = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
      for (let at = 0; at + ENTRY <= packed.length; at += ENTRY) {
        entries.push({
          infoHash: String.fromCharCode(...packed.subarray(at, at + 20)),
          complete: v.getUint32(at + 20, true),
          downloaded: v.getUint32(at + 24, true),
          incomplete: v.getUint32(at + 28, true),
        });
      }
    }
    // Canonical bencode: hashes in byte order.
    entries.sort((a, b) => (a.infoHash < b.infoHash ? -1 : 1));
    return encodeScrape(new BencodeWriter(64 + entries.length * 80), entries);
  }
}
