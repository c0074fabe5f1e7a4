// Defaults that depend on where the tracker runs. Pure: the platform, environment and build kind are passed in.
//
// A compiled Windows .exe is usually started by a double-click or a scheduled task, with no flags, so it keeps
// its trend history in the per-machine data folder (%ProgramData%\buntracker). Everywhere else, and when run
// from source, the default stays memory only: the Linux installer names the file itself.

import { win32 } from "node:path";

export interface PlatformDefaults {
  /** Used when neither --trends-file nor BUNTRACKER_TRENDS_FILE is given. */
  trendsFile: string | null;
}

export function platformDefaults(
  platform: string,
  env: Readonly<Record<string, string | undefined>>,
  isCompiled: boolean,
): PlatformDefaults {
  if (platform === "win32" && isCompiled) {
    const programData = env.ProgramData || env.ALLUSERSPROFILE || "C:\\ProgramData";
    return { trendsFile: win32.join(programData, "buntracker", "trends.jsonl") };
  }
  return { trendsFile: null };
}
