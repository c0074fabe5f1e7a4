// HTTP announce parameters, in-process: every malformed announce gets a bencoded failure reason, the text of
// the code that names the parameter, and registers nothing. (test/server/http.test.ts checks over sockets that such replies are
// HTTP 200 with only a `failure reason`.)

import { describe, expect, test } from "bun:test";
import { decodeBencode } from "../../src/codec/bencode-decode.ts";
import { FAILURE_TEXT, type FailureCode } from "../../src/core/failure.ts";
import { latin1, PEER_ID, pct, sha1 } from "../helpers/http-client.ts";
import { Tracker } from "./adapters.ts";

describe("malformed HTTP announces", () => {
  const t = new Tracker();
  const ip = Uint8Array.from([192, 0, 2, 1]);
  const hash = sha1("malformed");
  const h = pct(hash);
  const p19 = pct(new Uint8Array(19).fill(0xaa));
  const id = pct(PEER_ID);
  const cases: [string, string, FailureCode][] = [
    ["missing info_hash", `peer_id=${id}&port=6881`, "missing_info_hash"],
    ["empty info_hash", `info_hash=&peer_id=${id}&port=6881`, "invalid_info_hash"],
    ["19-byte info_hash", `info_hash=${p19}&peer_id=${id}&port=6881`, "invalid_info_hash"],
    ["21-byte info_hash", `info_hash=${p19}%01%02&peer_id=${id}&port=6881`, "invalid_info_hash"],
    ["%zz in info_hash", `info_hash=%zz${p19}&peer_id=${id}&port=6881`, "invalid_info_hash"],
    ["trailing % in info_hash", `info_hash=${p19}%&peer_id=${id}&port=6881`, "invalid_info_hash"],
    ["trailing %4 in info_hash", `info_hash=${p19}%4&peer_id=${id}&port=6881`, "invalid_info_hash"],
    ["missing peer_id", `info_hash=${h}&port=6881`, "missing_peer_id"],
    ["19-byte peer_id", `info_hash=${h}&peer_id=${p19}&port=6881`, "invalid_peer_id"],
    ["bad escape in peer_id", `info_hash=${h}&peer_id=${id.slice(0, -3)}%g1&port=6881`, "invalid_peer_id"],
    ["missing port", `info_hash=${h}&peer_id=${id}`, "missing_port"],
    ["port 0", `info_hash=${h}&peer_id=${id}&port=0`, "invalid_port"],
    ["port 70000", `info_hash=${h}&peer_id=${id}&port=70000`, "invalid_port"],
    ["port 65536", `info_hash=${h}&peer_id=${id}&port=65536`, "invalid_port"],
    ["port abc", `info_hash=${h}&peer_id=${id}&port=abc`, "invalid_port"],
    ["port -1", `info_hash=${h}&peer_id=${id}&port=-1`, "invalid_port"],
    ["empty port", `info_hash=${h}&peer_id=${id}&port=`, "invalid_port"],
    ["left -1", `info_hash=${h}&peer_id=${id}&port=6881&left=-1`, "invalid_left"],
    ["left abc", `info_hash=${h}&peer_id=${id}&port=6881&left=abc`, "invalid_left"],
    ["left 1.5", `info_hash=${h}&peer_id=${id}&port=6881&left=1.5`, "invalid_left"],
    ["uploaded x", `info_hash=${h}&peer_id=${id}&port=6881&uploaded=x`, "invalid_uploaded"],
    ["downloaded -5", `info_hash=${h}&peer_id=${id}&port=6881&downloaded=-5`, "invalid_downloaded"],
    ["event bogus", `info_hash=${h}&peer_id=${id}&port=6881&event=bogus`, "invalid_event"],
    ["event STARTED", `info_hash=${h}&peer_id=${id}&port=6881&event=STARTED`, "invalid_event"],
    ["numwant abc", `info_hash=${h}&peer_id=${id}&port=6881&numwant=abc`, "invalid_numwant"],
    ["numwant 1.5", `info_hash=${h}&peer_id=${id}&port=6881&numwant=1.5`, "invalid_numwant"],
    ["numwant -", `info_hash=${h}&peer_id=${id}&port=6881&numwant=-`, "invalid_numwant"],
    ["compact yes", `info_hash=${h}&peer_id=${id}&port=6881&compact=yes`, "invalid_compact"],
    ["no query at all", "", "missing_info_hash"],
  ];

  for (const [name, query, code] of cases) {
    test(`${name}: only a failure reason, ${code}`, () => {
      const body = decodeBencode(t.http.announce(`/announce?${query}`, ip, 4, t.now) as Uint8Array) as Record<
        string,
        unknown
      >;
      expect(Object.keys(body)).toEqual(["failure reason"]);
      expect(body["failure reason"]).toBe(FAILURE_TEXT[code]);
    });
  }

  test("none of them registered a peer", () => {
    expect(t.store.get(latin1(hash))).toBeUndefined();
    expect(t.store.peers).toBe(0);
  });

  test("the same announce, well formed, is answered and is the torrent's only peer", () => {
    const body = decodeBencode(
      t.http.announce(`/announce?info_hash=${h}&peer_id=${id}&port=6881`, ip, 4, t.now) as Uint8Array,
    ) as Record<string, unknown>;
    expect(body["failure reason"]).toBeUndefined();
    expect(body.incomplete).toBe(1);
  });
});
