// The release notes (scripts/release-notes.sh, run by the release workflow) carry the version's section of
// CHANGELOG.md and nothing of other versions, and a version without a section stops the release with one line
// naming it. Run in a scratch git repository with its own changelog and a fake dist folder, as the workflow
// runs it in the checkout.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };

const ROOT = join(import.meta.dir, "..", "..");
const NOTES = join(ROOT, "scripts", "release-notes.sh");
const SECTION = join(ROOT, "scripts", "changelog-section.sh");

const CHANGELOG = `# Changelog

Intro text that belongs to no release.

## Unreleased

- Not released yet.

## [0.2.0] - 2026-12-12

### Changed

- The new thing.

### Upgrade notes

- State file: format version 2; 0.1.0 cannot read it.

## 0.1.0-rc1 - 2026-11-01

- A release candidate.

## 0.1.0 - 2026-11-21

- The first release.
`;

let dir: string;

function run(cmd: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync(cmd, { cwd: dir, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "buntracker-notes-"));
  await writeFile(join(dir, "CHANGELOG.md"), CHANGELOG);
  await mkdir(join(dir, "dist"));
  await writeFile(join(dir, "dist", "buntracker-linux-x64.tar.gz"), "pretend tarball\n");
  expect(run(["sh", "-c", "cd dist && sha256sum buntracker-linux-x64.tar.gz > SHA256SUMS"]).code).toBe(0);
  const git = (...args: string[]) =>
    expect(run(["git", "-c", "user.name=t", "-c", "user.email=t@t", ...args]).code).toBe(0);
  git("init", "-q");
  git("add", "CHANGELOG.md");
  git("commit", "-q", "-m", "first");
  git("tag", "v0.1.0");
  git("commit", "-q", "--allow-empty", "-m", "second");
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("release notes", () => {
  test("carry the version's CHANGELOG section, its upgrade notes, and no other version's", () => {
    const r = run(["bash", NOTES, "0.2.0", "dist", "CHANGELOG.md"], { GITHUB_REPOSITORY: "example/buntracker" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(
      "## buntracker 0.2.0\n\n### Changed\n\n- The new thing.\n\n### Upgrade notes\n\n- State file: format version 2; 0.1.0 cannot read it.\n\n",
    );
    for (const other of ["Not released yet", "release candidate", "The first release", "Intro text"])
      expect(r.stdout).not.toContain(other);
    expect(r.stdout).toContain(
      "[Every commit since v0.1.0](https://github.com/example/buntracker/compare/v0.1.0...v0.2.0)",
    );
    expect(r.stdout).toContain("gh attestation verify buntracker-linux-x64.tar.gz --repo example/buntracker");
    expect(r.stdout).toContain("| `buntracker-linux-x64.tar.gz` |");
  });

  test("a version matches its own heading only: 0.1.0 is not 0.1.0-rc1", () => {
    const r = run(["bash", SECTION, "0.1.0", "CHANGELOG.md"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("- The first release.\n");
  });

  test("a version without a section stops the release: exit 1, nothing on stdout, one line saying which", () => {
    for (const version of ["0.3.0", "0.2", "2.0"]) {
      const r = run(["bash", NOTES, version, "dist", "CHANGELOG.md"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `changelog: CHANGELOG.md has no section for ${version} (a heading "## ${version} - DATE" with the changes under it)\n`,
      );
    }
  });

  test("a heading with nothing under it counts as no section", async () => {
    await writeFile(join(dir, "EMPTY.md"), "# Changelog\n\n## 0.4.0 - 2027-01-01\n\n## 0.3.0 - 2026-12-30\n\n- x\n");
    expect(run(["bash", SECTION, "0.4.0", "EMPTY.md"]).code).toBe(1);
    expect(run(["bash", SECTION, "0.3.0", "EMPTY.md"]).stdout).toBe("- x\n");
  });

  test("the project's own CHANGELOG.md has a section for the version in package.json", async () => {
    const r = Bun.spawnSync(["bash", SECTION, pkg.version], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expect(await readFile(join(ROOT, "CHANGELOG.md"), "utf8")).toContain("## Unreleased\n");
  });

  test("shellcheck finds nothing in the release scripts", () => {
    if (Bun.which("shellcheck") === null) throw new Error("shellcheck is missing: apt-get install shellcheck");
    const p = Bun.spawnSync(["shellcheck", "--severity=style", NOTES, SECTION], { stdout: "pipe", stderr: "pipe" });
    expect(p.stdout.toString() + p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
  });
});
