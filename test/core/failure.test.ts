// The failure vocabulary: every code has one text, and a text names one code (tests and clients read the
// code back from the text), in the ASCII a BEP 15 error packet can carry.

import { expect, test } from "bun:test";
import { FAILURE_CODES, FAILURE_TEXT } from "../../src/core/failure.ts";

test("every code is snake_case and has a text of its own", () => {
  expect(FAILURE_CODES.length).toBeGreaterThan(0);
  for (const code of FAILURE_CODES) {
    expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
    expect(FAILURE_TEXT[code].length).toBeGreaterThan(0);
  }
  expect(new Set(FAILURE_CODES.map((c) => FAILURE_TEXT[c])).size).toBe(FAILURE_CODES.length);
});

test("every text is printable ASCII (a UDP error packet sends 7-bit bytes)", () => {
  for (const code of FAILURE_CODES) expect(FAILURE_TEXT[code]).toMatch(/^[\x20-\x7e]+$/);
});

test("the statistics docs list every code (operators alert on them)", async () => {
  const readme = await Bun.file(new URL("../../docs/statistics.md", import.meta.url)).text();
  const section = readme.slice(readme.indexOf("Failure codes:"));
  for (const code of FAILURE_CODES) expect(section).toContain(`\`${code}\``);
});
