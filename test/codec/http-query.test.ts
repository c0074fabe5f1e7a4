import { describe, expect, test } from "bun:test";
import {
  AnnounceQuery,
  parseAnnounceQuery,
  parseScrapeQuery,
  percentDecode,
  queryStart,
} from "../../src/codec/http-query.ts";
import type { FailureCode } from "../../src/core/failure.ts";
import { EVENT_COMPLETED, EVENT_NONE, EVENT_PAUSED, EVENT_STOPPED } from "../../src/core/announce.ts";

const HASH = "%12%34%56%78%9a%bc%de%f1%23%45%67%89%ab%cd%ef%12%34%56%78%9a";
const PEER = "-qB4650-abcdefghijkl";

function parse(query: string): { q: AnnounceQuery; err: FailureCode | null } {
  const q = new AnnounceQuery();
  const url = `http://t/announce?${query}`;
  return { q, err: parseAnnounceQuery(url, queryStart(url), q) };
}

describe("parseAnnounceQuery", () => {
  test("reads every field, keeping binary bytes exact", () => {
    const { q, err } = parse(
      `info_hash=${HASH}&peer_id=${PEER}&port=6881&uploaded=1&downloaded=2&left=3&event=completed&compact=0&no_peer_id=1&numwant=-1&key=abc&trackerid=x`,
    );
    expect(err).toBeNull();
    expect([...q.infoHash!].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")).toBe(
      "123456789abcdef123456789abcdef123456789a",
    );
    expect(q.peerId).toBe(PEER);
    expect([q.port, q.uploaded, q.downloaded, q.left, q.event, q.compact, q.noPeerId, q.numWant]).toEqual([
      6881,
      1,
      2,
      3,
      EVENT_COMPLETED,
      false,
      true,
      -1,
    ]);
  });
  test("defaults: compact on, no event, left unknown, numwant unset", () => {
    const { q, err } = parse(`info_hash=${HASH}&peer_id=${PEER}&port=1`);
    expect(err).toBeNull();
    expect([q.compact, q.event, q.left, q.numWant]).toEqual([true, EVENT_NONE, -1, null]);
  });
  test("events", () => {
    for (const [text, ev] of [
      ["stopped", EVENT_STOPPED],
      ["paused", EVENT_PAUSED],
      ["", EVENT_NONE],
      ["empty", EVENT_NONE],
    ] as const) {
      expect(parse(`info_hash=${HASH}&peer_id=${PEER}&port=1&event=${text}`).q.event).toBe(ev);
    }
  });
  test("bytes that URLSearchParams would turn into U+FFFD stay distinct", () => {
    const a = parse(`info_hash=${"%80".repeat(20)}&peer_id=${PEER}&port=1`).q.infoHash;
    const b = parse(`info_hash=${"%81".repeat(20)}&peer_id=${PEER}&port=1`).q.infoHash;
    expect(a).not.toBe(b);
    expect(a!.charCodeAt(0)).toBe(0x80);
  });
  test("'+' is a space, %2B a plus; unreserved characters pass through", () => {
    const { q } = parse(`info_hash=+%2Babcdefghijklmnopq.&peer_id=${PEER}&port=1`);
    expect(q.infoHash).toBe(" +abcdefghijklmnopq.");
  });
  test("names the bad or missing parameter by its failure code", () => {
    const base = `peer_id=${PEER}&port=1`;
    expect(parse(base).err).toBe("missing_info_hash");
    expect(parse(`info_hash=${HASH}&port=1`).err).toBe("missing_peer_id");
    expect(parse(`info_hash=${HASH}&peer_id=${PEER}`).err).toBe("missing_port");
    expect(parse(`info_hash=abc&${base}`).err).toBe("invalid_info_hash");
    expect(parse(`info_hash=${HASH}%00&${base}`).err).toBe("invalid_info_hash");
    expect(parse(`info_hash=${HASH.slice(0, -1)}z&${base}`).err).toBe("invalid_info_hash");
    expect(parse(`info_hash=${HASH.slice(0, -2)}&${base}`).err).toBe("invalid_info_hash");
    expect(parse(`info_hash=${HASH}&peer_id=short&port=1`).err).toBe("invalid_peer_id");
    for (const port of ["0", "65536", "abc", "", "-1"])
      expect(parse(`info_hash=${HASH}&peer_id=${PEER}&port=${port}`).err).toBe("invalid_port");
    expect(parse(`info_hash=${HASH}&${base}&left=x`).err).toBe("invalid_left");
    expect(parse(`info_hash=${HASH}&${base}&uploaded=-5`).err).toBe("invalid_uploaded");
    expect(parse(`info_hash=${HASH}&${base}&downloaded=1.5`).err).toBe("invalid_downloaded");
    expect(parse(`info_hash=${HASH}&${base}&event=finished`).err).toBe("invalid_event");
    expect(parse(`info_hash=${HASH}&${base}&numwant=lots`).err).toBe("invalid_numwant");
    expect(parse(`info_hash=${HASH}&${base}&compact=yes`).err).toBe("invalid_compact");
  });
  test("a huge numwant saturates instead of failing", () => {
    expect(parse(`info_hash=${HASH}&peer_id=${PEER}&port=1&numwant=99999999999`).q.numWant).toBe(0x7fffffff);
  });
});

describe("parseScrapeQuery", () => {
  test("collects every info_hash and enforces the cap", () => {
    const out: string[] = [];
    const url = `/scrape?info_hash=${HASH}&x=1&info_hash=${"%00".repeat(20)}`;
    expect(parseScrapeQuery(url, queryStart(url), 10, out)).toBeNull();
    expect(out.length).toBe(2);
    expect(parseScrapeQuery(`/scrape?info_hash=${HASH.slice(3)}`, 8, 10, out)).toBe("invalid_info_hash");
    expect(parseScrapeQuery(url, queryStart(url), 1, out)).toBe("too_many_info_hashes");
    expect(parseScrapeQuery("/scrape", -1, 10, out)).toBeNull();
    expect(out.length).toBe(0);
  });
});

describe("percentDecode", () => {
  test("rejects malformed escapes and characters above 0xFF", () => {
    const out = new Uint8Array(8);
    expect(percentDecode("%4", 0, 2, out)).toBe(-1);
    expect(percentDecode("%g0", 0, 3, out)).toBe(-1);
    expect(percentDecode("\u0100", 0, 1, out)).toBe(-1);
    expect(percentDecode("%41%42", 0, 6, out)).toBe(2);
  });
});
