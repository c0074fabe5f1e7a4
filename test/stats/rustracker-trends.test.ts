// Rustracker's trends.jsonl and top_clients.jsonl, as its code writes them (serde_json: keys in alphabetical
// order; client pairs [tag, count] in any order), read into our samples.
import { describe, expect, test } from "bun:test";
import { clientNameOfTag, parseRustrackerTrends } from "../../src/stats/rustracker-trends.ts";

const T = 1_715_800_000; // the example timestamp in Rustracker's README (bucket start 1715799600)

describe("parseRustrackerTrends", () => {
  test("joins each totals line with the client line of its 10-minute bucket, naming clients as we do", () => {
    const trends = [
      `{"leechers":40,"peers":120,"seeders":80,"timestamp":${T},"torrents":40}`,
      `{"leechers":1,"peers":3,"seeders":2,"timestamp":${T + 600},"torrents":2}`,
    ].join("\n");
    // The client line of the first bucket was written a few seconds later; the second bucket has none.
    const clients = `{"clients":[[1,300],[3,20],[2,120],[0,40],[11,5],[10,6]],"timestamp":${T + 3}}\n`;
    expect(parseRustrackerTrends(trends, clients)).toEqual({
      samples: [
        {
          t: T,
          torrents: 40,
          peers: 120,
          seeders: 80,
          leechers: 40,
          // qBittorrent, Transmission and Unknown keep their names; uTorrent is spelt µTorrent here, and its two
          // Xunlei tags are one client here.
          clients: { qBittorrent: 300, µTorrent: 20, Transmission: 120, Unknown: 40, Xunlei: 11 },
        },
        { t: T + 600, torrents: 2, peers: 3, seeders: 2, leechers: 1, clients: {} },
      ],
      badLines: 0,
    });
  });

  test("torn, corrupt and negative lines are counted and skipped; so are bad client pairs, not their line", () => {
    const trends = [
      `{"leechers":1,"peers":2,"seeders":1,"timestamp":${T},"torrents":1}`,
      "{not json",
      `{"leechers":-1,"peers":2,"seeders":1,"timestamp":${T + 600},"torrents":1}`,
      `{"peers":2,"seeders":1,"timestamp":${T + 1200},"torrents":1}`,
      "[1,2,3]",
      "",
      `{"leechers":1,"peers":2,"seeders":1,"timesta`, // torn by a crash
    ].join("\n");
    const clients = [
      `{"clients":[[1,2],"x",[2],[3,-1],[4,1.5],[1,3]],"timestamp":${T}}`,
      `{"clients":"none","timestamp":${T}}`,
      "{",
    ].join("\n");
    const r = parseRustrackerTrends(trends, clients);
    expect(r.samples).toEqual([{ t: T, torrents: 1, peers: 2, seeders: 1, leechers: 1, clients: { qBittorrent: 5 } }]);
    expect(r.badLines).toBe(5 + 2);
  });

  test("without top_clients.jsonl the totals come alone", () => {
    const r = parseRustrackerTrends(`{"leechers":0,"peers":0,"seeders":0,"timestamp":${T},"torrents":0}\n`, null);
    expect(r.samples).toEqual([{ t: T, torrents: 0, peers: 0, seeders: 0, leechers: 0, clients: {} }]);
  });

  test("client tags: its names, spelt ours where they differ; tags it never had are Unknown", () => {
    expect([0, 1, 2, 3, 8, 12, 14, 102, 103, 255].map(clientNameOfTag)).toEqual([
      "Unknown",
      "qBittorrent",
      "Transmission",
      "µTorrent",
      "Azureus/Vuze",
      "aria2",
      "BitTorrent",
      "Animeko",
      "Unknown",
      "Unknown",
    ]);
  });
});
