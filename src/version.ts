// The version comes from package.json, bundled into the executable at build time. The commit is set by the
// release build (`--define BUILD_COMMIT='"abc1234"'`, see scripts/build.ts); run from a git checkout it is
// read from git, and otherwise it is "unknown".
import pkg from "../package.json" with { type: "json" };

/** Set by `bun build --define BUILD_COMMIT='"<hash>"'`; undefined otherwise. */
declare const BUILD_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

/** What `--version` prints: `buntracker 0.1.0 (abc1234)`. */
export function versionLine(): string {
  return `buntracker ${VERSION} (${buildCommit()})`;
}

let commit: string | undefined;

/** The commit this build came from; asked of git at most once per process (/metrics reads it at each scrape). */
export function buildCommit(): string {
  if (typeof BUILD_COMMIT === "string") return BUILD_COMMIT;
  if (Bun.isStandaloneExecutable) return "unknown";
  commit ??= gitCommit(import.meta.dir) ?? "unknown";
  return commit;
}

/**
 * The commit checked out at `dir`: git's short hash, with "-dirty" when tracked files have uncommitted changes.
 * Null when git or the repository is missing.
 */
export function gitCommit(dir: string): string | null {
  try {
    const head = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: dir, stdout: "pipe", stderr: "ignore" });
    const hash = head.stdout.toString().trim();
    if (head.exitCode !== 0 || !/^[0-9a-f]{4,40}$/.test(hash)) return null;
    const status = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], {
      cwd: dir,
      stdout: "pipe",
      stderr: "ignore",
    });
    return status.exitCode === 0 && status.stdout.toString().trim() !== "" ? `${hash}-dirty` : hash;
  } catch {
    return null; // no git on this machine
  }
}
