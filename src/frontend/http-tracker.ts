// HTTP announce and scrape handling: request URL text in, bencoded body out. No sockets: the server passes
// the URL, the client's canonical address and the time. Every outcome, including bad input, is a bencoded
// body; client mistakes get a `failure reason` (HTTP 200, because many clients ignore bodies of errors).

import type { Access } from "../core/access.ts";
import { AnnounceRequest, AnnounceResult, ScrapeCounts } from "../core/announce.ts";
import { FAILURE_TEXT, type FailureCode } from "../core/failure.ts";
import type { Store } from "../core/store.ts";
import { BencodeWriter } from "../codec/bencode.ts";
import { AnnounceQuery, parseAnnounceQuery, parseScrapeQuery, queryStart } from "../codec/http-query.ts";
import { encodeAnnounce, encodeFailure, encodeScrape, type ScrapeEntry } from "../codec/http-response.ts";
import { clientTagOfString } from "../core/clients.ts";
import { type Ownership, ownerOf, SOLE_OWNER } from "../core/owner.ts";
import type { Counters, FailureCounts } from "./counters.ts";
import type { FullScrape } from "./full-scrape.ts";
import { NO_LIMIT, type SourceLimit } from "./source-limit.ts";
import { type AnnounceSettings, resolveNumWant } from "./settings.ts";

export interface HttpTrackerOptions {
  /** The access list (see core/access.ts); null or absent: no list, every torrent is served. */
  access?: Access | null;
  /** Per-source request budget; requests over it get a short `failure reason`. */
  limit?: Pick<SourceLimit, "allow">;
  fullScrape?: FullScrape | null;
  /** This thread's place among the tracker's threads (--workers); absent: the only one. */
  owners?: Ownership;
}

/** What announce and scrape return for a request another thread owns: the server hands it to `forwardTo`. */
export const FORWARD_HTTP = Symbol("another thread's request");
/** `forwardTo` for a scrape whose hashes several threads own (see scrapePart). */
export const MANY_HTTP_OWNERS = -1;

/** What `scrape` returns when the server should send the full scrape. */
export const FULL_SCRAPE = Symbol("full scrape");

/** Info hashes one HTTP scrape may ask for (BEP 48 leaves it open; opentracker allows 64, aquatic 100). */
export const MAX_HTTP_SCRAPE_HASHES = 100;

const EMPTY = new Uint8Array(0);

export class HttpTracker {
  readonly #store: Store;
  readonly #settings: AnnounceSettings;
  readonly counters: Counters;
  readonly #query = new AnnounceQuery();
  readonly #req = new AnnounceRequest();
  readonly #res: AnnounceResult;
  readonly #writer = new BencodeWriter(64 * 1024);
  readonly #hashes: string[] = [];
  readonly #counts = new ScrapeCounts();

  readonly #access: Access | null;
  readonly #failures: FailureCounts;
  readonly #limit: Pick<SourceLimit, "allow">;
  readonly #owners: Ownership;
  /** After FORWARD_HTTP: the thread that owns the request, or MANY_HTTP_OWNERS. */
  forwardTo = 0;
  /** Null when full scrapes are off. */
  readonly fullScrape: FullScrape | null;

  constructor(store: Store, settings: AnnounceSettings, counters: Counters, o: HttpTrackerOptions = {}) {
    this.#access = o.access ?? null;
    this.#failures = counters.failures.http;
    this.#limit = o.limit ?? NO_LIMIT;
    this.fullScrape = o.fullScrape ?? null;
    this.#owners = o.owners ?? SOLE_OWNER;
    this.#store = store;
    this.#settings = settings;
    this.counters = counters;
    this.#res = new AnnounceResult(settings.maxNumWant);
  }

  /**
   * `ip` holds the client's address in its first `ipLen` bytes (IPv4 canonical: 4 bytes): the peer's address.
   * The `ip` parameter of BEP 3 is ignored, from anyone: a proxy forwards its client's query as it is, so
   * believing it would let any client hand out a victim's address as a peer.
   */
  announce(url: string, ip: Uint8Array, ipLen: 4 | 16, now: number): Uint8Array | typeof FORWARD_HTTP {
    // The rate limit first, as in every front end: before any parsing, so every request spends budget.
    if (!this.#limit.allow(ip, ipLen, now)) return this.failure("rate_limited");
    const q = this.#query;
    const err = parseAnnounceQuery(url, queryStart(url), q);
    if (err !== null) return this.failure(err);
    const { self, count } = this.#owners;
    if (count > 1) {
      const owner = ownerOf(q.infoHash!, count);
      if (owner !== self) {
        this.forwardTo = owner;
        return FORWARD_HTTP;
      }
    }
    return this.#announceParsed(ip, ipLen, now);
  }

  /** An announce another thread read (and checked against the sender's budget) for a hash this one owns. */
  announceForwarded(url: string, ip: Uint8Array, ipLen: 4 | 16, now: number): Uint8Array {
    const err = parseAnnounceQuery(url, queryStart(url), this.#query);
    return err !== null ? this.failure(err) : this.#announceParsed(ip, ipLen, now);
  }

  #announceParsed(ip: Uint8Array, ipLen: 4 | 16, now: number): Uint8Array {
    const q = this.#query;
    if (this.#access !== null && !this.#access.allows(q.infoHash!)) return this.failure("not_allowed");
    const req = this.#req;
    req.infoHash = q.infoHash!;
    req.clientTag = clientTagOfString(q.peerId!);
    for (let i = 0; i < ipLen; i++) req.ip[i] = ip[i];
    req.ipLen = ipLen;
    req.port = q.port;
    req.left = q.left < 0 ? 1 : q.left; // unknown "left": not a seeder
    req.event = q.event;
    req.want4 = true;
    req.want6 = true;
    req.numWant = resolveNumWant(q.numWant, q.event, this.#settings, this.#settings.maxNumWant);
    const res = this.#res;
    this.#store.announce(req, now, res);
    if (res.refused !== null) return this.failure(res.refused);
    this.counters.httpAnnounce++;
    const s = this.#settings;
    return encodeAnnounce(this.#writer, res, {
      interval: s.interval.next(),
      minInterval: s.minIntervalS,
      compact: q.compact,
      ip: req.ip,
      ipLen,
    });
  }

  /**
   * A scrape from ip[0..ipLen). Returns the body, or FULL_SCRAPE when the request has no info_hash and full
   * scrapes are on and allowed for this address: the server then sends `fullScrape.reply()` (on a thread
   * other than the main thread of --workers: passes the request to the main thread, which decides).
   */
  scrape(
    url: string,
    ip: Uint8Array,
    ipLen: 4 | 16,
    now: number,
  ): Uint8Array | typeof FULL_SCRAPE | typeof FORWARD_HTTP {
    // The rate limit first, as in every front end: before any parsing, so every request spends budget.
    if (!this.#limit.allow(ip, ipLen, now)) return this.failure("rate_limited", true);
    const hashes = this.#hashes;
    const err = parseScrapeQuery(url, queryStart(url), MAX_HTTP_SCRAPE_HASHES, hashes);
    if (err !== null) return this.failure(err, true);
    if (hashes.length === 0) {
      if (this.fullScrape === null) return this.failure("full_scrape_off", true);
      // --workers: the main thread answers full scrapes (every thread's torrents, one allowance per address).
      if (this.#owners.self !== 0) return FULL_SCRAPE;
      if (!this.fullScrape.allow(ip, ipLen, now)) return this.failure("full_scrape_too_often", true);
      this.counters.fullScrapes++;
      return FULL_SCRAPE;
    }
    const { self, count } = this.#owners;
    if (count > 1) {
      const first = ownerOf(hashes[0], count);
      let to = first;
      for (let i = 1; i < hashes.length && to === first; i++)
        if (ownerOf(hashes[i], count) !== first) to = MANY_HTTP_OWNERS;
      if (to !== self) {
        this.forwardTo = to;
        return FORWARD_HTTP;
      }
    }
    return this.#scrapeParsed(null);
  }

  /**
   * A scrape another thread read: `part` false, the whole of it (this thread owns every hash), as a body;
   * `part` true, the entries of the hashes this thread owns, for the reading thread to merge (encodeScrape).
   */
  scrapeForwarded(url: string, part: boolean): Uint8Array | ScrapeEntry[] {
    const err = parseScrapeQuery(url, queryStart(url), MAX_HTTP_SCRAPE_HASHES, this.#hashes);
    if (err !== null) return this.failure(err, true);
    if (!part) return this.#scrapeParsed(null);
    const entries: ScrapeEntry[] = [];
    this.#scrapeParsed(entries);
    return entries;
  }

  /** Merged parts of a scrape (see scrapeForwarded) as its body, counted once. */
  encodeScrape(entries: ScrapeEntry[]): Uint8Array {
    entries.sort((a, b) => (a.infoHash < b.infoHash ? -1 : 1));
    this.counters.httpScrape++;
    return encodeScrape(this.#writer, entries);
  }

  /** The scrape of the parsed hashes: its body; or with `part`, this thread's entries into it. */
  #scrapeParsed(part: ScrapeEntry[] | null): Uint8Array {
    const hashes = this.#hashes;
    // Canonical bencode: the files dictionary is sorted by raw hash bytes, each hash once.
    hashes.sort();
    const entries: ScrapeEntry[] = [];
    const c = this.#counts;
    for (let i = 0; i < hashes.length; i++) {
      // Each hash once; a torrent the access list refuses is left out, as if unknown to this tracker.
      if ((i > 0 && hashes[i] === hashes[i - 1]) || (this.#access !== null && !this.#access.allows(hashes[i])))
        continue;
      if (part !== null && ownerOf(hashes[i], this.#owners.count) !== this.#owners.self) continue;
      this.#store.scrape(hashes[i], c);
      entries.push({ infoHash: hashes[i], complete: c.complete, downloaded: c.downloaded, incomplete: c.incomplete });
    }
    if (part !== null) {
      part.push(...entries);
      return EMPTY;
    }
    this.counters.httpScrape++;
    return encodeScrape(this.#writer, entries);
  }

  /**
   * The one way a refusal becomes an HTTP reply: a bencoded `failure reason` with the code's text, counted by
   * code (and, but for the rate limit, as a failed announce or scrape).
   */
  failure(code: FailureCode, scrape = false): Uint8Array {
    this.#failures[code]++;
    if (code !== "rate_limited") {
      if (scrape) this.counters.httpScrapeFailure++;
      else this.counters.httpAnnounceFailure++;
    }
    return encodeFailure(this.#writer, FAILURE_TEXT[code]);
  }
}
