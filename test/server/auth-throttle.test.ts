// The admin API's log of failed token attempts under a flood: one line per source per period, then one summary
// line counting the rest (failures not logged one by one, requests refused with 429), and nothing once it stops.

import { expect, test } from "bun:test";
import { AUTH_FAILURES_PER_MINUTE, AuthThrottle } from "../../src/server/auth-throttle.ts";
import { Logger } from "../../src/server/logger.ts";

test("a flood from three sources logs three lines and one summary per period", async () => {
  const lines: Record<string, unknown>[] = [];
  let summarized: () => void = () => {};
  const summary = new Promise<void>((resolve) => (summarized = resolve));
  const log = new Logger("info", (line) => {
    lines.push(JSON.parse(line));
    if (line.includes("more authentication failures")) summarized();
  });
  const throttle = new AuthThrottle({ log, now: () => 1_700_000_000, seed: 1, periodMs: 50 });
  const sources = [1, 2, 3].map((n) => ({ ip: new Uint8Array([192, 0, 2, n]), len: 4 as const }));
  let failures = 0;
  let refused = 0;
  for (let i = 0; i < 30; i++) {
    const s = sources[i % 3];
    if (throttle.retryAfter(s) > 0) refused++;
    else {
      throttle.failed(s, "GET");
      failures++;
    }
  }
  expect([failures, refused]).toEqual([3 * AUTH_FAILURES_PER_MINUTE, 30 - 3 * AUTH_FAILURES_PER_MINUTE]);
  expect(lines.map((l) => l.source)).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
  await summary;
  expect(lines.length).toBe(4);
  expect(lines[3]).toMatchObject({
    level: "warn",
    sources_logged: 3,
    failures_not_logged: failures - 3,
    refused_429: refused,
  });
  throttle.flush(); // an empty period logs nothing
  expect(lines.length).toBe(4);
});
