// Full scrape (/scrape with no info_hash): every torrent's counts in one bencoded reply. Off unless
// --full-scrape on. Indexers want it; it is the most expensive thing a tracker can be asked, so the reply is
// built at most once per CACHE_S (and gzipped once, for clients that accept it), and each address may fetch
// it once per LIMIT_S (opentracker's "modest full scrapes" idea). A change of the access list rebuilds it at
// once, so a torrent just denied never lingers in the cached reply.

import { BencodeWriter } from "../codec/bencode.ts";
import { encodeScrape, type ScrapeEntry } from "../codec/http-response.ts";
import type { Access } from "../core/access.ts";
import type { Store } from "../core/store.ts";
import type { SourceLimit } from "./source-limit.ts";

export const FULL_SCRAPE_CACHE_S = 300;
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

  /**
   * `access` as the front ends take it (null: no list); `listVersion` changes whenever the access list does
   * (app.ts passes its version number).
   */
  constructor(
    store: Store,
    access: Access | null,
    limit: Pick<SourceLimit, "allow">,
    listVersion: () => unknown = () => null,
  ) {
    this.#store = store;
    this.#access = access;
    this.#limit = limit;
    this.#listVersion = listVersion;
  }

  /** Whether this address may have a full scrape now (it uses up the address's allowance). */
  allow(ip: Uint8Array, ipLen: 4 | 16, now: number): boolean {
    return this.#limit.allow(ip, ipLen, now);
  }

  reply(now: number, acceptsGzip: boolean): FullScrapeReply {
    let plain = this.#plain;
    const list = this.#listVersion();
    if (plain === null || now - this.#builtAt >= FULL_SCRAPE_CACHE_S || list !== this.#builtFor) {
      plain = this.#plain = this.#build();
      this.#gzipped = null;
      this.#builtAt = now;
      this.#builtFor = list;
    }
    if (!acceptsGzip) return { body: plain, gzip: false };
    this.#gzipped ??= Bun.gzipSync(plain as Uint8Array<ArrayBuffer>); // a fresh buffer, never shared
    return { body: this.#gzipped, gzip: true };
  }

  #build(): Uint8Array {
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
    // Canonical bencode: hashes in byte order.
    entries.sort((a, b) => (a.infoHash < b.infoHash ? -1 : 1));
    return encodeScrape(new BencodeWriter(64 + entries.length * 80), entries);
  }
}
