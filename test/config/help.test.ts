// --help as a user reads it: every option under its group's heading, wrapped to the width, no flag running
// into its description, and the HTTP endpoints.
import { describe, expect, test } from "bun:test";
import { helpText, helpWidth, wrap } from "../../src/config/help.ts";
import { GROUPS, OPTIONS } from "../../src/config/options.ts";

describe("--help", () => {
  test("fits the width (80 when not a terminal, the terminal's otherwise)", () => {
    expect(helpWidth({ isTTY: false, columns: 200 })).toBe(80);
    expect(helpWidth({})).toBe(80);
    expect(helpWidth({ isTTY: true, columns: 132 })).toBe(132);
    for (const width of [60, 80, 132]) {
      // Only a word longer than the room for it (a long path) may stick out.
      const long = helpText("1.0.0", width)
        .split("\n")
        .filter((l) => l.length > width && l.trim().includes(" "));
      expect(long).toEqual([]);
    }
  });

  test("every option appears once, under its group's heading, with its environment variable", () => {
    const text = helpText("1.0.0");
    const lines = text.split("\n");
    for (const group of GROUPS) expect(lines).toContain(`${group}:`);
    for (const o of OPTIONS) {
      const at = lines.findIndex((l) => l.startsWith(`  ${o.flag} ${o.value}`));
      expect(at).toBeGreaterThan(0);
      const heading = lines.slice(0, at).findLast((l) => /^\S.*:$/.test(l));
      expect(heading).toBe(`${o.group}:`);
      expect(text).toContain(o.env);
    }
  });

  test("no flag runs into its description: two spaces or a line break between them", () => {
    const lines = helpText("1.0.0").split("\n");
    for (const o of OPTIONS) {
      const line = lines.find((l) => l.startsWith(`  ${o.flag} ${o.value}`))!;
      const rest = line.slice(`  ${o.flag} ${o.value}`.length);
      expect(rest === "" || rest.startsWith("  ")).toBe(true);
    }
    // The example, once printed as "CIDR[,CIDR...]sources never rate limited".
    const at = lines.findIndex((l) => l.startsWith("  --rate-limit-exempt"));
    expect(lines[at]).toBe("  --rate-limit-exempt CIDR[,CIDR...]");
    expect(lines[at + 1]).toMatch(/^ {8,}Sources never rate limited/);
    expect(lines.find((l) => l.startsWith("  --listen HOST:PORT"))).toMatch(/^ {2}--listen HOST:PORT {2,}HTTP address/);
  });

  test("lists the HTTP endpoints and --check-config", () => {
    const text = helpText("1.0.0");
    expect(text).toContain("HTTP endpoints");
    for (const path of ["/announce", "/scrape", "/healthz", "/metrics", "/api/stats", "/api/blacklist"])
      expect(text).toContain(path);
    expect(text).toMatch(/^ {2}\/ {2,}The dashboard/m);
    expect(text).toContain("--check-config");
  });

  test("wrap keeps words whole and a word longer than the width on its own line", () => {
    expect(wrap("aa bb cc dd", 5)).toEqual(["aa bb", "cc dd"]);
    expect(wrap("a verylongword b", 4)).toEqual(["a", "verylongword", "b"]);
  });
});
