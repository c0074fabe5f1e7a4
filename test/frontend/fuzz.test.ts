// Garbage in, never an exception out: every input yields a protocol reply (or, for UDP, silence).
import { describe, expect, test } from "bun:test";
import { decodeBencode } from "../../src/codec/bencode-decode.ts";
import { ConnIdIssuer } from "../../src/core/conn-id.ts";
import { xoshiro128 } from "../../src/core/random.ts";
import { Store } from "../../src/core/store.ts";
import { Counters } from "../../src/frontend/counters.ts";
import { HttpTracker } from "../../src/frontend/http-tracker.ts";
import { FixedInterval } from "../../src/core/adaptive-interval.ts";
import { IntervalSource } from "../../src/frontend/settings.ts";
import { UDP_REPLY_BUDGET, UdpTracker } from "../../src/frontend/udp-tracker.ts";

const settings = {
  interval: new IntervalSource(new FixedInterval(1800), 900, 3000, Math.random),
  minIntervalS: 900,
  defaultNumWant: 50,
  maxNumWant: 200,
};
const random = xoshiro128(new Uint32Array([1, 2, 3, 4]));
const store = new Store({ peerTimeoutS: 3000, random });
const ip = new Uint8Array([198, 51, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

describe("UDP handler", () => {
  const connIds = new ConnIdIssuer(new Uint8Array(16).fill(9));
  const udp = new UdpTracker(store, connIds, settings, new Counters());
  const out = new Uint8Array(UDP_REPLY_BUDGET + 64);

  test("random datagrams of every length 0-300 and every action never throw and never amplify", () => {
    for (let len = 0; len <= 300; len++) {
      for (let k = 0; k < 20; k++) {
        const p = Uint8Array.from({ length: len }, () => Math.floor(random() * 256));
        if (len >= 12 && k < 4) p.set([0, 0, 0, k], 8); // each action, with a wrong connection id
        const n = udp.handle(p, ip, 4, 1000, out);
        // Without a valid connection id, only a connect (16 in, 16 out) may be answered.
        expect(n).toBeLessThanOrEqual(len);
      }
    }
  });

  test("mutated valid announces never throw and are answered within the byte budget", () => {
    const id = new Uint8Array(8);
    connIds.issue(ip, 4, 1000, id, 0);
    for (let i = 0; i < 3000; i++) {
      const len = 98 + Math.floor(random() * 60);
      const p = Uint8Array.from({ length: len }, () => Math.floor(random() * 256));
      p.set(id, 0);
      p.set([0, 0, 0, 1], 8);
      const n = udp.handle(p, ip, 4, 1000, out);
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(UDP_REPLY_BUDGET);
    }
  });
});

describe("HTTP handler", () => {
  const http = new HttpTracker(store, settings, new Counters());
  const pieces = [
    "info_hash=",
    "peer_id=",
    "port=",
    "left=",
    "event=",
    "numwant=",
    "compact=",
    "%",
    "%2",
    "%zz",
    "%ff",
    "&",
    "=",
    "+",
    "-1",
    "0",
    "99999999999999999999999",
    "stopped",
    "\u00ff",
    "\u0100",
    "#",
    "?",
  ];

  test("random query strings always get a decodable bencoded reply", () => {
    for (let i = 0; i < 5000; i++) {
      let q = "";
      const parts = Math.floor(random() * 12);
      for (let j = 0; j < parts; j++) {
        q +=
          random() < 0.7
            ? pieces[Math.floor(random() * pieces.length)]
            : String.fromCharCode(Math.floor(random() * 256));
      }
      for (const body of [http.announce(`/announce?${q}`, ip, 4, 1000), http.scrape(`/scrape?${q}`, ip, 4, 1000)]) {
        if (typeof body === "symbol") throw new Error("full scrape is off here, so it can never be asked for");
        expect(() => decodeBencode(body)).not.toThrow();
      }
    }
  });
});
