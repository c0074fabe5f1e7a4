// What a tracker does, stated once and checked against every front end in-process (HTTP and UDP over IPv4
// and IPv6, WebSocket): announce counts, events and completions, numwant, peer lists, scrape, the store
// limits, the access list, the rate limit, and one store shared by all protocols. No sockets and a simulated
// clock (see adapters.ts); test/server/{http,udp,websocket}.test.ts keep what only real sockets show.

import { describe, expect, test } from "bun:test";
import { latin1, sha1 } from "../helpers/http-client.ts";
import {
  announced,
  type Counts,
  FRONT_ENDS,
  type FrontEnd,
  type FrontEndSpec,
  isRefused,
  scraped,
  Tracker,
  type TrackerOptions,
  type UdpAdapter,
} from "./adapters.ts";

const DEFAULT_NUMWANT = 3;
const MAX_NUMWANT = 5;
const ZERO: Counts = { complete: 0, incomplete: 0, downloaded: 0 };

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);
const without = (xs: number[], x: number) => xs.filter((y) => y !== x);

/**
 * Trackers that every front end shares, by purpose, each test on torrents of its own: building a store (and
 * its first 1 MiB peer chunk) is most of what an in-process test costs. One adapter per front end and
 * tracker, since a WebSocket peer id belongs to the connection that first used it.
 */
const sharedTrackers = new Map<string, { t: Tracker; adapters: Map<FrontEndSpec, FrontEnd> }>();

function sharedTracker(purpose: string, o: TrackerOptions, spec: FrontEndSpec): { t: Tracker; fe: FrontEnd } {
  let s = sharedTrackers.get(purpose);
  if (s === undefined) {
    s = { t: new Tracker({ defaultNumWant: DEFAULT_NUMWANT, maxNumWant: MAX_NUMWANT, ...o }), adapters: new Map() };
    sharedTrackers.set(purpose, s);
  }
  let fe = s.adapters.get(spec);
  if (fe === undefined) s.adapters.set(spec, (fe = spec.make(s.t)));
  return { t: s.t, fe };
}

for (const spec of FRONT_ENDS) {
  const { name, make, secondFamily } = spec;
  describe(name, () => {
    /** With options: a fresh tracker (its own store and clock) and this front end over it. Without: the shared one. */
    function setup(o?: TrackerOptions): { t: Tracker; fe: FrontEnd } {
      if (o === undefined) return sharedTracker("plain", {}, spec);
      const t = new Tracker({ defaultNumWant: DEFAULT_NUMWANT, maxNumWant: MAX_NUMWANT, ...o });
      return { t, fe: make(t) };
    }
    const hash = (label: string) => sha1(`${name} ${label}`);

    /** Announces peers (leechers unless left is 0) that ask for no peers back. */
    function fill(fe: FrontEnd, infoHash: Uint8Array, peers: number[], left = 100): void {
      for (const peer of peers) announced(fe.announce({ infoHash, peer, left, numwant: 0 }));
    }

    /** Scrape counts of one torrent. */
    const counts = (fe: FrontEnd, h: Uint8Array) => scraped(fe.scrape([h])).files[0];

    describe("announce", () => {
      test("counts the announcer, and carries the interval with its jitter", () => {
        const { fe } = setup();
        const h = hash("first");
        const first = announced(fe.announce({ infoHash: h, peer: 1, numwant: 10 }));
        expect(first).toMatchObject({ complete: 0, incomplete: 1, peers: [] });
        expect(first.interval).toBeWithin(Math.floor(fe.intervalS * 0.9), Math.ceil(fe.intervalS * 1.1) + 1);
        expect(announced(fe.announce({ infoHash: h, peer: 2, left: 0, numwant: 10 }))).toMatchObject({
          complete: 1,
          incomplete: 1,
          peers: [1],
        });
      });

      test("counts seeders and leechers apart, the announcer included", () => {
        const { fe } = setup();
        const h = hash("counts");
        fill(fe, h, [1, 2, 3]);
        fill(fe, h, [4, 5], 0);
        expect(announced(fe.announce({ infoHash: h, peer: 6, numwant: 0 }))).toMatchObject({
          complete: 2,
          incomplete: 4,
          peers: [],
        });
        expect(counts(fe, h)).toEqual({ complete: 2, incomplete: 4, downloaded: 0 });
      });

      test("a peer gets every other peer and never itself", () => {
        const { fe } = setup();
        const h = hash("not self");
        const peers = range(5);
        fill(fe, h, peers);
        for (const p of peers)
          expect(announced(fe.announce({ infoHash: h, peer: p, numwant: MAX_NUMWANT })).peers).toEqual(
            without(peers, p),
          );
      });

      test("seeders get only leechers; leechers get everyone", () => {
        const { fe } = setup();
        const h = hash("seeders");
        fill(fe, h, [1, 2]);
        fill(fe, h, [3, 4, 5], 0);
        expect(announced(fe.announce({ infoHash: h, peer: 3, left: 0, numwant: MAX_NUMWANT })).peers).toEqual([1, 2]);
        expect(announced(fe.announce({ infoHash: h, peer: 1, numwant: MAX_NUMWANT })).peers).toEqual([2, 3, 4, 5]);
      });

      test("a peer that changed between seeder and leecher is still never listed to itself", () => {
        const { fe } = setup();
        const h = hash("role change");
        fill(fe, h, [1, 2, 3]);
        fill(fe, h, [4, 5], 0);
        // A seeder starts leeching again; then a leecher becomes a seeder and gets the other leechers.
        expect(announced(fe.announce({ infoHash: h, peer: 4, left: 5, numwant: MAX_NUMWANT })).peers).toEqual([
          1, 2, 3, 5,
        ]);
        expect(announced(fe.announce({ infoHash: h, peer: 1, left: 0, numwant: MAX_NUMWANT })).peers).toEqual([
          2, 3, 4,
        ]);
      });
    });

    describe("events", () => {
      test("stopped removes the peer and gets no peers", () => {
        const { fe } = setup();
        const h = hash("stopped");
        fill(fe, h, [1, 2, 3]);
        expect(announced(fe.announce({ infoHash: h, peer: 2, event: "stopped", numwant: 5 }))).toMatchObject({
          complete: 0,
          incomplete: 2,
          peers: [],
        });
        expect(announced(fe.announce({ infoHash: h, peer: 9, numwant: 5 })).peers).toEqual([1, 3]);
        expect(counts(fe, h)).toEqual({ complete: 0, incomplete: 3, downloaded: 0 });
      });

      test("stopped for an unknown torrent creates nothing", () => {
        const { t, fe } = setup();
        const h = hash("stopped unknown");
        const torrents = t.store.torrents;
        expect(announced(fe.announce({ infoHash: h, peer: 1, event: "stopped" }))).toMatchObject({
          complete: 0,
          incomplete: 0,
          peers: [],
        });
        expect(t.store.get(latin1(h))).toBeUndefined();
        expect(t.store.torrents).toBe(torrents);
        expect(counts(fe, h)).toEqual(ZERO);
      });

      test("stopped from a peer the torrent does not know changes nothing", () => {
        const { fe } = setup();
        const h = hash("stopped stranger");
        fill(fe, h, [1, 2]);
        expect(announced(fe.announce({ infoHash: h, peer: 7, event: "stopped" }))).toMatchObject({
          incomplete: 2,
          peers: [],
        });
        expect(counts(fe, h)).toEqual({ complete: 0, incomplete: 2, downloaded: 0 });
      });

      test("completed counts a download once per peer, however often it is repeated", () => {
        const { fe } = setup();
        const h = hash("completed");
        announced(fe.announce({ infoHash: h, peer: 1, event: "started" }));
        for (let i = 0; i < 3; i++)
          expect(announced(fe.announce({ infoHash: h, peer: 1, left: 0, event: "completed" }))).toMatchObject({
            complete: 1,
            incomplete: 0,
          });
        announced(fe.announce({ infoHash: h, peer: 1, left: 0 })); // a later regular announce
        expect(counts(fe, h)).toEqual({ complete: 1, incomplete: 0, downloaded: 1 });
        announced(fe.announce({ infoHash: h, peer: 2, event: "started" }));
        const done = announced(fe.announce({ infoHash: h, peer: 2, left: 0, event: "completed" }));
        expect(counts(fe, h)).toEqual({ complete: 2, incomplete: 0, downloaded: 2 });
        // HTTP announce replies carry the count too.
        if (done.downloaded !== undefined) expect(done.downloaded).toBe(2);
      });

      test("a leecher that becomes a seeder without saying completed is a download; a seeder from the start is not", () => {
        const { fe } = setup();
        const h = hash("silent completion");
        fill(fe, h, [1]);
        fill(fe, h, [2], 0);
        expect(counts(fe, h)).toEqual({ complete: 1, incomplete: 1, downloaded: 0 });
        fill(fe, h, [1], 0);
        expect(counts(fe, h)).toEqual({ complete: 2, incomplete: 0, downloaded: 1 });
      });
    });

    describe("numwant", () => {
      /** One torrent with 10 leechers for these tests, which only read it; peer 20 asks. */
      function makeSwarm() {
        const s = setup();
        const h = hash("numwant");
        fill(s.fe, h, range(10));
        const ask = (numwant?: number) => announced(s.fe.announce({ infoHash: h, peer: 20, numwant }));
        return { ...s, ask };
      }
      let made: ReturnType<typeof makeSwarm> | null = null;
      const swarm = () => (made ??= makeSwarm());

      test("missing or negative gets the protocol's default (WebSocket: no offers, no peers)", () => {
        const { fe, ask } = swarm();
        expect(ask().peers).toHaveLength(fe.defaultPeers);
        expect(ask(-1).peers).toHaveLength(fe.defaultPeers);
        expect(ask(-50).peers).toHaveLength(fe.defaultPeers);
      });

      test("0 gets the counts and no peers", () => {
        expect(swarm().ask(0)).toMatchObject({ incomplete: 11, complete: 0, peers: [] });
      });

      test("a number within bounds is honoured, each peer once", () => {
        const { ask } = swarm();
        expect(ask(4).peers).toHaveLength(4);
        expect(new Set(ask(4).peers).size).toBe(4);
        expect(ask(1).peers).toHaveLength(1);
      });

      test("is capped by the configured maximum, up to the largest the protocol carries", () => {
        const { fe, ask } = swarm();
        for (const n of [MAX_NUMWANT + 1, 200, fe.hugeNumwant]) expect(ask(n).peers).toHaveLength(MAX_NUMWANT);
      });
    });

    describe("scrape", () => {
      /** 2 seeders, 1 download, 3 leechers: every count differs, so a swapped field shows. */
      function seedTorrent(fe: FrontEnd, h: Uint8Array, base: number): void {
        fill(fe, h, [base, base + 1, base + 2]);
        announced(fe.announce({ infoHash: h, peer: base + 10, left: 0, event: "started", numwant: 0 })); // seeder from the start
        announced(fe.announce({ infoHash: h, peer: base + 11, event: "started", numwant: 0 }));
        announced(fe.announce({ infoHash: h, peer: base + 11, left: 0, event: "completed", numwant: 0 })); // finished here
      }

      test("one hash: seeders, downloads and leechers", () => {
        const { fe } = setup();
        const h = hash("scrape one");
        seedTorrent(fe, h, 100);
        expect(counts(fe, h)).toEqual({ complete: 2, downloaded: 1, incomplete: 3 });
      });

      test("many hashes, repeats included: each answered, an unknown one as zeros", () => {
        const { fe } = setup();
        const [a, b, unknown] = [hash("scrape a"), hash("scrape b"), hash("scrape unknown")];
        seedTorrent(fe, a, 100);
        fill(fe, b, [200], 0);
        const { files } = scraped(fe.scrape([a, unknown, b, a]));
        const A = { complete: 2, downloaded: 1, incomplete: 3 };
        expect(files).toEqual([A, ZERO, { complete: 1, downloaded: 0, incomplete: 0 }, A]);
      });

      test("a scrape without any info hash is refused (no full scrape)", () => {
        const { fe } = setup();
        fe.expectRefused(fe.scrape([]), fe.emptyScrape);
      });
    });

    // Per torrent, whatever the family: once per protocol. (The rate limit is per address or IPv6 /64, so it
    // runs for both families.)
    const familyBlind = secondFamily ? () => {} : describe;

    familyBlind("limits", () => {
      test("max peers per torrent: a newcomer takes the place of the longest-silent peer", () => {
        const { t, fe } = sharedTracker("max peers per torrent", { maxPeersPerTorrent: 3 }, spec);
        const evicted = t.store.evictedPeers;
        const h = hash("per torrent");
        for (const p of [1, 2, 3]) {
          fill(fe, h, [p]);
          t.advance(100); // peer times are kept in ticks of 36 s (a hundredth of the peer timeout)
        }
        expect(announced(fe.announce({ infoHash: h, peer: 4, numwant: MAX_NUMWANT }))).toMatchObject({
          incomplete: 3,
          peers: [2, 3],
        });
        expect(announced(fe.announce({ infoHash: h, peer: 2, numwant: MAX_NUMWANT })).peers).toEqual([3, 4]);
        expect(t.store.evictedPeers).toBe(evicted + 1);
      });

      test("max torrents: a new torrent is refused once the table is full; known torrents still work", () => {
        const { t, fe } = setup({ maxTorrents: 2 });
        const [a, b, c] = [hash("torrent a"), hash("torrent b"), hash("torrent c")];
        fill(fe, a, [1]);
        fill(fe, b, [2]);
        fe.expectRefused(fe.announce({ infoHash: c, peer: 3 }), "torrent_limit");
        expect(t.store.torrents).toBe(2);
        expect(announced(fe.announce({ infoHash: a, peer: 3, numwant: 5 })).peers).toEqual([1]);
        expect(counts(fe, c)).toEqual(ZERO);
      });

      test("max peers: a new peer is refused once the tracker holds the most; known peers still work", () => {
        const { fe } = setup({ maxPeers: 3 });
        const [a, b] = [hash("peers a"), hash("peers b")];
        fill(fe, a, [1, 2]);
        fill(fe, b, [3]);
        fe.expectRefused(fe.announce({ infoHash: a, peer: 4 }), "peer_limit");
        expect(announced(fe.announce({ infoHash: a, peer: 1, numwant: 5 })).peers).toEqual([2]);
        // A peer that leaves makes room.
        announced(fe.announce({ infoHash: b, peer: 3, event: "stopped" }));
        expect(announced(fe.announce({ infoHash: a, peer: 4, numwant: 5 })).peers).toEqual([1, 2]);
      });
    });

    familyBlind("access list", () => {
      const denied = hash("denied");
      /** The shared tracker with a deny list, `denied` on it. */
      function denyList() {
        const s = sharedTracker("deny list", { access: { mode: "deny", hashes: [] } }, spec);
        s.t.list(denied);
        return s;
      }

      test("deny list: a listed torrent is refused (and counted by code) and not stored; others are served", () => {
        const { t, fe } = denyList();
        const before = t.counters.failures[fe.protocol].not_allowed;
        fe.expectRefused(fe.announce({ infoHash: denied, peer: 1 }), "not_allowed");
        expect(t.counters.failures[fe.protocol].not_allowed).toBe(before + 1);
        expect(t.store.get(latin1(denied))).toBeUndefined();
        expect(announced(fe.announce({ infoHash: hash("fine"), peer: 1 })).incomplete).toBe(1);
      });

      test("allow list: only listed torrents are served", () => {
        const allowed = hash("allowed");
        const { t, fe } = sharedTracker("allow list", { access: { mode: "allow", hashes: [] } }, spec);
        t.list(allowed);
        expect(announced(fe.announce({ infoHash: allowed, peer: 1 })).incomplete).toBe(1);
        fe.expectRefused(fe.announce({ infoHash: hash("unlisted"), peer: 1 }), "not_allowed");
      });

      test("a torrent denied after peers joined: announces are refused and a scrape reads it as unknown", () => {
        const h = hash("denied later");
        const { t, fe } = denyList();
        fill(fe, h, [1, 2]);
        t.list(h);
        fe.expectRefused(fe.announce({ infoHash: h, peer: 1 }), "not_allowed");
        // HTTP and WebSocket leave it out of the reply; UDP entries are positional, so zeros.
        expect(counts(fe, h) ?? ZERO).toEqual(ZERO);
      });
    });

    describe("rate limit", () => {
      test("a source over its budget is refused until its bucket refills; other sources are served", () => {
        // One rate-limited tracker for every front end, each with sources of its own.
        const { t, fe } = sharedTracker("rate limit", { rateLimit: { perSecond: 1, burst: 3 } }, spec);
        const [p1, p2] = [1, 2].map((n) => 10 * FRONT_ENDS.indexOf(spec) + n);
        const h = hash("rate");
        const limited = fe.rateLimited();
        const outcomes = range(6).map(() => fe.announce({ infoHash: h, peer: p1, numwant: 0 }));
        expect(isRefused(outcomes[0])).toBe(false);
        // At most the burst gets through (a UDP connect spends a request too), then every request is refused.
        const served = outcomes.findIndex(isRefused);
        expect(served).toBeWithin(2, 4);
        for (const o of outcomes.slice(served)) fe.expectRefused(o, "rate_limited");
        fe.expectRefused(fe.scrape([h], p1), "rate_limited");
        expect(fe.rateLimited() - limited).toBe(outcomes.length - served + 1);
        expect(announced(fe.announce({ infoHash: h, peer: p2, numwant: 5 })).peers).toEqual([p1]);
        t.advance(2);
        expect(announced(fe.announce({ infoHash: h, peer: p1, numwant: 5 })).peers).toEqual([p2]);
      });

      test("the limit comes before a request is read: malformed requests spend the budget too", () => {
        const { t, fe } = sharedTracker("rate limit", { rateLimit: { perSecond: 1, burst: 3 } }, spec);
        const p = 10 * FRONT_ENDS.indexOf(spec) + 3;
        const limited = t.counters.failures[fe.protocol].rate_limited;
        const outcomes = range(6).map(() => fe.malformed(p));
        expect(outcomes[0]).toEqual({ refused: fe.malformedCode });
        const served = outcomes.findIndex((o) => o.refused !== fe.malformedCode);
        expect(served).toBeWithin(2, 4);
        for (const o of outcomes.slice(served)) fe.expectRefused(o, "rate_limited");
        expect(t.counters.failures[fe.protocol].rate_limited - limited).toBe(outcomes.length - served);
        expect(t.counters.failures[fe.protocol][fe.malformedCode]).toBeGreaterThanOrEqual(served);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// UDP only: a reply is one datagram that no path fragments

describe("UDP replies fit in 1232 bytes (the IPv6 minimum MTU less headers)", () => {
  const BUDGET = 1232;
  for (const family of [4, 6] as const) {
    test(`IPv${family}: a huge num_want is capped by the byte budget, and the budget is used`, () => {
      // maxNumWant 1000: the byte budget, not the configured maximum, caps these replies.
      const { t, fe } = sharedTracker(
        "udp budget",
        { maxNumWant: 1000 },
        FRONT_ENDS.find((f) => f.name === `UDP/IPv${family}`)!,
      );
      const udp = fe as UdpAdapter;
      const h = sha1(`udp budget ${family}`);
      t.seed(h, range(260), family);
      const stride = family === 4 ? 6 : 18;
      for (const numwant of [0x7fffffff, 1000, 300]) {
        const r = announced(udp.announce({ infoHash: h, peer: 300, numwant }));
        expect(udp.lastReply!.length).toBeLessThanOrEqual(BUDGET);
        expect(udp.lastReply!.length).toBeGreaterThan(BUDGET - stride);
        expect(new Set(r.peers).size).toBe(r.peers.length);
        expect(r.peers).not.toContain(300);
        expect(r.incomplete).toBe(261);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// One store behind every protocol

describe("one store shared by every front end", () => {
  for (const from of FRONT_ENDS) {
    for (const to of FRONT_ENDS) {
      if (from === to) continue;
      test(`a peer announced over ${from.name} is counted over ${to.name}, and listed when ${to.name} can reach it`, () => {
        const [a, b] = [sharedTracker("plain", {}, from).fe, sharedTracker("plain", {}, to).fe];
        const h = sha1(`shared ${from.name} ${to.name}`);
        announced(a.announce({ infoHash: h, peer: 1, event: "started", numwant: 0 }));
        announced(a.announce({ infoHash: h, peer: 1, left: 0, event: "completed", numwant: 0 }));
        const reply = announced(b.announce({ infoHash: h, peer: 2, numwant: 5 }));
        expect(reply).toMatchObject({ complete: 1, incomplete: 1 });
        // HTTP lists both address families, UDP its own, WebSocket only WebRTC peers (reached through it).
        expect(reply.peers).toEqual(b.receives.includes(a.peerKind) ? [1] : []);
        expect(scraped(b.scrape([h])).files).toEqual([{ complete: 1, incomplete: 1, downloaded: 1 }]);
        expect(scraped(a.scrape([h])).files).toEqual([{ complete: 1, incomplete: 1, downloaded: 1 }]);
      });
    }
  }
});
