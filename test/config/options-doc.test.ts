// docs/options.md is generated from the option table; this fails when the committed file is stale (fix: bun
// scripts/gen-options-doc.ts) and when the README stops pointing at it.
import { describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { optionsDoc } from "../../src/config/options-doc.ts";
import { OPTIONS } from "../../src/config/options.ts";
import { RULES } from "../../src/config/rules.ts";

const ROOT = join(import.meta.dir, "..", "..");

describe("docs/options.md", () => {
  test("is what scripts/gen-options-doc.ts writes from the table (run it after changing an option)", async () => {
    expect(await readFile(join(ROOT, "docs", "options.md"), "utf8")).toBe(optionsDoc());
  });

  test("has a row for every option and a line for every rule", () => {
    const doc = optionsDoc();
    for (const o of OPTIONS)
      expect(doc).toContain(`| \`${o.flag} ${o.value.replaceAll("|", "\\|")}\` | \`${o.env}\` |`);
    for (const r of RULES) expect(doc).toContain(`- ${r.doc}`);
  });

  test("the README links to it and keeps no table of its own", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("(docs/options.md)");
    expect(readme).not.toMatch(/^\| option \| environment \|/m);
  });
});
