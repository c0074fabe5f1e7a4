// Links between the operator docs (docs/*.md, README.md, CHANGELOG.md) point at files that exist and at
// headings those files have, so moving a doc or renaming a section cannot leave a dead link behind.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const FILES = [
  join(ROOT, "README.md"),
  join(ROOT, "CHANGELOG.md"),
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(ROOT, "docs", f)),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])));
}

test("every relative link and anchor in the operator docs resolves", () => {
  const dead: string[] = [];
  for (const file of FILES) {
    const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split("#") as [string, string | undefined];
      const resolved = path === "" ? file : join(dirname(file), path);
      const where = `${relative(ROOT, file)}: (${target})`;
      if (!existsSync(resolved)) dead.push(`${where}: no such file`);
      else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(resolved).has(anchor))
        dead.push(`${where}: no heading #${anchor}`);
    }
  }
  expect(dead).toEqual([]);
});
